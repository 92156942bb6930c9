"""Console pages of engagement through the Django test client: patients, RGPD buttons, tasks, triage editor."""
import json

import pytest
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from campaigns import services
from campaigns.models import Task, TriageQuestionnaire
from campaigns.tests.factories import AppointmentFactory, EngagementPatientFactory, EngagementServiceFactory
from clinics.models import AuditEvent, Membership
from clinics.tests.factories import MembershipFactory
from scheduling.models import Patient

pytestmark = [pytest.mark.django_db]


def signed_in(client, membership):
    client.force_login(membership.user)
    if membership.role == Membership.Role.ADMIN:
        device = TOTPDevice.objects.create(user=membership.user, name="phone", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def admin(client, clinic):
    return signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN))


@pytest.fixture
def viewer(client, clinic):
    return signed_in(client, MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER))


@pytest.fixture
def maria(clinic):
    return EngagementPatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912345678")


def test_patient_search_finds_by_name_words_and_is_audited(admin, maria, clinic):
    EngagementPatientFactory(clinic=clinic, name="Rui Costa")
    html = admin.post(reverse("campaigns:patients"), {"q": "maria silva"}).content.decode()
    assert "Maria da Silva" in html and "Rui Costa" not in html
    assert AuditEvent.objects.get(action="patient.list").extra["hashes"] == [maria.hash]


def test_viewer_sees_masked_patients(viewer, maria):
    html = viewer.get(reverse("campaigns:patients")).content.decode()
    assert "M. S." in html and "Maria da Silva" not in html and "912345678" not in html


def test_patient_page_shows_triage_answers_and_feedback(admin, clinic, maria):
    appointment = AppointmentFactory(clinic=clinic, patient=maria)
    link, _message = services.triage_link_send(clinic=appointment.clinic, appointment=appointment)
    services.triage_submit(link=link, submitted={"reason": "Dor lombar", "allergies": "yes"})

    response = admin.get(reverse("campaigns:patient", args=[maria.hash]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Dor lombar" in html and "What is the reason for your appointment?" in html
    assert "triagem" in html  # the SMS in the messages section
    assert AuditEvent.objects.filter(action="patient.read", object_id=maria.hash).exists()


def test_patient_of_another_clinic_is_404(admin, other_clinic):
    foreign = EngagementPatientFactory(clinic=other_clinic)
    assert admin.get(reverse("campaigns:patient", args=[foreign.hash])).status_code == 404


def test_admin_downloads_the_export(admin, maria):
    response = admin.get(reverse("campaigns:patient_export", args=[maria.hash]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["patient"]["name"] == "Maria da Silva"
    assert AuditEvent.objects.filter(action="patient.exported", object_id=maria.hash).exists()


def test_viewer_can_neither_export_nor_erase(viewer, maria):
    assert viewer.get(reverse("campaigns:patient_export", args=[maria.hash])).status_code == 403
    assert viewer.post(reverse("campaigns:patient_erase", args=[maria.hash]), {"confirm": "ERASE"}).status_code == 403
    assert Patient.objects.get(pk=maria.pk).name == "Maria da Silva"


def test_erase_needs_the_confirmation_word(admin, maria):
    admin.post(reverse("campaigns:patient_erase", args=[maria.hash]), {"confirm": "yes"})
    assert Patient.objects.get(pk=maria.pk).name == "Maria da Silva"
    response = admin.post(reverse("campaigns:patient_erase", args=[maria.hash]), {"confirm": "erase"})
    assert response.status_code == 302
    assert Patient.objects.get(pk=maria.pk).name == ""
    assert AuditEvent.objects.filter(action="patient.erased", object_id=maria.hash).exists()


def test_tasks_page_adds_and_closes_a_task(admin, clinic, maria):
    response = admin.post(reverse("campaigns:tasks"), {"title": "Ligar à Maria", "patient": maria.hash,
                                                       "assignee": "phone_agent", "due_at": "2026-12-01T10:00"})
    assert response.status_code == 302
    task = Task.objects.get()
    assert task.patient == maria and task.assigned_to_phone_agent and task.due_at.hour == 10
    assert "Ligar à Maria" in admin.get(reverse("campaigns:tasks")).content.decode()

    admin.post(reverse("campaigns:task_status", args=[task.id]), {"status": "done"})
    task.refresh_from_db()
    assert task.status == Task.Status.DONE and task.completed_at


def test_tasks_page_refuses_a_task_without_title(admin):
    response = admin.post(reverse("campaigns:tasks"), {"title": ""})
    assert response.status_code == 400 and not Task.objects.exists()


def test_triage_editor_saves_questions_for_a_service_and_rejects_bad_ones(admin, clinic):
    service = EngagementServiceFactory(clinic=clinic)
    url = reverse("campaigns:triage_questions")
    assert "What is the reason for your appointment?" in admin.get(url).content.decode()

    response = admin.post(url, {"service": str(service.id), "q-0-label": "Está em jejum?", "q-0-type": "yesno",
                                "q-0-required": "on", "q-1-label": "", "q-1-type": "text"})
    assert response.status_code == 302
    questionnaire = TriageQuestionnaire.objects.get(clinic=clinic, service=service)
    assert questionnaire.questions == [{"id": "q1", "label": "Está em jejum?", "type": "yesno", "choices": [],
                                        "required": True}]

    bad = admin.post(url, {"q-0-label": "Qual?", "q-0-type": "choice", "q-0-choices": "só uma"})
    assert bad.status_code == 400
    assert not TriageQuestionnaire.objects.filter(clinic=clinic, service=None).exists()


def test_viewer_cannot_edit_triage_questions(viewer):
    assert viewer.get(reverse("campaigns:triage_questions")).status_code == 403


def test_engagement_overview_shows_nps(admin):
    assert admin.get(reverse("campaigns:index")).status_code == 200
