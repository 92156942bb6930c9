"""Tenancy filters that stand behind another one ("defence in depth"): the rows they read are already narrowed to
this clinic's patient, appointment, service or campaign. The database does not forbid a row whose own clinic is
another one while its patient or appointment is this clinic's (corrupted or legacy data, a bug in a future writer):
these tests create such rows directly with the ORM, beside this clinic's own, and check that this clinic's RGPD
export, erasure, patient page, timeline, campaign audience, booking by phone and questionnaires neither show nor
touch the other clinic's row. Each was checked against the mutant that drops its filter (docs/testing.md,
"Tenancy run, stop 21")."""
import datetime as dt
import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from campaigns.models import FeedbackResponse, Reminder, Task, TriageQuestionnaire, TriageResponse
from campaigns.tests.factories import AppointmentFactory, EngagementPatientFactory, EngagementServiceFactory
from clinics.models import Membership
from clinics.tests.factories import ClinicFactory, MembershipFactory, sign_in_verified
from notes.models import Note
from notes.tests.factories import NoteFactory

pytestmark = pytest.mark.django_db


def _answers(text):
    return json.dumps([{"question": "Dor?", "answer": text}])


@pytest.fixture
def crossed():
    """Clinic A's patient with A's own triage answers, feedback, reminder, task and note, and clinic B's rows
    (clinic B) pointing at A's patient or A's appointments."""
    clinic, other = ClinicFactory(), ClinicFactory()
    patient = EngagementPatientFactory(clinic=clinic)
    first = AppointmentFactory(clinic=clinic, patient=patient)
    second = AppointmentFactory(clinic=clinic, patient=patient, starts_at=first.starts_at + dt.timedelta(days=7))
    own = {
        "triage": TriageResponse.objects.create(clinic=clinic, appointment=first, answers_json=_answers("OWN-TRIAGE")),
        "feedback": FeedbackResponse.objects.create(clinic=clinic, appointment=first, professional=first.professional,
                                                    score=9, comment="OWN-FEEDBACK"),
        "reminder": Reminder.objects.create(clinic=clinic, appointment=first, state=Reminder.State.SENT),
        "task": Task.objects.create(clinic=clinic, patient=patient, title="OWN-TASK", description="OWN-TASK-TEXT"),
        "note": NoteFactory(clinic=clinic, patient=patient, transcript="OWN-NOTE"),
    }
    foreign = {
        "triage": TriageResponse.objects.create(clinic=other, appointment=first,
                                                answers_json=_answers("FOREIGN-TRIAGE")),
        "feedback": FeedbackResponse.objects.create(clinic=other, appointment=second,
                                                    professional=second.professional, score=3,
                                                    comment="FOREIGN-FEEDBACK"),
        "reminder": Reminder.objects.create(clinic=other, appointment=second, state=Reminder.State.SENT,
                                            reply="FOREIGN"),
        "task": Task.objects.create(clinic=other, patient=patient, title="FOREIGN-TASK",
                                    description="FOREIGN-TASK-TEXT"),
        "note": NoteFactory(clinic=other, patient=patient, transcript="FOREIGN-NOTE"),
    }
    return clinic, patient, own, foreign, (first, second)


def test_an_rgpd_export_never_holds_another_clinics_rows_pointing_at_this_clinics_patient(crossed):
    from scheduling.patients import export_patient

    clinic, patient, own, foreign, (first, _second) = crossed

    exported = export_patient(patient)

    text = json.dumps(exported, default=str)
    for marker in ("OWN-TRIAGE", "OWN-FEEDBACK", "OWN-TASK", str(own["note"].pk)):
        assert marker in text
    for marker in ("FOREIGN-TRIAGE", "FOREIGN-FEEDBACK", "FOREIGN-TASK", str(foreign["note"].pk)):
        assert marker not in text
    assert [row["appointmentId"] for row in exported["reminders"]] == [str(first.pk)]


def test_erasing_a_patient_never_touches_another_clinics_rows_pointing_at_them(crossed):
    from scheduling.patients import erase_patient

    clinic, patient, own, foreign, _appointments = crossed

    erase_patient(patient)

    assert TriageResponse.objects.get(pk=own["triage"].pk).answers_json == ""
    assert FeedbackResponse.objects.get(pk=own["feedback"].pk).comment == ""
    assert Task.objects.get(pk=own["task"].pk).description == ""
    assert Note.objects.get(pk=own["note"].pk).transcript == ""
    assert TriageResponse.objects.get(pk=foreign["triage"].pk).answers == [{"question": "Dor?",
                                                                            "answer": "FOREIGN-TRIAGE"}]
    assert FeedbackResponse.objects.get(pk=foreign["feedback"].pk).comment == "FOREIGN-FEEDBACK"
    kept = Task.objects.get(pk=foreign["task"].pk)
    assert (kept.title, kept.description) == ("FOREIGN-TASK", "FOREIGN-TASK-TEXT")
    assert Note.objects.get(pk=foreign["note"].pk).transcript == "FOREIGN-NOTE"


def test_the_patients_timeline_never_shows_another_clinics_rows_pointing_at_them(crossed):
    from campaigns.timeline import patient_events as engagement_events
    from notes.timeline import patient_events as note_events

    clinic, patient, own, foreign, _appointments = crossed

    engagement = engagement_events(patient, full=True)
    notes = note_events(patient, full=True)

    assert sorted(entry.kind for entry in engagement) == ["feedback", "triage"]
    shown = " ".join(f"{entry.title} {entry.detail}" for entry in engagement)
    assert "OWN-TRIAGE" in shown and "FOREIGN-TRIAGE" not in shown and "FOREIGN-FEEDBACK" not in shown
    [score] = [entry.title for entry in engagement if entry.kind == "feedback"]
    assert "9" in score and "3" not in score
    assert [entry.url for entry in notes] == [reverse("notes:detail", args=[own["note"].pk])]


def test_the_console_patient_page_never_shows_another_clinics_rows_pointing_at_the_patient(client, crossed):
    clinic, patient, own, foreign, _appointments = crossed
    sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)

    page = client.get(reverse("campaigns:patient", args=[patient.hash])).content.decode()

    assert "OWN-TRIAGE" in page and "OWN-FEEDBACK" in page and "OWN-TASK" in page
    assert "FOREIGN-TRIAGE" not in page and "FOREIGN-FEEDBACK" not in page and "FOREIGN-TASK" not in page


def test_another_clinics_visits_of_this_clinics_patient_never_put_them_in_a_campaign_audience():
    from campaigns import bulk
    from scheduling.tests.factories import ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    service = EngagementServiceFactory(clinic=clinic)
    patient = EngagementPatientFactory(clinic=clinic)
    # Visits in clinic B's books: B's professional, this clinic's patient and service.
    for starts_at in (dt.datetime(2026, 1, 5, 10, tzinfo=dt.timezone.utc),
                      dt.datetime(2099, 1, 5, 10, tzinfo=dt.timezone.utc)):
        AppointmentFactory(clinic=other, professional=ProfessionalFactory(clinic=other), patient=patient,
                           service=service, starts_at=starts_at)

    by_service = bulk.audience_queryset(clinic, bulk.Audience(service_id=service.id))
    coming = bulk.audience_queryset(clinic, bulk.Audience(has_future_appointment=True))

    assert list(by_service) == [] and list(coming) == []
    AppointmentFactory(clinic=clinic, patient=patient, service=service,
                       starts_at=dt.datetime(2099, 2, 5, 10, tzinfo=dt.timezone.utc))
    assert list(bulk.audience_queryset(clinic, bulk.Audience(service_id=service.id))) == [patient]
    assert list(bulk.audience_queryset(clinic, bulk.Audience(has_future_appointment=True))) == [patient]


def test_removing_a_services_questions_never_removes_another_clinics_questionnaire_naming_that_service():
    from campaigns.services import questionnaire_save

    clinic, other = ClinicFactory(), ClinicFactory()
    service = EngagementServiceFactory(clinic=clinic)
    own = TriageQuestionnaire.objects.create(clinic=clinic, service=service, questions=[])
    foreign = TriageQuestionnaire.objects.create(clinic=other, service=service, questions=[])

    questionnaire_save(clinic=clinic, service=service, questions=[])

    assert not TriageQuestionnaire.objects.filter(pk=own.pk).exists()
    assert TriageQuestionnaire.objects.filter(pk=foreign.pk).exists()


def test_editing_a_chunk_never_marks_another_clinics_file_for_reprocessing():
    from knowledge.models import KnowledgeFile
    from knowledge.services import chunk_update
    from knowledge.tests.factories import KnowledgeChunkFactory, KnowledgeFileFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    theirs = KnowledgeFileFactory(clinic=other, processed=True)
    ours = KnowledgeFileFactory(clinic=clinic, processed=True)
    crossed_chunk = KnowledgeChunkFactory(clinic=clinic, file=theirs)
    own_chunk = KnowledgeChunkFactory(clinic=clinic, file=ours)

    chunk_update(clinic=clinic, chunk_id=crossed_chunk.pk, actor=None, content="Horário: 9h às 18h.")
    chunk_update(clinic=clinic, chunk_id=own_chunk.pk, actor=None, content="Aceitamos seguros.")

    assert KnowledgeFile.objects.get(pk=theirs.pk).processed is True
    assert KnowledgeFile.objects.get(pk=ours.pk).processed is False


def test_saving_a_clinic_forgets_its_own_agents_cached_token_only():
    from telephony.agents import _token_key, agent_for, agent_for_token

    clinic, other = ClinicFactory(), ClinicFactory()
    ours, theirs = agent_for(clinic), agent_for(other)
    for agent in (ours, theirs):
        assert agent_for_token(agent.token_encrypted) is not None  # now cached

    clinic.save()

    assert cache.get(_token_key(ours.token_digest)) is None
    assert cache.get(_token_key(theirs.token_digest)) is not None


def test_the_phone_agent_books_for_a_caller_whom_another_clinic_holds_at_that_time_in_this_clinics_service(clinic):
    """`appointment_book_for_caller` is idempotent: the caller's active appointment of that service at that time
    is returned instead of a new one. Another clinic's appointment of the same phone is never taken for it."""
    from zoneinfo import ZoneInfo

    from rest_framework.test import APIClient

    from scheduling.models import Appointment
    from scheduling.tests.factories import AppointmentFactory as BookedFactory
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory
    from telephony.agents import agent_for

    caller, other = "+351912000111", ClinicFactory()
    service = ServiceFactory(clinic=clinic, duration_minutes=30, name="Consulta geral")
    ProfessionalFactory(clinic=clinic, services=[service], hours=[(day, "09:00", "11:00") for day in range(6)])
    zone = ZoneInfo(clinic.timezone)
    day = (dt.datetime.now(zone) + dt.timedelta(days=3)).date()
    while day.weekday() == 6:
        day += dt.timedelta(days=1)
    starts_at = dt.datetime.combine(day, dt.time(10), tzinfo=zone)
    theirs = BookedFactory(professional=ProfessionalFactory(clinic=other), service=service, starts_at=starts_at,
                           patient=PatientFactory(clinic=other, phone=caller))
    agent = agent_for(clinic)
    api = APIClient()
    api.credentials(HTTP_X_AGENT_TOKEN=agent.token_encrypted)

    response = api.post(f"/api/agent-actions/book-appointment/{agent.agent_id}", {
        "conversation_id": "conv_1", "patient_name": "Ana Silva", "patient_phone": caller, "date": day.isoformat(),
        "time": "10:00", "service": "consulta geral"}, format="json")

    assert response.status_code == 201 and response.json()["already_booked"] is False
    ours = Appointment.objects.for_clinic(clinic).get()
    assert response.json()["appointment_id"] == str(ours.pk) != str(theirs.pk) and ours.starts_at == starts_at


def test_a_campaign_never_texts_nor_waits_for_recipient_rows_of_another_clinics_patients_or_books():
    """Recipients are written by `campaign_send` from this clinic's audience; a row naming another clinic's patient,
    or one kept in another clinic's books, is neither texted nor counted as pending: the campaign completes."""
    from campaigns import bulk
    from campaigns.models import Campaign, CampaignRecipient
    from telephony.models import Message

    clinic, other = ClinicFactory(), ClinicFactory()
    clinic.booking_rules = {"quiet_hours": {"start": "00:00", "end": "00:00"}}  # no quiet hours: any time of day
    clinic.save(update_fields=["booking_rules"])
    marketing = {"sms": True, "marketing": True}
    ours = EngagementPatientFactory(clinic=clinic, consents=marketing)
    campaign = bulk.campaign_send(clinic=clinic, name="Check-up", message="Olá {name}", audience=bulk.Audience())
    wrong_patient = CampaignRecipient.objects.create(
        clinic=clinic, campaign=campaign, patient=EngagementPatientFactory(clinic=other, consents=marketing))
    wrong_books = CampaignRecipient.objects.create(
        clinic=other, campaign=campaign, patient=EngagementPatientFactory(clinic=other, consents=marketing))

    result = bulk.campaign_batch_send(campaign_id=campaign.id)

    assert (result.sent, result.failed, result.remaining) == (1, 1, 0)
    outbox = Message.objects.filter(purpose__startswith="campaign:")
    assert [message.to_phone for message in outbox] == [ours.phone]
    assert CampaignRecipient.objects.get(pk=wrong_patient.pk).status == CampaignRecipient.Status.FAILED
    assert CampaignRecipient.objects.get(pk=wrong_books.pk).status == CampaignRecipient.Status.PENDING
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.COMPLETED


def test_the_slot_search_never_offers_a_time_the_database_refuses_whatever_clinic_a_row_names():
    """The no-overlap constraint holds per professional, whatever clinic an appointment row names. A row of clinic
    B holding A's professional (legacy or corrupted data) is therefore read by A's slot search and booking check
    too: offering that time would only end in the database's refusal."""
    from zoneinfo import ZoneInfo

    from scheduling.selectors import booking_check, free_slots
    from scheduling.tests.factories import AppointmentFactory as SchedulingAppointmentFactory
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory

    clinic, other = ClinicFactory(timezone="Europe/Lisbon"), ClinicFactory()
    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    professional = ProfessionalFactory(clinic=clinic, services=[service])
    ten = dt.datetime(2027, 1, 11, 10, tzinfo=ZoneInfo("Europe/Lisbon"))
    SchedulingAppointmentFactory(clinic=other, professional=professional, service=ServiceFactory(clinic=other),
                                 patient=PatientFactory(clinic=other), starts_at=ten)
    now = ten - dt.timedelta(days=10)

    starts = {slot.starts_at for slot in free_slots(clinic, service, ten.date(), ten.date(), now=now)}
    check = booking_check(clinic, service, ten, professional=professional)

    assert ten not in starts and ten - dt.timedelta(minutes=30) in starts and ten + dt.timedelta(minutes=30) in starts
    assert check.working == [professional] and check.free == []


def test_the_patients_own_timeline_never_shows_another_clinics_appointments_or_consents_naming_them():
    from clinics.models import AuditEvent
    from scheduling.record import appointment_events, consent_events
    from scheduling.tests.factories import AppointmentFactory as SchedulingAppointmentFactory
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    patient = PatientFactory(clinic=clinic)
    own = SchedulingAppointmentFactory(clinic=clinic, professional=ProfessionalFactory(clinic=clinic, name="OWN-PRO"),
                                       service=ServiceFactory(clinic=clinic), patient=patient,
                                       starts_at=dt.datetime(2027, 1, 11, 10, tzinfo=dt.timezone.utc))
    SchedulingAppointmentFactory(clinic=other, professional=ProfessionalFactory(clinic=other, name="FOREIGN-PRO"),
                                 service=ServiceFactory(clinic=other), patient=patient,
                                 starts_at=dt.datetime(2027, 1, 12, 10, tzinfo=dt.timezone.utc))
    for owner, granted in ((clinic, True), (other, False)):
        AuditEvent.objects.create(clinic=owner, actor_kind="system", action="patient.consent",
                                  object_type="patient", object_id=str(patient.pk),
                                  extra={"kind": "marketing", "granted": granted})

    appointments = appointment_events(patient, full=True)
    consents = consent_events(patient, full=True)

    assert [entry.url for entry in appointments] == [reverse("scheduling:appointment_edit", args=[own.pk])]
    assert "OWN-PRO" in appointments[0].title
    assert len(consents) == 1 and "given" in consents[0].title


def test_a_services_agenda_colour_never_depends_on_another_clinics_services():
    from scheduling.tests.factories import ServiceFactory
    from scheduling.views import SERVICE_PALETTE, service_colours

    clinic, other = ClinicFactory(), ClinicFactory()
    ServiceFactory(clinic=other)  # created first, in another clinic
    ServiceFactory(clinic=other)
    first, second = ServiceFactory(clinic=clinic), ServiceFactory(clinic=clinic)

    colours = service_colours(clinic)

    assert set(colours) == {first.pk, second.pk}
    assert colours[first.pk]["fill"] == SERVICE_PALETTE[0][0] and colours[second.pk]["fill"] == SERVICE_PALETTE[1][0]


def test_the_agenda_never_shows_another_clinics_appointment_row_naming_this_clinics_professional(client):
    from zoneinfo import ZoneInfo

    from scheduling.tests.factories import AppointmentFactory as SchedulingAppointmentFactory
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory

    clinic, other = ClinicFactory(timezone="Europe/Lisbon"), ClinicFactory()
    professional = ProfessionalFactory(clinic=clinic)
    day = dt.datetime(2027, 1, 11, 10, tzinfo=ZoneInfo("Europe/Lisbon"))
    SchedulingAppointmentFactory(clinic=clinic, professional=professional, service=ServiceFactory(clinic=clinic),
                                 patient=PatientFactory(clinic=clinic, name="Own Patient"), starts_at=day)
    SchedulingAppointmentFactory(clinic=other, professional=professional, service=ServiceFactory(clinic=other),
                                 patient=PatientFactory(clinic=other, name="Foreign Patient"),
                                 starts_at=day + dt.timedelta(hours=2))
    sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)

    page = client.get(reverse("scheduling:agenda") + "?date=2027-01-11").content.decode()

    assert "Own Patient" in page and "Foreign Patient" not in page
