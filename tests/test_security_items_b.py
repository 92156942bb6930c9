"""Issue 12, item 15 (appointment notes, task texts and external ids encrypted at rest; no personal data in query
strings that travel or in log lines), item 16 (one sign-in and password-reset throttle for every surface), and the
inbound SMS reply fallback (a reply to the shared number reaches only the one clinic that wrote to the sender)."""
import datetime as dt
import importlib
import io
import logging
import runpy
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.db.migrations import RunPython
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_application_model
from rest_framework.test import APIClient

from campaigns.tests.factories import TaskFactory
from clinics.models import AuditEvent
from clinics.tests.factories import MembershipFactory, UserFactory
from config.logging import PersonalDataFilter
from scheduling import patients
from scheduling.models import Appointment, Patient
from scheduling.tests.factories import AppointmentFactory, PatientFactory
from telephony.models import Message, VideoMeeting, VideoParticipant
from telephony.services import REPLY_WINDOW, message_send
from telephony.tests.conftest import ACCOUNT_SID, FROM_NUMBER, twilio_settings  # noqa: F401 (fixture)
from telephony.tests.factories import MessageFactory
from telephony.tests.test_webhooks import INBOUND_URL, inbound_params, signed_post

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-staple"
PATIENT_PHONE = "+351912345678"
ROOT = Path(__file__).resolve().parent.parent


def raw_column(table, column, pk):
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])
        return cursor.fetchone()[0]


def set_raw_column(table, column, pk, value):
    with connection.cursor() as cursor:
        cursor.execute(f'UPDATE "{table}" SET "{column}" = %s WHERE id = %s', [value, pk])


@pytest.fixture
def appointment(clinic):
    return AppointmentFactory(professional__clinic=clinic, starts_at=timezone.now() + dt.timedelta(days=2),
                              notes="Dores no peito desde ontem", patient__external_id="CRM-7781")


@pytest.fixture
def participant(clinic):
    meeting = VideoMeeting.objects.create(clinic=clinic, provider="local", provider_meeting_id="m-1", title="Consult")
    return VideoParticipant.objects.create(clinic=clinic, meeting=meeting, provider_participant_id="p-1",
                                           custom_participant_id="maria.silva@example.pt", preset_name="patient")


# --- item 15: encrypted at rest ----------------------------------------------------------------------------------

def test_item_15_notes_task_texts_and_external_ids_are_ciphertext_in_the_database(clinic, appointment, participant):
    task = TaskFactory(clinic=clinic, title="Ligar à Maria sobre a biópsia", description="Resultado positivo")

    stored = {
        "notes": raw_column("scheduling_appointment", "notes", appointment.pk),
        "external_id": raw_column("scheduling_patient", "external_id", appointment.patient_id),
        "title": raw_column("campaigns_task", "title", task.pk),
        "description": raw_column("campaigns_task", "description", task.pk),
        "custom_participant_id": raw_column("telephony_videoparticipant", "custom_participant_id", participant.pk),
    }

    for name, value in stored.items():
        assert value.startswith("v1:"), name
    for plaintext in ("Dores", "CRM-7781", "Maria", "biópsia", "positivo", "maria.silva"):
        assert not any(plaintext in value for value in stored.values())
    # The code still reads plaintext.
    assert Appointment.objects.get(pk=appointment.pk).notes == "Dores no peito desde ontem"
    assert Patient.objects.get(pk=appointment.patient_id).external_id == "CRM-7781"
    assert type(task).objects.get(pk=task.pk).title == "Ligar à Maria sobre a biópsia"
    assert VideoParticipant.objects.get(pk=participant.pk).custom_participant_id == "maria.silva@example.pt"


@pytest.mark.parametrize("app, migration, table, column", [
    ("scheduling", "0005_encrypt_appointment_notes_and_external_id", "scheduling_appointment", "notes"),
    ("campaigns", "0003_encrypt_task_text", "campaigns_task", "title"),
    ("telephony", "0008_encrypt_participant_id_and_outbound_clinic", "telephony_videoparticipant",
     "custom_participant_id"),
])
def test_item_15_the_migrations_encrypt_rows_stored_in_plaintext_and_reverse(clinic, appointment, participant, app,
                                                                           migration, table, column):
    task = TaskFactory(clinic=clinic)
    pk = {"scheduling_appointment": appointment.pk, "campaigns_task": task.pk,
          "telephony_videoparticipant": participant.pk}[table]
    set_raw_column(table, column, pk, "Texto antigo em claro")  # a row written before the migration
    step, = [operation for operation in importlib.import_module(f"{app}.migrations.{migration}").Migration.operations
             if isinstance(operation, RunPython)]

    with connection.schema_editor() as editor:
        step.code(django_apps, editor)
        encrypted = raw_column(table, column, pk)
        step.code(django_apps, editor)  # a second run leaves encrypted rows alone
        assert raw_column(table, column, pk) == encrypted
        assert encrypted.startswith("v1:") and "antigo" not in encrypted
        step.reverse_code(django_apps, editor)
        assert raw_column(table, column, pk) == "Texto antigo em claro"


def test_item_15_the_audit_row_of_a_video_participant_names_no_external_id(clinic, settings):
    from telephony import video

    settings.PROVIDERS = {**settings.PROVIDERS, "video": "local"}
    meeting = video.meeting_create(clinic=clinic, title="Consulta")
    participant = video.participant_add(clinic=clinic, meeting_id=meeting.id, name="Maria Silva", picture="",
                                        user_id="maria.silva@example.pt", preset="group_call_participant")

    event = AuditEvent.objects.get(action="video_participant.add")
    assert "maria.silva" not in str(event.extra) and event.extra["participant"] == str(participant.id)


def test_item_15_export_carries_and_erasure_wipes_the_encrypted_texts(clinic, appointment):
    patient = appointment.patient
    TaskFactory(clinic=clinic, patient=patient, title="Ligar à Maria", description="Resultado da biópsia")

    exported = patients.export_patient(patient)
    assert exported["appointments"][0]["notes"] == "Dores no peito desde ontem"
    assert exported["patient"]["externalId"] == "CRM-7781"
    assert {"Ligar à Maria", "Resultado da biópsia"} <= {
        value for task in exported["tasks"] for value in (task["title"], task["description"])}

    patients.erase_patient(patient)
    assert Appointment.objects.get(pk=appointment.pk).notes == ""
    assert raw_column("scheduling_appointment", "notes", appointment.pk) == ""
    assert Patient.objects.get(pk=patient.pk).external_id == ""
    task = patient.tasks.get()
    assert "Maria" not in task.title and task.description == ""


# --- item 15: no personal data in URLs that travel, nor in log lines -------------------------------------------

def test_item_15_the_sign_in_redirect_carries_no_searched_name_or_phone(client, clinic):
    response = client.get(reverse("campaigns:patients"), {"q": "Maria Silva", "page": "2"})
    assert response.status_code == 302
    assert "Maria" not in response["Location"] and "Silva" not in response["Location"]
    assert "page%3D2" in response["Location"]  # harmless filters still bring the user back

    admin = MembershipFactory(clinic=clinic)  # an admin must pass the second factor first
    client.force_login(admin.user)
    response = client.get(reverse("campaigns:patients"), {"q": PATIENT_PHONE})
    assert response.status_code == 302
    assert "912345678" not in response["Location"]


@pytest.fixture
def log_output():
    """What the configured console handler (settings.LOGGING) writes, as production would see it."""
    handlers = [handler for handler in logging.getLogger().handlers
                if any(isinstance(item, PersonalDataFilter) for item in handler.filters)]
    assert handlers, "LOGGING's console handler must carry config.logging.PersonalDataFilter"
    stream = io.StringIO()
    previous = [handler.setStream(stream) for handler in handlers]
    yield stream
    for handler, old in zip(handlers, previous):
        handler.setStream(old)


def test_item_15_a_provider_error_quoting_the_number_reaches_the_log_without_it(clinic, twilio_settings, httpserver,
                                                                              log_output):
    httpserver.expect_request(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", method="POST").respond_with_json(
        {"code": 21211, "message": f"The 'To' number {PATIENT_PHONE} is not a valid phone number.",
         "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400}, status=400)

    with pytest.raises(Exception):
        message_send(clinic=clinic, to=PATIENT_PHONE, body="Olá")
    failed = Message.objects.for_clinic(clinic).get()
    assert failed.status == Message.Status.FAILED and "is not a valid phone number" in failed.error
    assert "912345678" not in failed.error  # the unencrypted column keeps the reason, not the person
    logging.getLogger("frontdesk.test").error("Lookup failed for %s (%s)", "maria.silva@example.pt", "+351 912 345 678")
    try:
        raise ValueError(f"no patient with phone {PATIENT_PHONE}")
    except ValueError:
        logging.getLogger("frontdesk.test").exception("Search of ?q=Maria%20Silva&page=2 failed")

    written = log_output.getvalue()
    assert "is not a valid phone number" in written  # the line is kept...
    assert "[phone]" in written and "[email]" in written and "q=[redacted]&page=2" in written
    for personal in ("912345678", "912 345 678", "maria.silva", "Maria%20Silva"):
        assert personal not in written  # ...without the person


def test_item_15_the_access_log_of_gunicorn_carries_no_query_string():
    config = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))
    atoms = {"h": "203.0.113.9", "m": "GET", "U": "/patients/", "q": "q=Maria", "H": "HTTP/1.1",
             "r": "GET /patients/?q=Maria HTTP/1.1", "s": "200", "b": "512", "M": "12", "a": "Mozilla/5.0"}
    line = config["access_log_format"] % atoms
    assert "/patients/" in line and "Maria" not in line


# --- item 16: one throttle for every sign-in surface and for password resets ------------------------------------

def console_login(client, email, password):
    return client.post(reverse("console:login"), {"username": email, "password": password})


def api_login(email, password, **extra):
    return APIClient().post("/api/auth/login", {"email": email, "password": password}, format="json", **extra)


def test_item_16_failures_on_the_console_lock_the_api_login_too(client, clinic):
    viewer = MembershipFactory(clinic=clinic, role="viewer")
    for _attempt in range(5):
        console_login(client, viewer.user.email, "wrong")

    locked = api_login(viewer.user.email, PASSWORD)

    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert "Too many failed login attempts" in locked.json()["detail"]


def test_item_16_failures_on_the_api_lock_the_console_too(client, clinic):
    viewer = MembershipFactory(clinic=clinic, role="viewer")
    for _attempt in range(5):
        assert api_login(viewer.user.email, "wrong").status_code == 401

    response = console_login(client, viewer.user.email, PASSWORD)

    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.login_locked", actor_label=viewer.user.email).exists()


def test_item_16_wrong_console_codes_count_against_the_account_on_the_api(client, clinic):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinics.management.commands.demo_login import current_code

    admin = MembershipFactory(clinic=clinic)
    device = TOTPDevice.objects.create(user=admin.user, name="phone", confirmed=True)
    wrong = f"{(int(current_code(device)) + 1) % 10 ** 6:06d}"
    for _attempt in range(5):
        console_login(client, admin.user.email, PASSWORD)  # the password is right...
        client.post(reverse("console:login_verify"), {"code": wrong})  # ...the code is guessed

    locked = api_login(admin.user.email, PASSWORD)
    assert locked.status_code == 429
    assert "Too many failed login attempts" in console_login(client, admin.user.email, PASSWORD).content.decode()


def test_item_16_one_ip_guessing_many_accounts_is_stopped(client, clinic):
    victim = MembershipFactory(clinic=clinic, role="viewer")
    for index in range(30):
        api_login(f"nobody{index}@clinic.test", "guess", REMOTE_ADDR="198.51.100.7")

    assert api_login(victim.user.email, PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 429
    assert api_login(victim.user.email, PASSWORD, REMOTE_ADDR="198.51.100.8").status_code == 200


def test_item_16_password_resets_of_one_mailbox_are_limited_whoever_asks(client, clinic):
    viewer = MembershipFactory(clinic=clinic, role="viewer")
    url = reverse("console:password_reset")
    for index in range(3):
        response = client.post(url, {"email": viewer.user.email}, REMOTE_ADDR=f"198.51.100.{index}")
        assert response.status_code == 302
    assert len(mail.outbox) == 3

    flooded = client.post(url, {"email": viewer.user.email.upper()}, REMOTE_ADDR="198.51.100.99")

    assert flooded.status_code == 429 and int(flooded["Retry-After"]) > 0
    assert "Too many password-reset requests" in flooded.content.decode()
    assert len(mail.outbox) == 3


def test_item_16_one_ip_cannot_flood_many_mailboxes_and_unknown_addresses_count_alike(client):
    url = reverse("console:password_reset")
    for index in range(10):
        assert client.post(url, {"email": f"someone{index}@example.test"}).status_code == 302

    assert client.post(url, {"email": "another@example.test"}).status_code == 429


@pytest.fixture
def redis_down(settings):
    """The cache on a port where no Redis listens: the limits must fail open."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.CACHES = {"default": {"BACKEND": "config.cache.DegradingRedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{port}/0",
                                   "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}}


def test_item_16_with_redis_down_sign_in_and_reset_fail_open(client, clinic, redis_down):
    viewer = MembershipFactory(clinic=clinic, role="viewer")
    for _attempt in range(6):
        assert api_login(viewer.user.email, "wrong").status_code == 401

    assert api_login(viewer.user.email, PASSWORD).status_code == 200
    for _attempt in range(4):
        assert client.post(reverse("console:password_reset"), {"email": viewer.user.email}).status_code == 302
    assert len(mail.outbox) == 4


def test_item_16_the_oauth_token_endpoint_has_no_password_grant(clinic):
    user = MembershipFactory(clinic=clinic).user
    application = get_application_model().objects.create(
        name="Legacy", client_type="confidential", authorization_grant_type="password", user=user,
        client_secret="s3cret-s3cret-s3cret", redirect_uris="https://app.example/callback")

    response = APIClient().post("/oauth/token/", {
        "grant_type": "password", "username": user.email, "password": PASSWORD,
        "client_id": application.client_id, "client_secret": "s3cret-s3cret-s3cret"})

    assert response.status_code == 400 and "access_token" not in response.json()


# --- inbound SMS: the reply fallback ----------------------------------------------------------------------------

def test_a_reply_to_the_shared_number_reaches_the_one_clinic_that_wrote_to_the_sender(client, clinic,
                                                                                    twilio_settings):
    MessageFactory(clinic=clinic, to_phone=PATIENT_PHONE)

    signed_post(client, INBOUND_URL, inbound_params(from_=PATIENT_PHONE, to=FROM_NUMBER))

    assert Message.objects.get(direction=Message.Direction.INBOUND).clinic == clinic


def test_a_clinic_writing_to_another_clinics_patient_does_not_capture_the_reply(client, clinic, other_clinic,
                                                                                twilio_settings):
    MessageFactory(clinic=clinic, to_phone=PATIENT_PHONE)
    MessageFactory(clinic=other_clinic, to_phone=PATIENT_PHONE)  # written last, to catch the answer

    signed_post(client, INBOUND_URL, inbound_params(from_=PATIENT_PHONE, to=FROM_NUMBER, body="SIM"))

    assert Message.objects.get(direction=Message.Direction.INBOUND).clinic is None
    assert not Message.objects.for_clinic(other_clinic).filter(direction=Message.Direction.INBOUND).exists()


def test_a_reply_to_a_number_neither_verified_nor_shared_never_falls_back(client, clinic, twilio_settings):
    MessageFactory(clinic=clinic, to_phone=PATIENT_PHONE)

    signed_post(client, INBOUND_URL, inbound_params(from_=PATIENT_PHONE, to="+351300000077"))

    assert Message.objects.get(direction=Message.Direction.INBOUND).clinic is None


def test_a_reply_long_after_the_clinic_wrote_stays_unassigned(client, clinic, twilio_settings):
    MessageFactory(clinic=clinic, to_phone=PATIENT_PHONE,
                   created_at=timezone.now() - REPLY_WINDOW - dt.timedelta(hours=1))

    signed_post(client, INBOUND_URL, inbound_params(from_=PATIENT_PHONE, to=FROM_NUMBER))

    assert Message.objects.get(direction=Message.Direction.INBOUND).clinic is None


def test_an_outbound_message_without_a_clinic_is_refused_by_the_database(clinic):
    with pytest.raises(IntegrityError, match="message_outbound_has_clinic"), transaction.atomic():
        MessageFactory(clinic=None, direction=Message.Direction.OUTBOUND)
    assert MessageFactory(clinic=None, direction=Message.Direction.INBOUND).clinic is None


# --- the console page of the clinic's messaging numbers ---------------------------------------------------------

@pytest.fixture
def admin_client(client, clinic, settings):
    from clinics.tests.factories import sign_in_verified

    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    return sign_in_verified(client, MembershipFactory(clinic=clinic).user)


def test_an_admin_adds_a_number_and_verifies_it_with_the_code_sent_to_it(admin_client, clinic):
    from telephony.models import MessagingNumber

    url = reverse("telephony:messaging_numbers")
    assert admin_client.post(url, {"phone": "+351 210 000 321"}).status_code == 302
    number = MessagingNumber.objects.for_clinic(clinic).get(phone="+351210000321")
    code = Message.objects.for_clinic(clinic).get(purpose="number_verification").body.rsplit(" ", 1)[-1]
    verify = reverse("telephony:messaging_number_verify", args=[number.pk])

    admin_client.post(verify, {"code": f"{(int(code) + 1) % 10 ** 6:06d}"})
    number.refresh_from_db()
    assert number.status == MessagingNumber.Status.PENDING and number.code_attempts == 1
    admin_client.post(verify, {"code": code})
    page = admin_client.get(url)

    number.refresh_from_db()
    assert number.status == MessagingNumber.Status.VERIFIED and number.verified_by == "code"
    assert page.status_code == 200 and "+351210000321" in page.content.decode()
    assert AuditEvent.objects.filter(action="messaging_number.verified", clinic=clinic).exists()


def test_a_bad_number_is_a_400_with_the_reason_and_another_clinics_number_a_409(admin_client, clinic, other_clinic):
    from telephony.models import MessagingNumber
    from telephony.numbers import messaging_number_seed

    url = reverse("telephony:messaging_numbers")
    bad = admin_client.post(url, {"phone": "not a number"})
    assert bad.status_code == 400 and "Not a valid phone number" in bad.content.decode()
    messaging_number_seed(clinic=other_clinic, phone="+351210000555")
    taken = admin_client.post(url, {"phone": "+351210000555"})
    assert taken.status_code == 409 and "already verified by another clinic" in taken.content.decode()
    assert not MessagingNumber.objects.for_clinic(clinic).filter(status="verified").exists()


def test_another_clinics_number_is_neither_listed_nor_verifiable(admin_client, clinic, other_clinic):
    from telephony.models import MessagingNumber

    theirs = MessagingNumber.objects.create(clinic=other_clinic, phone="+351210000666", code_digest="x" * 64,
                                            code_sent_at=timezone.now())

    page = admin_client.get(reverse("telephony:messaging_numbers"))
    answer = admin_client.post(reverse("telephony:messaging_number_verify", args=[theirs.pk]), {"code": "123456"})

    assert "+351210000666" not in page.content.decode()
    assert answer.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == MessagingNumber.Status.PENDING and theirs.code_attempts == 0


def test_only_admins_manage_messaging_numbers(client, clinic):
    from clinics.tests.factories import sign_in_verified

    sign_in_verified(client, MembershipFactory(clinic=clinic, role="editor").user)

    assert client.get(reverse("telephony:messaging_numbers")).status_code == 403
    assert client.post(reverse("telephony:messaging_numbers"), {"phone": "+351210000777"}).status_code == 403


def test_the_outbox_links_admins_to_their_messaging_numbers(admin_client):
    page = admin_client.get(reverse("telephony:outbox"))
    assert reverse("telephony:messaging_numbers") in page.content.decode()
