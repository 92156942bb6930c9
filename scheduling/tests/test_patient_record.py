"""The console's patient record (scheduling/record.py) through the Django test client: one timeline gathered from
every app through the kernel's registry, search as you type by name prefix or phone, consents recorded through
`patient_consent_record`, the PII audit row, masking and no write actions for viewers, another clinic's patient
never found."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services as campaign_services
from clinics.models import AuditEvent, Membership
from clinics.tests.factories import ClinicFactory, MembershipFactory, sign_in_verified
from notes.tests.factories import NoteFactory, NoteSectionFactory
from scheduling import services
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory
from telephony.tests.factories import CallFactory, MessageFactory

pytestmark = pytest.mark.django_db

PHONE = "+351912345678"


def _member(client, clinic, role):
    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=role).user)


@pytest.fixture
def maria(clinic):
    """Maria with one of each kind of event, a day apart, and another clinic's look-alike with the same phone."""
    now = timezone.now()
    patient = PatientFactory(clinic=clinic, name="Maria Antunes", phone=PHONE, email="maria@example.test")
    service = ServiceFactory(clinic=clinic, name="Consulta geral")
    appointment = AppointmentFactory(professional=ProfessionalFactory(clinic=clinic, name="Dra. Ana Sousa"),
                                     service=service, patient=patient, starts_at=now - dt.timedelta(days=6),
                                     notes="Alergia à penicilina")
    CallFactory(clinic=clinic, phone_number=PHONE, summary="Pediu para remarcar", created_at=now - dt.timedelta(days=5))
    MessageFactory(clinic=clinic, to_phone=PHONE, body="Lembrete: consulta amanhã",
                   created_at=now - dt.timedelta(days=4))
    note = NoteFactory(clinic=clinic, patient=patient, created_at=now - dt.timedelta(days=3))
    NoteSectionFactory(note=note, title="Anamnese")
    link, _message = campaign_services.triage_link_send(clinic=clinic, appointment=appointment)
    campaign_services.triage_submit(link=link, submitted={"reason": "Dor lombar", "allergies": "yes"},
                                    now=now - dt.timedelta(days=2))
    _message.created_at = now - dt.timedelta(days=2, hours=1)  # the link's SMS, sent before the answers came
    _message.save(update_fields=["created_at"])
    services.patient_consent_record(patient=patient, kind="marketing", granted=True)

    other = ClinicFactory()
    stranger = PatientFactory(clinic=other, name="Maria Antunes Alheia", phone=PHONE)
    CallFactory(clinic=other, phone_number=PHONE, summary="Chamada de outra clínica")
    MessageFactory(clinic=other, to_phone=PHONE, body="Mensagem de outra clínica")
    NoteFactory(clinic=other, patient=stranger)
    return patient


def test_the_record_shows_one_timeline_from_every_app_newest_first_and_is_audited(
        client, clinic, maria, django_assert_max_num_queries):
    _member(client, clinic, Membership.Role.EDITOR)
    # Sign-in 4, the patient 1, the audit row 1, then per provider: appointments 1, consents 1, calls 1,
    # messages 1, notes 2 (with their sections), triage 1, feedback 1; never one per event.
    with django_assert_max_num_queries(15):
        response = client.get(reverse("scheduling:patient_record", args=[maria.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    kinds = [chunk.split('"')[0] for chunk in html.split('data-kind="')[1:]]
    assert kinds == ["consent", "triage", "message", "note", "message", "call", "appointment"]
    for text in ("Alergia à penicilina", "Pediu para remarcar", "Lembrete: consulta amanhã", "Anamnese",
                 "Dor lombar", "Consent given: Marketing messages", "maria@example.test", PHONE):
        assert text in html
    assert "outra clínica" not in html and "Alheia" not in html
    assert AuditEvent.objects.filter(clinic=clinic, action="patient.read", object_id=maria.hash,
                                     extra__masked=False).count() == 1
    assert reverse("scheduling:patient_consent", args=[maria.pk]) in html
    assert f"{reverse('scheduling:appointment_new')}?patient={maria.pk}" in html
    # Export and erasure are the admins'.
    assert reverse("campaigns:patient_erase", args=[maria.hash]) not in html


def test_an_admin_gets_export_and_erasure_behind_confirmations(client, clinic, maria):
    _member(client, clinic, Membership.Role.ADMIN)
    html = client.get(reverse("scheduling:patient_record", args=[maria.pk])).content.decode()
    assert reverse("campaigns:patient_export", args=[maria.hash]) in html
    assert 'name="confirm"' in html and reverse("campaigns:patient_erase", args=[maria.hash]) in html


def test_a_viewer_sees_masked_values_no_details_and_no_actions(client, clinic, maria):
    _member(client, clinic, Membership.Role.VIEWER)
    html = client.get(reverse("scheduling:patient_record", args=[maria.pk])).content.decode()
    assert "Maria Antunes" not in html and "M. A." in html
    for text in ("912345678", "maria@example.test", "Alergia", "Pediu para remarcar", "Lembrete", "Dor lombar",
                 "Anamnese"):
        assert text not in html
    assert 'data-kind="triage"' in html  # the event is there, its content is not
    assert reverse("scheduling:patient_consent", args=[maria.pk]) not in html
    assert AuditEvent.objects.filter(action="patient.read", object_id=maria.hash, extra__masked=True).exists()
    response = client.post(reverse("scheduling:patient_consent", args=[maria.pk]), {"kind": "sms", "granted": "0"})
    assert response.status_code == 403
    maria.refresh_from_db()
    assert "sms" not in maria.consents


def test_recording_a_consent_updates_the_patient_and_adds_to_the_timeline(client, clinic, maria):
    _member(client, clinic, Membership.Role.EDITOR)
    response = client.post(reverse("scheduling:patient_consent", args=[maria.pk]), {"kind": "sms", "granted": "0"},
                           follow=True)
    maria.refresh_from_db()
    assert maria.consents == {"marketing": True, "sms": False}
    assert "Consent withdrawn: SMS reminders" in response.content.decode()
    assert AuditEvent.objects.filter(action="patient.consent", object_id=str(maria.pk)).count() == 2


@pytest.mark.parametrize("data", [{"kind": "sms"}, {"kind": "tattoo", "granted": "1"}, {"granted": "yes"}])
def test_a_consent_without_a_known_kind_or_answer_is_a_400_and_changes_nothing(client, clinic, maria, data):
    _member(client, clinic, Membership.Role.EDITOR)
    assert client.post(reverse("scheduling:patient_consent", args=[maria.pk]), data).status_code == 400
    maria.refresh_from_db()
    assert maria.consents == {"marketing": True}


def test_another_clinics_patient_is_404_to_read_and_to_consent(client, maria):
    _member(client, ClinicFactory(), Membership.Role.ADMIN)
    assert client.get(reverse("scheduling:patient_record", args=[maria.pk])).status_code == 404
    response = client.post(reverse("scheduling:patient_consent", args=[maria.pk]), {"kind": "sms", "granted": "1"})
    assert response.status_code == 404
    maria.refresh_from_db()
    assert maria.consents == {"marketing": True}
    assert not AuditEvent.objects.filter(action="patient.read", object_id=maria.hash).exists()


def test_search_as_you_type_finds_by_name_prefix_or_phone_within_the_clinic_and_is_audited(client, clinic, maria):
    PatientFactory(clinic=clinic, name="Rui Costa", phone="+351913000111")
    _member(client, clinic, Membership.Role.EDITOR)
    url = reverse("scheduling:patient_search")
    by_prefix = client.get(url, {"q": "Mar Ant"}).json()["patients"]
    assert [row["name"] for row in by_prefix] == ["Maria Antunes"]
    assert by_prefix[0]["url"] == reverse("scheduling:patient_record", args=[maria.pk])
    assert [row["name"] for row in client.get(url, {"q": "912 345 678"}).json()["patients"]] == ["Maria Antunes"]
    assert client.get(url, {"q": "M"}).json() == {"patients": []}
    assert client.get(url, {"q": "x" * 5000}).json() == {"patients": []}
    assert AuditEvent.objects.filter(action="patient.list", extra__hashes=[maria.hash]).count() == 2
    page = client.get(reverse("scheduling:patient_index"), {"q": "rui"}).content.decode()
    assert "Rui Costa" in page and "Maria Antunes" not in page


def test_a_viewer_searching_gets_masked_rows(client, clinic, maria):
    _member(client, clinic, Membership.Role.VIEWER)
    rows = client.get(reverse("scheduling:patient_search"), {"q": "maria"}).json()["patients"]
    assert rows == [{"id": str(maria.pk), "url": reverse("scheduling:patient_record", args=[maria.pk]),
                     "name": "M. A.", "phone": rows[0]["phone"]}]
    assert "912345678" not in rows[0]["phone"]


def test_book_from_the_record_opens_the_form_for_that_patient(client, clinic, maria):
    _member(client, clinic, Membership.Role.EDITOR)
    html = client.get(reverse("scheduling:appointment_new"), {"patient": str(maria.pk)}).content.decode()
    assert f'value="{maria.pk}"' in html and PHONE in html
    other = PatientFactory(clinic=ClinicFactory(), name="Pessoa Alheia")
    html = client.get(reverse("scheduling:appointment_new"), {"patient": str(other.pk)}).content.decode()
    assert f'value="{other.pk}"' not in html and "Pessoa Alheia" not in html
