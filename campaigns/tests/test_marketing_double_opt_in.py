"""Double opt-in of the public booking page's marketing consent (docs/api/public.md, Marketing consent: double
opt-in): the consent is kept pending, the phone's owner gets one SMS with a signed link, and only their
confirmation makes campaigns reach them; declining, forging, expiring or crossing clinics changes nothing."""
import datetime as dt
import re

import pytest
from django.core import signing
from django.utils import timezone, translation
from django.utils.html import escape

from campaigns import bulk, marketing_opt_in
from campaigns.selectors import marketing_sms_reachable
from clinics.models import AuditEvent
from scheduling import services as scheduling_services
from scheduling.models import Patient
from scheduling.patients import erase_patient, export_patient
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory
from scheduling.tests.test_public_booking import assert_public_error, booking_payload
from telephony.models import Message

pytestmark = pytest.mark.django_db

PHONE = "+351914000333"
LINK = re.compile(r"https?://\S+/marketing-consent/(\S+)")


@pytest.fixture
def service(clinic):
    return ServiceFactory(clinic=clinic, duration_minutes=30)


@pytest.fixture
def professional(clinic, service):
    return ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "00:00", "23:45") for d in range(7)])


def consent_rows(patient):
    return AuditEvent.objects.filter(action="patient.consent", object_id=str(patient.pk)).order_by("created_at")


def opt_in_messages(clinic):
    return Message.objects.filter(clinic=clinic, purpose="marketing_opt_in")


def reachable(clinic):
    return bulk.audience_estimate(clinic=clinic, audience=bulk.Audience())["targets"]


def book(client, clinic, service, capture, days=2, **extra):
    with capture(execute=True):
        response = client.post(f"/booking/{clinic.slug}",
                               booking_payload(service, upcoming(days=days, clinic=clinic), **extra),
                               content_type="application/json")
    assert response.status_code == 201, response.json()
    return Patient.objects.get(hash=response.json()["patientId"])


@pytest.fixture
def pending(client, clinic, professional, service, django_capture_on_commit_callbacks):
    """Rita booked on the public page with the marketing box ticked: (patient, the link's path)."""
    patient = book(client, clinic, service, django_capture_on_commit_callbacks, privacyConsent=True,
                   marketingConsent=True)
    token = LINK.search(opt_in_messages(clinic).get().body).group(1)
    return patient, f"/marketing-consent/{token}"


def test_a_ticked_box_keeps_the_consent_pending_and_texts_one_link(clinic, pending):
    patient, _path = pending
    assert set(patient.consents) == {"privacy", "marketing_pending"} and patient.consents["privacy"] is True
    assert dt.datetime.fromisoformat(patient.consents["marketing_pending"]) <= timezone.now()
    assert [(row.extra["kind"], row.extra.get("granted"), row.extra.get("pending")) for row in consent_rows(patient)
            ] == [("privacy", True, None), ("marketing", None, True)]
    sms = opt_in_messages(clinic).get()
    assert sms.to_phone == PHONE and clinic.name in sms.body and "Rita" not in sms.body
    assert Message.objects.filter(clinic=clinic, purpose="booking_confirmation").count() == 1


def test_campaigns_do_not_reach_a_pending_consent(clinic, pending):
    patient, _path = pending
    assert reachable(clinic) == 0
    assert not marketing_sms_reachable(Patient.objects.for_clinic(clinic)).filter(pk=patient.pk).exists()


def test_a_second_booking_while_pending_sends_no_second_link(client, clinic, service, pending,
                                                            django_capture_on_commit_callbacks):
    patient, _path = pending
    asked_at = patient.consents["marketing_pending"]
    again = book(client, clinic, service, django_capture_on_commit_callbacks, days=3, marketingConsent=True)
    assert again.pk == patient.pk and again.consents["marketing_pending"] == asked_at
    assert opt_in_messages(clinic).count() == 1 and consent_rows(patient).count() == 2


def test_the_page_names_the_clinic_and_nothing_of_the_patient(client, clinic, pending):
    _patient, path = pending
    response = client.get(path)
    page = response.content.decode()
    assert response.status_code == 200 and clinic.name in page
    assert 'value="confirm"' in page and 'value="decline"' in page
    assert "Rita" not in page and "000333" not in page


def said(of, text, **values):
    """`text` as the page says it: in the language of the clinic `of`, HTML-escaped."""
    with translation.override(of.locale):
        return escape(translation.gettext(text) % values)


def test_confirming_gives_the_consent_once_and_campaigns_then_reach_the_patient(client, clinic, pending):
    patient, path = pending
    response = client.post(path, {"action": "confirm"})

    assert response.status_code == 200 and said(
        clinic, "You will receive news and offers from %(clinic)s by SMS. You can stop them at any time by telling "
        "the clinic.", clinic=clinic.name) in response.content.decode()
    patient.refresh_from_db()
    assert patient.consents == {"privacy": True, "marketing": True}
    row = consent_rows(patient).last()
    assert (row.extra, row.actor_kind, row.clinic_id) == (
        {"kind": "marketing", "granted": True, "via": "link"}, AuditEvent.ActorKind.PUBLIC, clinic.pk)
    assert reachable(clinic) == 1

    again = client.post(path, {"action": "confirm"})
    assert again.status_code == 200 and said(
        clinic, "You had already confirmed: you receive news and offers from %(clinic)s by SMS. Tell the clinic if "
        "you want to stop them.", clinic=clinic.name) in again.content.decode()
    assert consent_rows(patient).count() == 3


def test_declining_drops_the_request_and_the_link_then_confirms_nothing(client, clinic, pending):
    patient, path = pending
    response = client.post(path, {"action": "decline"})

    assert response.status_code == 200 and said(
        clinic, "You will not receive news and offers from %(clinic)s by SMS.", clinic=clinic.name
    ) in response.content.decode()
    patient.refresh_from_db()
    assert patient.consents == {"privacy": True}
    assert consent_rows(patient).last().extra == {"kind": "marketing", "declined": True, "via": "link"}

    late = client.post(path, {"action": "confirm"})
    assert late.status_code == 410 and said(clinic, "This request was already answered") in late.content.decode()
    patient.refresh_from_db()
    assert patient.consents == {"privacy": True} and reachable(clinic) == 0


def test_an_unknown_action_is_a_400_and_changes_nothing(client, pending):
    patient, path = pending
    assert client.post(path, {"action": "maybe"}).status_code == 400
    patient.refresh_from_db()
    assert "marketing_pending" in patient.consents and "marketing" not in patient.consents


def test_a_forged_or_tampered_token_is_a_404(client, pending):
    patient, path = pending
    forged = signing.dumps([patient.clinic_id.hex, patient.pk.hex, patient.consents["marketing_pending"]],
                           key="not-our-secret", salt=marketing_opt_in.MARKETING_OPT_IN_SALT)
    other_salt = signing.dumps([patient.clinic_id.hex, patient.pk.hex, patient.consents["marketing_pending"]],
                               salt="scheduling.public_manage.appointment")
    for url in (f"/marketing-consent/{forged}", f"/marketing-consent/{other_salt}", path[:-3] + "abc",
                "/marketing-consent/nothing"):
        response = client.post(url, {"action": "confirm"})
        assert response.status_code == 404 and "not valid" in response.content.decode(), url
    patient.refresh_from_db()
    assert "marketing" not in patient.consents


def test_an_expired_link_is_a_410_and_confirms_nothing(client, pending, monkeypatch):
    patient, path = pending
    later = timezone.now() + dt.timedelta(days=31)
    monkeypatch.setattr("django.core.signing.time.time", lambda: later.timestamp())

    response = client.post(path, {"action": "confirm"})

    assert response.status_code == 410 and "expired" in response.content.decode()
    patient.refresh_from_db()
    assert "marketing" not in patient.consents


def test_a_token_cannot_reach_another_clinics_patient(client, clinic, other_clinic, pending):
    """A link names one patient (the clinic is theirs): putting another clinic's patient in it breaks its signature,
    and the page never says which clinic that patient is at."""
    import base64

    patient, path = pending
    theirs = PatientFactory(clinic=other_clinic, consents={"marketing_pending": "2030-01-01T00:00:00+00:00"})
    token = path.rsplit("/", 1)[1]
    their_id = base64.urlsafe_b64encode(theirs.pk.bytes).rstrip(b"=").decode()
    crossed = their_id + token[token.index("."):]

    for method in (client.get, client.post):
        response = method(f"/marketing-consent/{crossed}", {"action": "confirm"})
        assert response.status_code == 404 and other_clinic.name not in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.consents == {"marketing_pending": "2030-01-01T00:00:00+00:00"}
    assert not AuditEvent.objects.filter(action="patient.consent", clinic=other_clinic).exists()
    assert len(token) < 100  # the SMS stays short: every segment is billed


def test_a_refused_booking_leaves_no_pending_consent_and_sends_nothing(client, clinic, professional, service,
                                                                       django_capture_on_commit_callbacks):
    rita = PatientFactory(clinic=clinic, name="Rita Gomes", phone=PHONE, consents={})
    starts = upcoming(days=2, clinic=clinic)
    AppointmentFactory(professional=professional, service=service, starts_at=starts)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/booking/{clinic.slug}",
                               booking_payload(service, starts, professional, marketingConsent=True),
                               content_type="application/json")

    assert_public_error(response, 409, "SLOT_TAKEN")
    rita.refresh_from_db()
    assert rita.consents == {} and not consent_rows(rita).exists() and not opt_in_messages(clinic).exists()


def test_a_patient_already_consenting_is_not_asked_again(client, clinic, professional, service,
                                                         django_capture_on_commit_callbacks):
    rita = PatientFactory(clinic=clinic, name="Rita Gomes", phone=PHONE, consents={"marketing": True})
    book(client, clinic, service, django_capture_on_commit_callbacks, marketingConsent=True)
    rita.refresh_from_db()
    assert rita.consents == {"marketing": True} and not opt_in_messages(clinic).exists()


def test_a_decision_the_clinic_records_closes_the_pending_request(client, clinic, pending):
    patient, path = pending
    scheduling_services.patient_consent_record(patient=patient, kind="marketing", granted=False)
    patient.refresh_from_db()
    assert patient.consents == {"privacy": True, "marketing": False}

    assert client.post(path, {"action": "confirm"}).status_code == 410
    patient.refresh_from_db()
    assert patient.consents["marketing"] is False


def test_the_export_shows_the_pending_consent_and_erasure_clears_it(client, clinic, pending):
    patient, path = pending
    assert "marketing_pending" in export_patient(patient)["patient"]["consents"]

    erase_patient(patient)
    patient.refresh_from_db()
    assert patient.consents == {}
    assert client.post(path, {"action": "confirm"}).status_code == 410
    patient.refresh_from_db()
    assert patient.consents == {}


def test_the_patient_record_timeline_tells_pending_confirmed_and_declined_apart(client, clinic, pending):
    from scheduling.record import consent_events

    patient, path = pending
    client.post(path, {"action": "confirm"})
    titles = [entry.title for entry in consent_events(patient, full=True)]
    assert titles[0].startswith("Consent given") and "awaiting the patient's confirmation" in titles[1]
