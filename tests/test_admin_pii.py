"""Issue 15: Django admin of the rows holding personal data (patients, consultation notes, SMS campaigns and their
recipients, messages, calls; tasks, triage answers, feedback, referrals, video meetings and their participants,
outgoing webhook deliveries, patient imports) and of the clinic-owned rows beside them (voice agents, webhook
endpoints): scoped to the support user's clinics (another clinic's object is 404 in every view),
masked for a support viewer, one audit row per page that shows personal data, lists in bounded queries, RGPD
export and erasure as confirmed actions of the services.

Here rather than in clinics/tests: these tests build every app's rows, which clinics' own tests may not import
(.importlinter). clinics/tests/test_admin_scoping.py keeps the walk over every registered admin's pages.
"""
import json

import pytest
from django.contrib.admin import helpers
from django.contrib.auth.models import Permission
from django.test import Client

from campaigns.models import Campaign, CampaignRecipient, FeedbackResponse, TriageResponse
from campaigns.tests.factories import AppointmentFactory, EngagementProfessionalFactory, TaskFactory
from campaigns.tests.factories import EngagementPatientFactory as PatientFactory
from clinics.models import AuditEvent, User
from clinics.tests.factories import sign_in_verified
from notes.tests.factories import NoteFactory, NoteSectionFactory
from scheduling.models import Patient, PatientImport
from telephony.agents import agent_for
from telephony.models import Referral, VideoMeeting, VideoParticipant, WebhookDelivery, WebhookEndpoint
from telephony.tests.factories import CallFactory, MessageFactory

pytestmark = pytest.mark.django_db

NAME, PHONE, EMAIL = "Zelinda Quaresma Brito", "+351913579246", "zelinda@example.pt"
TRANSCRIPT, SECTION, BODY, SUMMARY = ("Transcricao-secreta", "Seccao-secreta", "Corpo-secreto-do-sms",
                                      "Resumo-secreto")
TASK_TITLE, TASK_DESCRIPTION, ANSWER, COMMENT, REASON = (
    "Ligar-secreto", "Descricao-secreta", "Resposta-secreta", "Comentario-secreto", "Motivo-secreto")
PARTICIPANT_ID, JOIN_TOKEN, SIGNING_SECRET, ERROR_ECHO = (
    "participante-7781@example.pt", "token-de-entrada-secreto", "whsec_segredo_de_assinatura", "Eco-secreto")


def _support(email, clinic, permissions):
    user = User.objects.create_user(email=email, password="x-long-password-1", is_staff=True)
    user.user_permissions.set(permissions)
    user.support_clinics.add(clinic)
    return sign_in_verified(Client(), user)


@pytest.fixture
def viewer(clinic):
    """A support user of `clinic` who may view everything but not read personal data: a support viewer."""
    return _support("viewer@frontdesk.local", clinic, Permission.objects.filter(codename__startswith="view_"))


@pytest.fixture
def reader(clinic):
    """A support user of `clinic` with every permission, `clinics.read_pii` and `scheduling.delete_patient` too."""
    return _support("reader@frontdesk.local", clinic, Permission.objects.all())


def _world(clinic, n=0):
    """One row of every kind in `clinic`; the n-th world's patient has its own phone (one phone + name is one
    person)."""
    phone = PHONE if n == 0 else f"+3519135{n:05d}"
    patient = PatientFactory(clinic=clinic, name=NAME, phone=phone, email=EMAIL)
    note = NoteFactory(clinic=clinic, patient=patient, name=NAME, transcript=TRANSCRIPT)
    NoteSectionFactory(note=note, content=SECTION)
    campaign = Campaign.objects.create(clinic=clinic, name="Vacinas", message="Olá {name}")
    recipient = CampaignRecipient.objects.create(clinic=clinic, campaign=campaign, patient=patient)
    message = MessageFactory(clinic=clinic, to_phone=phone, body=BODY)
    call = CallFactory(clinic=clinic, phone_number=phone, summary=SUMMARY)
    task = TaskFactory(clinic=clinic, patient=patient, title=TASK_TITLE, description=TASK_DESCRIPTION)
    appointment = AppointmentFactory(clinic=clinic, patient=patient)
    triage = TriageResponse.objects.create(clinic=clinic, appointment=appointment, answers_json=json.dumps(
        [{"id": "reason", "question": "Motivo da consulta", "answer": ANSWER}]))
    feedback = FeedbackResponse.objects.create(clinic=clinic, appointment=appointment, score=9, comment=COMMENT,
                                               professional=appointment.professional)
    meeting = VideoMeeting.objects.create(clinic=clinic, provider="local", title="Consulta",
                                          provider_meeting_id=f"meeting-{clinic.pk}-{n}")
    VideoParticipant.objects.create(clinic=clinic, meeting=meeting, provider_participant_id="p-1", name=NAME,
                                    custom_participant_id=PARTICIPANT_ID, preset_name="participant",
                                    token=JOIN_TOKEN)
    referral = Referral.objects.create(clinic=clinic, requesting_professional=appointment.professional,
                                       specialist=EngagementProfessionalFactory(clinic=clinic), patient=patient,
                                       reason=REASON, meeting=meeting)
    endpoint = WebhookEndpoint.objects.create(clinic=clinic, url=f"https://hooks.example.com/{n}",
                                              secret=SIGNING_SECRET, events=["conversation.end_report"])
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="conversation.end_report", event_id=f"conversation.end_report:{call.pk}",
        payload={"data": {"participant": {"number": phone, "name": NAME}, "summary": SUMMARY}},
        status=WebhookDelivery.Status.FAILED, attempts=6, last_status_code=500, last_error=f"{ERROR_ECHO} {NAME}")
    # A file without a header row: its first patient became the headers.
    patient_import = PatientImport.objects.create(clinic=clinic, filename="pacientes.csv", headers=[NAME, phone],
                                                  content=f"{NAME},{phone}\nJoana Costa,+351912000222\n")
    return {"patient": patient, "note": note, "campaign": campaign, "campaignrecipient": recipient,
            "message": message, "call": call, "task": task, "triageresponse": triage, "feedbackresponse": feedback,
            "referral": referral, "videomeeting": meeting, "webhookendpoint": endpoint, "webhookdelivery": delivery,
            "patientimport": patient_import, "agent": agent_for(clinic)}


APP = {"patient": "scheduling", "note": "notes", "campaign": "campaigns", "campaignrecipient": "campaigns",
       "message": "telephony", "call": "telephony", "task": "campaigns", "triageresponse": "campaigns",
       "feedbackresponse": "campaigns", "referral": "telephony", "videomeeting": "telephony",
       "webhookendpoint": "telephony", "webhookdelivery": "telephony", "agent": "telephony",
       "patientimport": "scheduling"}


def _url(kind, obj=None, view="change"):
    base = f"/admin/{APP[kind]}/{kind}/"
    return base if obj is None else f"{base}{obj.pk}/{view}/"


def _events(action, **filters):
    return list(AuditEvent.objects.filter(action=action, **filters).order_by("created_at"))


# --- tenancy: another clinic's object is 404 in every view, its rows are never listed ------------------------------

@pytest.mark.parametrize("kind", list(APP))
@pytest.mark.parametrize("who", ["viewer", "reader"])
def test_another_clinics_object_is_404_in_every_view(request, kind, who, clinic, other_clinic):
    signed_in = request.getfixturevalue(who)
    mine, theirs = _world(clinic)[kind], _world(other_clinic)[kind]
    assert signed_in.get(_url(kind, mine)).status_code == 200
    for view in ("change", "delete", "history"):
        assert signed_in.get(_url(kind, theirs, view)).status_code == 404, view
        assert signed_in.post(_url(kind, theirs, view), {"post": "yes"}).status_code == 404, view
    assert type(theirs).objects.filter(pk=theirs.pk).exists()
    assert not AuditEvent.objects.filter(clinic=other_clinic, actor_kind="user").exists()


@pytest.mark.parametrize("kind", list(APP))
def test_lists_show_only_the_support_users_clinics(reader, kind, clinic, other_clinic):
    mine, theirs = _world(clinic)[kind], _world(other_clinic)[kind]
    page = reader.get(_url(kind))
    shown = {row.pk for row in page.context["cl"].result_list}
    assert mine.pk in shown and theirs.pk not in shown


@pytest.mark.parametrize("action", ["export_selected", "erase_selected"])
def test_an_action_on_another_clinics_patient_is_404_and_does_nothing(reader, action, clinic, other_clinic):
    theirs = PatientFactory(clinic=other_clinic, name=NAME, phone=PHONE)
    mine = PatientFactory(clinic=clinic)
    for selected in ([theirs.pk], [mine.pk, theirs.pk], ["not-a-uuid"]):
        response = reader.post(_url("patient"), {"action": action, helpers.ACTION_CHECKBOX_NAME: selected,
                                                 "confirmed": "yes", "confirm_word": "ERASE"})
        assert response.status_code == 404, selected
    theirs.refresh_from_db()
    assert theirs.name == NAME and not AuditEvent.objects.filter(action__in=["patient.exported", "patient.erased"])


def test_admins_without_actions_offer_none(reader, clinic):
    """Every admin but the patients' and the webhook deliveries' changes its rows through their services only: no
    admin action (the deliveries' one is "retry", below)."""
    from django.contrib import admin
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User.objects.get(email="reader@frontdesk.local")
    for model in (Campaign, CampaignRecipient, *(type(obj) for obj in _world(clinic).values()
                                                   if not isinstance(obj, (Patient, WebhookDelivery)))):
        assert admin.site._registry[model].get_actions(request) == {}, model


def test_a_failed_webhook_delivery_is_sent_again_by_the_retry_action_of_its_clinic_only(
        reader, viewer, clinic, other_clinic, django_capture_on_commit_callbacks):
    """The action calls `webhook_deliveries_retry`: the failed delivery is pending again with fresh attempts,
    audited; another clinic's delivery in the selection is 404 and unchanged; a support viewer has no action."""
    mine, theirs = _world(clinic)["webhookdelivery"], _world(other_clinic, n=1)["webhookdelivery"]
    url = _url("webhookdelivery")

    for selected in ([theirs.pk], [mine.pk, theirs.pk]):
        response = reader.post(url, {"action": "retry_selected", helpers.ACTION_CHECKBOX_NAME: selected})
        assert response.status_code == 404, selected
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = reader.post(url, {"action": "retry_selected", helpers.ACTION_CHECKBOX_NAME: [mine.pk]})
    assert response.status_code == 302 and len(queued) == 1
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.status, mine.attempts) == ("pending", 0) and (theirs.status, theirs.attempts) == ("failed", 6)
    assert [(row.object_id, row.clinic_id) for row in _events("webhook_delivery.retry")] == [(str(mine.pk), clinic.pk)]

    page = viewer.get(url)
    assert "retry_selected" not in page.context["cl"].model_admin.get_actions(page.wsgi_request)


# --- masking and audit --------------------------------------------------------------------------------------------

def test_patient_page_is_full_for_a_reader_masked_for_a_viewer_and_audited(reader, viewer, clinic):
    patient = _world(clinic)["patient"]
    full = reader.get(_url("patient", patient)).content.decode()
    assert NAME in full and PHONE in full and EMAIL in full
    masked = viewer.get(_url("patient", patient)).content.decode()
    assert NAME not in masked and PHONE not in masked and EMAIL not in masked
    assert "Z. Q. B." in masked and "+351 9•• ••• •46" in masked and "z•••@example.pt" in masked
    rows = _events("patient.read", object_id=patient.hash, clinic=clinic)
    assert [(row.actor_label, row.extra["masked"]) for row in rows] == [
        ("reader@frontdesk.local", False), ("viewer@frontdesk.local", True)]


def test_patient_list_masks_for_a_viewer_and_writes_one_row_per_page(reader, viewer, clinic, other_clinic):
    patients = [PatientFactory(clinic=clinic) for _ in range(3)]
    PatientFactory(clinic=other_clinic)
    page = viewer.get(_url("patient")).content.decode()
    assert all(patient.name not in page and patient.phone not in page for patient in patients)
    assert all(patient.hash in page for patient in patients)
    full = reader.get(_url("patient")).content.decode()
    assert all(patient.name in full for patient in patients)
    rows = _events("patient.list")
    assert len(rows) == 2 and {row.clinic_id for row in rows} == {clinic.pk}
    assert all(set(row.extra["hashes"]) == {patient.hash for patient in patients} for row in rows)
    assert [row.extra["masked"] for row in rows] == [True, False]


def test_a_list_page_that_shows_nobody_writes_nothing(reader, clinic):
    assert reader.get(_url("patient")).status_code == 200
    assert not _events("patient.list")


def test_a_superusers_list_over_two_clinics_writes_one_row_per_clinic(clinic, other_clinic):
    root = sign_in_verified(Client(), User.objects.create_superuser(email="root@frontdesk.local",
                                                                    password="x-long-password-1"))
    mine, theirs = PatientFactory(clinic=clinic), PatientFactory(clinic=other_clinic)
    root.get(_url("patient"))
    rows = {row.clinic_id: row.extra["hashes"] for row in _events("patient.list")}
    assert rows == {clinic.pk: [mine.hash], other_clinic.pk: [theirs.hash]}


def test_note_page_hides_transcript_and_sections_from_a_viewer(reader, viewer, clinic):
    note = _world(clinic)["note"]
    full = reader.get(_url("note", note)).content.decode()
    assert NAME in full and TRANSCRIPT in full and SECTION in full
    masked = viewer.get(_url("note", note)).content.decode()
    assert NAME not in masked and TRANSCRIPT not in masked and SECTION not in masked and "Z. Q. B." in masked
    rows = _events("note.read", object_id=str(note.pk))
    assert [row.extra["masked"] for row in rows] == [False, True]
    viewer.get(_url("note"))
    assert _events("note.list")[0].extra["note_ids"] == [str(note.pk)]


def test_campaign_recipients_are_masked_for_a_viewer_and_audited_as_reads_of_the_patients(reader, viewer, clinic):
    world = _world(clinic)
    campaign, patient = world["campaign"], world["patient"]
    campaign_page = viewer.get(_url("campaign", campaign)).content.decode()
    assert NAME not in campaign_page and f"campaign__id__exact={campaign.pk}" in campaign_page
    listed = viewer.get(_url("campaignrecipient") + f"?campaign__id__exact={campaign.pk}")
    assert listed.status_code == 200 and "Z. Q. B." in listed.content.decode()
    assert NAME not in listed.content.decode()
    assert NAME in reader.get(_url("campaignrecipient", world["campaignrecipient"])).content.decode()
    (listing,) = _events("campaign_recipient.list")
    assert listing.object_type == "patient" and listing.extra == {"hashes": [patient.hash], "masked": True,
                                                                   "search": False}
    assert _events("campaign_recipient.read", object_id=patient.hash)[0].extra["masked"] is False


@pytest.mark.parametrize("kind,secrets", [("message", (BODY, PHONE)), ("call", (SUMMARY, PHONE))])
def test_messages_and_calls_hide_bodies_and_phones_from_a_viewer(reader, viewer, clinic, kind, secrets):
    obj = _world(clinic)[kind]
    full = reader.get(_url(kind, obj)).content.decode()
    assert all(secret in full for secret in secrets)
    masked = viewer.get(_url(kind, obj)).content.decode()
    assert all(secret not in masked for secret in secrets) and "+351 9•• ••• •46" in masked
    assert [row.extra["masked"] for row in _events(f"{kind}.read", object_id=str(obj.pk))] == [False, True]
    list_page = reader.get(_url(kind)).content.decode()
    assert all(secret not in list_page for secret in secrets)  # the lists hold no personal data: nothing audited
    assert not _events(f"{kind}.list")


# Rows about a patient and the rows beside them: what a reader sees on the row's page, what a viewer sees there
# instead, which audit action the page writes, and whether the list (showing patients) is audited.
ROW_PAGES = {
    "task": (("task", True), (TASK_TITLE, TASK_DESCRIPTION, NAME), ("Z. Q. B.",)),
    "triageresponse": (("triage_response", True), (ANSWER, NAME), ("Z. Q. B.",)),
    "feedbackresponse": (("feedback_response", True), (COMMENT, NAME), ("Z. Q. B.",)),
    "referral": (("referral", True), (REASON, NAME), ("Z. Q. B.",)),
    "videomeeting": (("video_meeting", False), (NAME, PARTICIPANT_ID), ("Z. Q. B.",)),
    "webhookdelivery": (("webhook_delivery", False), (NAME, PHONE, SUMMARY, ERROR_ECHO), ("500",)),
    "patientimport": (("patient_import", False), (NAME, PHONE), ("pacientes.csv",)),
}


@pytest.mark.parametrize("kind", list(ROW_PAGES))
def test_rows_about_patients_are_full_for_a_reader_masked_for_a_viewer_and_audited(reader, viewer, clinic, kind):
    (action, list_audited), secrets, masked_forms = ROW_PAGES[kind]
    obj = _world(clinic)[kind]
    full = reader.get(_url(kind, obj)).content.decode()
    assert all(secret in full for secret in secrets), kind
    masked = viewer.get(_url(kind, obj)).content.decode()
    assert [secret for secret in secrets if secret in masked] == []
    assert all(form in masked for form in masked_forms)
    assert [row.extra["masked"] for row in _events(f"{action}.read", object_id=str(obj.pk))] == [False, True]
    assert all(row.clinic_id == clinic.pk for row in _events(f"{action}.read"))
    listed = viewer.get(_url(kind)).content.decode()
    assert [secret for secret in secrets if secret in listed] == []
    assert [row.extra["ids"] if kind != "task" else row.extra["task_ids"]
            for row in _events(f"{action}.list")] == ([[str(obj.pk)]] if list_audited else [])


def test_the_task_list_shows_titles_to_a_reader_and_hides_them_from_a_viewer(reader, viewer, clinic):
    task = _world(clinic)["task"]
    assert TASK_TITLE in reader.get(_url("task")).content.decode()
    page = viewer.get(_url("task")).content.decode()
    assert TASK_TITLE not in page and task.patient.hash in page
    # The page's title and breadcrumbs name the task by its id: never by its title.
    detail = viewer.get(_url("task", task)).content.decode()
    assert f"task {task.pk}" in detail and TASK_TITLE not in detail
    assert TASK_TITLE not in viewer.get(_url("task", task, "history")).content.decode()


def test_secrets_are_never_shown_not_even_to_a_reader(reader, clinic):
    """Credentials are not personal data to mask: an agent's token shows as its preview, a webhook's signing
    secret and a video participant's join token not at all."""
    world = _world(clinic)
    agent = world["agent"]
    agent_page = reader.get(_url("agent", agent)).content.decode()
    assert agent.token_encrypted not in agent_page and agent.token_digest not in agent_page
    assert agent.token_preview in agent_page
    assert agent.token_encrypted not in reader.get(_url("agent")).content.decode()
    for kind in ("webhookendpoint", "webhookdelivery"):
        for url in (_url(kind), _url(kind, world[kind])):
            assert SIGNING_SECRET not in reader.get(url).content.decode(), url
    meeting_page = reader.get(_url("videomeeting", world["videomeeting"])).content.decode()
    assert NAME in meeting_page and JOIN_TOKEN not in meeting_page


def test_patient_imports_never_show_the_file(reader, clinic):
    patient_import = _world(clinic)["patientimport"]
    patient_import.headers = ["nome", "telefone"]
    patient_import.errors = [{"row": 3, "column": "telefone", "field": "phone", "problem": "phone", "params": {},
                              "message": "Not a valid phone number."}]
    patient_import.save(update_fields=["headers", "errors"])
    page = reader.get(_url("patientimport", patient_import)).content.decode()
    assert "Joana Costa" not in page and "+351912000222" not in page and NAME not in page
    assert "nome, telefone" in page and "Not a valid phone number." in page


def test_webhook_deliveries_say_when_the_next_attempt_is_due(reader, clinic):
    import datetime as dt

    from django.contrib.admin.utils import display_for_value
    from django.utils import timezone

    endpoint = _world(clinic)["webhookendpoint"]
    tried_at = timezone.now().replace(second=0, microsecond=0)  # a minute's start: 30 s later reads the same
    pending = WebhookDelivery.objects.create(endpoint=endpoint, event="conversation.status", event_id="status:1",
                                             attempts=2, last_attempt_at=tried_at, last_status_code=503)
    queued = WebhookDelivery.objects.create(endpoint=endpoint, event="conversation.status", event_id="status:2")
    page = reader.get(_url("webhookdelivery"), {"endpoint__id__exact": endpoint.pk})
    model_admin, rows = page.context["cl"].model_admin, {row.pk: row for row in page.context["cl"].result_list}
    assert set(rows) == {pending.pk, queued.pk, endpoint.deliveries.get(status="failed").pk}
    # Two attempts made: the next one comes 60 s after the second (telephony.outbound_webhooks.backoff_seconds).
    assert model_admin.next_attempt_at(rows[pending.pk]) == display_for_value(tried_at + dt.timedelta(seconds=60), "")
    assert model_admin.next_attempt_at(rows[pending.pk]) != display_for_value(tried_at, "")
    assert model_admin.next_attempt_at(rows[queued.pk]) == "queued"
    assert [model_admin.next_attempt_at(row) for row in rows.values() if row.status == "failed"] == [""]
    endpoint_page = reader.get(_url("webhookendpoint"))
    (listed,) = endpoint_page.context["cl"].result_list
    assert (listed.pending_count, listed.failed_count) == (2, 1)
    assert f"endpoint__id__exact={endpoint.pk}" in reader.get(_url("webhookendpoint", endpoint)).content.decode()


@pytest.mark.parametrize("kind,path", [("task", "patient"), ("referral", "patient"),
                                       ("triageresponse", "appointment__patient"),
                                       ("feedbackresponse", "appointment__patient")])
def test_rows_about_patients_are_found_by_their_patient_through_the_keyed_hashes(reader, clinic, other_clinic,
                                                                                 kind, path):
    """Both worlds' patients are called Zelinda; only the first has PHONE. The other clinic's rows never come."""
    mine, namesake = _world(clinic)[kind], _world(clinic, 1)[kind]
    _world(other_clinic)
    patient = mine.patient if path == "patient" else mine.appointment.patient

    def found(term):
        return {row.pk for row in reader.get(_url(kind), {"q": term}).context["cl"].result_list}

    for term in (PHONE, "913 579 246", patient.hash, str(mine.pk)):
        assert found(term) == {mine.pk}, term
    for term in ("zel qua", "Brito"):
        assert found(term) == {mine.pk, namesake.pk}, term
    assert found("Joana") == set()


def test_agent_list_takes_the_same_queries_for_3_and_for_30_clinics(clinic, django_assert_max_num_queries):
    from clinics.tests.factories import ClinicFactory

    root = sign_in_verified(Client(), User.objects.create_superuser(email="root@frontdesk.local",
                                                                    password="x-long-password-1"))
    for _ in range(3):
        agent_for(ClinicFactory())
    with django_assert_max_num_queries(14) as few:
        root.get(_url("agent"))
    for _ in range(27):
        agent_for(ClinicFactory())
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = root.get(_url("agent"))
    assert len(page.context["cl"].result_list) == 30


def test_appointment_pages_no_longer_show_the_visits_notes(reader, clinic):
    from campaigns.tests.factories import AppointmentFactory

    appointment = AppointmentFactory(clinic=clinic, notes="Alergia-secreta")
    page = reader.get(f"/admin/scheduling/appointment/{appointment.pk}/change/")
    assert page.status_code == 200 and "Alergia-secreta" not in page.content.decode()


# --- search through the keyed hashes ------------------------------------------------------------------------------

def test_patients_are_found_by_name_beginnings_phone_and_hash_without_decrypting(
        reader, clinic, other_clinic, django_assert_max_num_queries):
    maria = PatientFactory(clinic=clinic, name="Maria da Silva", phone="+351912000111")
    PatientFactory(clinic=clinic, name="Joana Costa", phone="+351912000222")
    PatientFactory(clinic=other_clinic, name="Maria da Silva", phone="+351912000111")
    for term in ("mar sil", "Maria", "912 000 111", "+351912000111", maria.hash):
        with django_assert_max_num_queries(12) as captured:
            page = reader.get(_url("patient"), {"q": term})
        assert [row.pk for row in page.context["cl"].result_list] == [maria.pk], term
        # The rows are read already narrowed by the keyed hashes: no query reads the clinic's patients to decrypt.
        reads = [query["sql"] for query in captured.captured_queries
                 if 'FROM "scheduling_patient"' in query["sql"] and "COUNT(*)" not in query["sql"]]
        assert reads and all('"scheduling_patient"."hash" = ' in sql for sql in reads), term
    assert not list(reader.get(_url("patient"), {"q": "Silvana"}).context["cl"].result_list)


def test_notes_are_found_by_name_beginnings(reader, clinic, other_clinic):
    note = NoteFactory(clinic=clinic, name="Rex Bobby")
    NoteFactory(clinic=clinic, name="Tareco")
    NoteFactory(clinic=other_clinic, name="Rex Bobby")
    for term in ("re bob", "Rex", str(note.pk), note.external_id):
        assert [row.pk for row in reader.get(_url("note"), {"q": term}).context["cl"].result_list] == [note.pk]


# --- bounded queries ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", [kind for kind in APP if kind != "agent"])  # one agent per clinic: below
def test_lists_take_the_same_queries_for_3_and_for_30_rows(reader, clinic, kind,
                                                           django_assert_max_num_queries):
    for n in range(1, 4):
        _world(clinic, n)
    with django_assert_max_num_queries(14) as few:
        reader.get(_url(kind))
    for n in range(4, 31):
        _world(clinic, n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = reader.get(_url(kind))
    assert len(page.context["cl"].result_list) == 30


# --- RGPD export and erasure: confirmed actions of the services --------------------------------------------------

def _act(signed_in, action, patients, **extra):
    return signed_in.post(_url("patient"), {"action": action, "index": 0,
                                            helpers.ACTION_CHECKBOX_NAME: [patient.pk for patient in patients],
                                            **extra})


def test_export_is_confirmed_then_downloads_every_patient_through_the_service(reader, clinic):
    maria, joana = PatientFactory(clinic=clinic, name=NAME), PatientFactory(clinic=clinic)
    confirm = _act(reader, "export_selected", [maria, joana])
    assert confirm.status_code == 200 and NAME not in confirm.content.decode()
    assert maria.hash in confirm.content.decode() and not _events("patient.exported")
    response = _act(reader, "export_selected", [maria, joana], confirmed="yes")
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert {item["patient"]["hash"] for item in data["patients"]} == {maria.hash, joana.hash}
    assert NAME in {item["patient"]["name"] for item in data["patients"]}
    assert {row.object_id for row in _events("patient.exported")} == {maria.hash, joana.hash}


def test_erasure_needs_the_typed_word_then_goes_through_the_service(reader, clinic):
    world = _world(clinic)
    patient, note = world["patient"], world["note"]
    assert _act(reader, "erase_selected", [patient]).status_code == 200
    wrong = _act(reader, "erase_selected", [patient], confirmed="yes", confirm_word="yes")
    assert wrong.status_code == 200 and "Type ERASE to confirm." in wrong.content.decode()
    patient.refresh_from_db()
    assert patient.name == NAME
    done = _act(reader, "erase_selected", [patient], confirmed="yes", confirm_word="erase")
    assert done.status_code == 302
    patient.refresh_from_db()
    assert patient.name == "" and patient.phone == "" and "erased" in patient.tags
    note.refresh_from_db()
    assert TRANSCRIPT not in note.transcript  # every app erased its part: the service's signal ran
    (event,) = _events("patient.erased", object_id=patient.hash)
    assert event.actor_label == "reader@frontdesk.local" and event.purpose == "support: right to erasure"


def test_a_viewer_can_neither_export_nor_erase(viewer, clinic):
    patient = PatientFactory(clinic=clinic, name=NAME)
    page = viewer.get(_url("patient"))
    assert set(page.context["cl"].model_admin.get_actions(page.wsgi_request)) == set()
    for action in ("export_selected", "erase_selected"):
        response = _act(viewer, action, [patient], confirmed="yes", confirm_word="ERASE")
        assert response.status_code in (200, 302) and response.get("Content-Type", "").startswith("text/html")
    patient.refresh_from_db()
    assert patient.name == NAME and not _events("patient.exported") and not _events("patient.erased")


# --- the audit walk: every admin page showing a seeded secret wrote a row naming it ----------------------------

def test_every_admin_page_that_shows_personal_data_writes_an_audit_row(clinic):
    from django.contrib import admin

    from tests import test_pii_audit_walk as walk

    root = sign_in_verified(Client(), User.objects.create_superuser(email="root@frontdesk.local",
                                                                    password="x-long-password-1"))
    world = walk.seed(clinic)
    by_model = {}
    for obj in world.values():
        by_model.setdefault(type(obj), []).append(obj)
    problems, shown_anywhere = [], set()
    for model in admin.site._registry:
        base = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        urls = [base] + [f"{base}{obj.pk}/change/" for obj in by_model.get(model, [])]
        for url in urls:
            before = set(AuditEvent.objects.values_list("pk", flat=True))
            body = root.get(url).content.decode()
            shown = {name for name, secret in walk.SECRETS.items() if secret in body}
            if not shown:
                continue
            shown_anywhere |= shown
            named = set()
            for event in AuditEvent.objects.exclude(pk__in=before).filter(actor_kind="user"):
                named |= {event.object_id} | walk._named(event.extra)
            if not named & walk._ids(world.values()):
                problems.append((url, sorted(shown)))
    assert not problems
    assert {"patient name", "note transcript", "note section", "sms body", "call summary", "task title",
            "task description", "triage answer", "feedback comment", "referral reason", "video participant",
            "webhook payload"} <= shown_anywhere
