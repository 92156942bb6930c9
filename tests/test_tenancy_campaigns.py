"""Tenancy of ids in campaign and task bodies: another clinic's service (a campaign audience), contact or member (a
task) is refused like an unknown id, and nothing is created."""
import pytest

from campaigns import bulk
from campaigns.models import Campaign, Task
from campaigns.tests.factories import EngagementPatientFactory
from clinics.errors import InvalidInput
from clinics.tests.factories import MembershipFactory
from scheduling.tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db


def test_a_campaign_for_another_clinics_service_is_refused_like_an_unknown_one(clinic, other_clinic):
    theirs = ServiceFactory(clinic=other_clinic)

    with pytest.raises(InvalidInput) as refused:
        bulk.campaign_send(clinic=clinic, name="Gripe", message="Olá", audience=bulk.Audience(service_id=theirs.id))

    assert refused.value.details == {"audience": {"serviceId": ["No such service."]}}
    assert not Campaign.objects.exists()


def test_a_task_about_another_clinics_contact_is_refused_and_creates_nothing(client_for, other_clinic):
    theirs = EngagementPatientFactory(clinic=other_clinic)

    response = client_for.post("/api/v1/tasks", {"title": "Ligar", "contactId": theirs.hash}, format="json")

    assert response.status_code == 400 and "contactId" in response.content.decode()
    assert not Task.objects.exists()


def test_a_task_for_another_clinics_member_is_refused_and_creates_nothing(client_for, other_clinic):
    theirs = MembershipFactory(clinic=other_clinic)

    response = client_for.post("/api/v1/tasks", {"title": "Ligar", "assignee": str(theirs.id)}, format="json")

    assert response.status_code == 400 and "assignee" in response.content.decode()
    assert not Task.objects.exists()


def test_the_console_refuses_a_task_about_another_clinics_patient_and_creates_nothing(client, clinic, other_clinic):
    from django.urls import reverse

    from clinics.models import Membership
    from clinics.tests.factories import sign_in_verified

    theirs = EngagementPatientFactory(clinic=other_clinic)
    sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)

    response = client.post(reverse("campaigns:tasks"), {"title": "Ligar", "patient": theirs.hash})

    assert response.status_code == 400  # the form again, with its error
    assert not Task.objects.exists()


def test_the_home_activity_counts_this_clinics_bookings_and_calls_only(clinic, other_clinic):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from campaigns.home import activity_by_day
    from scheduling.tests.factories import AppointmentFactory
    from telephony.tests.factories import CallFactory

    today = dt.datetime.now(ZoneInfo(clinic.timezone)).date()
    AppointmentFactory(professional__clinic=other_clinic,
                       starts_at=dt.datetime.combine(today + dt.timedelta(days=2), dt.time(10),
                                                     tzinfo=ZoneInfo(clinic.timezone)))
    CallFactory(clinic=other_clinic)

    activity = activity_by_day(clinic, start_day=today - dt.timedelta(days=1), days=3)

    assert sum(activity["bookings"]) == 0 and sum(activity["calls"]) == 0


def test_an_appointment_never_gets_another_clinics_default_triage_questionnaire(clinic, other_clinic):
    import datetime as dt

    from django.utils import timezone

    from campaigns.models import TriageQuestionnaire
    from campaigns.selectors import questionnaire_for
    from scheduling.tests.factories import AppointmentFactory

    TriageQuestionnaire.objects.create(clinic=other_clinic, title="Da outra clínica", questions=[
        {"id": "q1", "label": "Pergunta alheia", "type": "text", "required": False}])
    appointment = AppointmentFactory(professional__clinic=clinic, starts_at=timezone.now() + dt.timedelta(days=2))

    assert questionnaire_for(appointment) is None

    own = TriageQuestionnaire.objects.create(clinic=clinic, title="Desta clínica", questions=[])
    assert questionnaire_for(appointment) == own


def test_the_dashboard_counts_this_clinics_open_tasks_only(clinic, other_clinic):
    import datetime as dt

    from django.utils import timezone

    from campaigns.selectors import dashboard_stats
    from campaigns.tests.factories import TaskFactory

    TaskFactory(clinic=other_clinic)
    TaskFactory(clinic=clinic)
    now = timezone.now()

    assert dashboard_stats(clinic, now - dt.timedelta(days=30), now)["openTasks"] == 1


def _console_admin(client, clinic):
    from clinics.models import Membership
    from clinics.tests.factories import sign_in_verified

    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)


def test_closing_another_clinics_task_from_the_console_is_404_and_changes_nothing(client, clinic, other_clinic):
    from django.urls import reverse

    from campaigns.tests.factories import TaskFactory

    theirs = TaskFactory(clinic=other_clinic)
    _console_admin(client, clinic)

    response = client.post(reverse("campaigns:task_status", args=[theirs.pk]), {"status": Task.Status.DONE})

    assert response.status_code == 404
    assert Task.objects.get(pk=theirs.pk).status == Task.Status.OPEN


def test_the_triage_questions_page_never_shows_another_clinics_default_questionnaire(client, clinic, other_clinic):
    from django.urls import reverse

    from campaigns.models import TriageQuestionnaire

    TriageQuestionnaire.objects.create(clinic=other_clinic, title="Da outra clínica", questions=[
        {"id": "q1", "label": "Pergunta exclusiva da outra clinica", "type": "text", "required": False}])
    _console_admin(client, clinic)

    page = client.get(reverse("campaigns:triage_questions"))

    assert page.status_code == 200
    assert "Pergunta exclusiva da outra clinica" not in page.content.decode()
