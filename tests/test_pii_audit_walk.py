"""Issue 12's must-show: "every route that returns PII writes an audit row (a test walks the schema's routes)".

Clinic A gets one object of every kind that holds personal data, each carrying a recognisable secret. Every GET
route of the URL resolver is then called by someone who may read personal data: on the API surfaces an API key with
read+pii and a dashboard JWT of an admin, on the console a signed-in, two-factor-verified admin. Whenever an answer
carries a secret, the request must have written an audit row naming what it read (its `object_id`, or ids in
`extra`): one row per request, not one per object.

Path parameters name the seeded objects (BY_PARAMETER by the parameter's name, PII_ROUTES for a bare `pk`) or,
for routes about objects that hold no personal data, come from the tenancy walks' factories. A route with a path
parameter that none of these knows fails the walk by name, so a new route must say how to fill it. Token routes (the token is the credential of the person the data is about) are skipped
with the walks' own reasons.
"""
import datetime as dt
import re

import pytest
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from rest_framework.test import APIClient

from clinics.views import console_page

from tests import test_console_tenancy_walk as console_walk
from tests import test_tenancy_walk as api_walk
from tests import walks

pytestmark = pytest.mark.django_db

SECRETS = {
    "patient name": "Zelinda Quaresma Brito",
    "patient phone": "+351913579246",
    "patient e-mail": "zelinda.quaresma@example.pt",
    "appointment notes": "Alergia-secreta-a-penicilina",
    "call summary": "Resumo-secreto-da-chamada",
    "call transcript": "Transcricao-secreta-da-chamada",
    "call phone": "+351966554433",
    "sms body": "Corpo-secreto-do-sms",
    "whatsapp body": "Corpo-secreto-do-whatsapp",
    "note name": "Nome-secreto-da-nota",
    "note transcript": "Transcricao-secreta-da-nota",
    "note section": "Seccao-secreta-da-nota",
    "task title": "Tarefa-secreta-ligar",
    "task description": "Descricao-secreta-da-tarefa",
    "referral reason": "Motivo-secreto-do-encaminhamento",
    "video participant": "Participante-secreto-do-video",
    "triage answer": "Resposta-secreta-da-triagem",
    "feedback comment": "Comentario-secreto-do-feedback",
    "webhook payload": "Sumario-secreto-do-webhook",
}
# Seeded but shown by no GET route: the walk checks that, and the reason is kept here.
SHOWN_BY_NO_GET = {
    "video participant": "only the answer of POST /api/dyte/participants, the write that creates it, names one",
    "webhook payload": "outgoing webhook deliveries are shown by Django admin only (tests/test_admin_pii.py walks it)",
}
# A campaign's message is the clinic's template ("Olá {name}"), not personal data: its recipients are the patients.


def seed(clinic):
    """One object of every kind holding personal data in `clinic`, each with its secret; returns them by name."""
    from campaigns import services as campaign_services
    from campaigns.models import Campaign, CampaignRecipient
    from campaigns.tests.factories import AppointmentFactory, TaskFactory
    from campaigns.tests.factories import EngagementPatientFactory as PatientFactory
    from notes.tests.factories import NoteFactory, NoteSectionFactory
    from scheduling.models import PatientImport
    from scheduling.tests.factories import ProfessionalFactory
    from telephony import services as telephony_services
    from telephony.models import Message, Referral, VideoMeeting, VideoParticipant, WebhookDelivery, WebhookEndpoint
    from telephony.tests.factories import CallFactory

    patient = PatientFactory(clinic=clinic, name=SECRETS["patient name"], phone=SECRETS["patient phone"],
                             email=SECRETS["patient e-mail"])
    starts_at = (timezone.now() + dt.timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    appointment = AppointmentFactory(clinic=clinic, patient=patient, notes=SECRETS["appointment notes"],
                                     starts_at=starts_at)
    link, _message = campaign_services.triage_link_send(clinic=clinic, appointment=appointment)
    triage = campaign_services.triage_submit(link=link, submitted={"reason": SECRETS["triage answer"],
                                                                   "allergies": "yes"})
    seen = AppointmentFactory(clinic=clinic, patient=patient, status="completed",
                              starts_at=starts_at - dt.timedelta(days=3))
    feedback = campaign_services.feedback_submit(link=campaign_services.feedback_request(appointment=seen),
                                                 score=9, comment=SECRETS["feedback comment"])
    call = CallFactory(clinic=clinic, phone_number=SECRETS["call phone"], summary=SECRETS["call summary"],
                       transcript=[{"role": "user", "message": SECRETS["call transcript"], "time_in_call_secs": 1}])
    sms = telephony_services.message_queue(clinic=clinic, to=SECRETS["patient phone"], body=SECRETS["sms body"])
    whatsapp = telephony_services.message_queue(clinic=clinic, to=SECRETS["patient phone"],
                                                body=SECRETS["whatsapp body"], channel=Message.Channel.WHATSAPP)
    note = NoteFactory(clinic=clinic, patient=patient, name=SECRETS["note name"],
                       transcript=SECRETS["note transcript"])
    section = NoteSectionFactory(note=note, content=SECRETS["note section"])
    task = TaskFactory(clinic=clinic, patient=patient, title=SECRETS["task title"],
                       description=SECRETS["task description"])
    meeting = VideoMeeting.objects.create(clinic=clinic, provider="local", provider_meeting_id=f"pii-{clinic.pk}",
                                          title="Reunião")
    participant = VideoParticipant.objects.create(clinic=clinic, meeting=meeting, provider_participant_id="p-1",
                                                  name=SECRETS["video participant"],
                                                  custom_participant_id="patient-7781", preset_name="participant")
    referral = Referral.objects.create(clinic=clinic, requesting_professional=ProfessionalFactory(clinic=clinic),
                                       specialist=ProfessionalFactory(clinic=clinic), patient=patient,
                                       reason=SECRETS["referral reason"], meeting=meeting)
    campaign = Campaign.objects.create(clinic=clinic, name="Vacinas", message="Olá {name}",
                                       status=Campaign.Status.SENDING)
    recipient = CampaignRecipient.objects.create(clinic=clinic, campaign=campaign, patient=patient)
    endpoint = WebhookEndpoint.objects.create(clinic=clinic, url="https://hooks.example.com/frontdesk",
                                              secret="whsec_walk", events=["conversation.end_report"])
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="conversation.end_report", event_id=f"conversation.end_report:{call.pk}",
        payload={"event": "conversation.end_report", "data": {"call_id": str(call.pk),
                                                               "summary": SECRETS["webhook payload"]}})
    # A file not yet imported, without a header row: its first row, read as the headers, is a patient's. It is
    # shown (to readers, audited) by /v1's imports, the console's column choice and the admin; no other row is.
    patient_import = PatientImport.objects.create(
        clinic=clinic, filename="pacientes.csv", headers=[SECRETS["patient name"], SECRETS["patient phone"]],
        total_rows=1, content=f"{SECRETS['patient name']},{SECRETS['patient phone']}\n")
    return {"patient": patient, "appointment": appointment, "call": call, "sms": sms, "whatsapp": whatsapp,
            "note": note, "section": section, "task": task, "meeting": meeting, "participant": participant,
            "referral": referral, "campaign": campaign, "recipient": recipient, "triage": triage,
            "feedback": feedback, "past appointment": seen, "webhook endpoint": endpoint,
            "webhook delivery": delivery, "patient import": patient_import}


# How a path parameter names a seeded object, whatever the route (a new route taking one of these is filled with
# the seeded object without registering it): parameter -> world -> value.
BY_PARAMETER = {
    "hash": lambda w: w["patient"].hash,
    "patient_hash": lambda w: w["patient"].hash,
    "patient_id": lambda w: w["patient"].pk,
    "appointment_id": lambda w: w["appointment"].pk,
    "conversation_id": lambda w: w["call"].conversation_id,
    "campaign_id": lambda w: w["campaign"].pk,
    "note_id": lambda w: w["note"].pk,
    "section_id": lambda w: w["section"].pk,
    "task_id": lambda w: w["task"].pk,
    "referral_id": lambda w: w["referral"].pk,
    "meeting_id": lambda w: w["meeting"].pk,
}

# Routes whose parameter names no kind by itself (`pk`): route -> world -> URL kwargs.
PII_ROUTES = {
    "v1/appointments/<uuid:pk>": lambda w: {"pk": w["appointment"].pk},
    "v1/patients/<str:hash>": lambda w: {"hash": w["patient"].hash},
    "v1/calls/<uuid:pk>": lambda w: {"pk": w["call"].pk},
    "v1/calls/<uuid:pk>/callback": lambda w: {"pk": w["call"].pk},
    "v1/calls/<uuid:pk>/recording": lambda w: {"pk": w["call"].pk},
    "v1/campaigns/<uuid:pk>": lambda w: {"pk": w["campaign"].pk},
    "v1/campaigns/<uuid:pk>/cancel": lambda w: {"pk": w["campaign"].pk},
    "console/calls/<uuid:pk>/": lambda w: {"pk": w["call"].pk},
}

# Query strings some list routes need to list anything (the seeded appointment is tomorrow).
WINDOW = {"from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}
QUERIES = {
    "v1/appointments": WINDOW,
    "api/v1/appointments": WINDOW,
    "console/notes/<uuid:note_id>/export/": {"format": "txt"},
    "api/agents/knowledge-base/answer": {"question": "When are you open?"},
}

# GET routes that answer 400 without parameters the walk cannot make up, and show no patient with them.
REFUSED_WITHOUT_PARAMETERS = {"oauth/^authorize/?$": "OAuth consent: needs an application's signed request"}

# Routes not walked, with the reason: the token in the path is the credential of the person the data is about.
SKIPPED = {**console_walk.PUBLIC_ROUTES, **api_walk.EXEMPT_ROUTES,
           "logout/": "would end the walker's session mid-walk"}


# Which seeded objects an audit row may name for each secret shown: the object holding it, or the patient it is
# about (a patient's page shows their appointments, messages and tasks under one patient.read row).
HOLDERS = {
    "appointment notes": {"appointment", "patient"},
    "call summary": {"call"}, "call transcript": {"call"}, "call phone": {"call"},
    "sms body": {"sms", "patient"}, "whatsapp body": {"whatsapp", "patient"},
    "note name": {"note", "patient"}, "note transcript": {"note", "patient"}, "note section": {"note", "patient"},
    "task title": {"task", "patient"}, "task description": {"task", "patient"},
    "referral reason": {"referral", "patient"}, "video participant": {"participant", "meeting", "referral"},
    "triage answer": {"triage", "appointment", "patient"},
    "feedback comment": {"feedback", "past appointment", "patient"},
    "webhook payload": {"webhook delivery"},
}  # the patient's own name, phone and e-mail appear beside any of their objects: any seeded object will do


def _ids(objects):
    """Every identifier an audit row may use to name one of these objects."""
    ids = set()
    for obj in objects:
        ids.add(str(obj.pk))
        for attribute in ("hash", "conversation_id"):
            if getattr(obj, attribute, None):
                ids.add(str(getattr(obj, attribute)))
    return ids


def _named(value):
    """Every string held in an audit row's extra (ids lists, hashes...)."""
    if isinstance(value, dict):
        return {item for nested in value.values() for item in _named(nested)}
    if isinstance(value, (list, tuple)):
        return {item for nested in value for item in _named(nested)}
    return {str(value)}


def _clients(clinic, jwt_client_for):
    from django.test import Client

    from clinics.models import Membership
    from clinics.tests.factories import MembershipFactory, issue_key, sign_in_verified

    admin = MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN)
    key = APIClient()
    key.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_key(clinic, permissions=('read', 'pii'))}")
    return {"api key read+pii": key, "admin JWT": jwt_client_for(admin),
            "console admin": sign_in_verified(Client(), admin.user)}


def _all_routes():
    """(route, surface) for every route but Django admin: "api" for the API prefixes, else "console"."""
    return [(route, "api") for route, _pattern in api_walk.api_routes()] + [
        (route, "jwt" if route in console_walk.JWT_ROUTES else "console")
        for route, _pattern in console_walk.console_routes()]


def run_walk(pii_routes, jwt_client_for):
    """GET every route as a reader of personal data of clinic A; returns (unknown routes, problems, the labels
    of the secrets some answer showed)."""
    from clinics.models import AuditEvent
    from clinics.tests.factories import ClinicFactory

    clinic = ClinicFactory(name="Clínica Auditada", slug="clinica-auditada")
    clients = _clients(clinic, jwt_client_for)
    world = seed(clinic)
    known_ids = {label: _ids(world[name] for name in HOLDERS.get(label, world)) for label in SECRETS}
    fallback = {**api_walk.OBJECT_ROUTES, **console_walk.OBJECT_ROUTES}

    unknown, problems, seen = [], [], set()
    for route, surface in _all_routes():
        if route in SKIPPED or route.startswith(api_walk.EXEMPT_PREFIXES):
            continue
        parameters = re.findall(r"<(?:[^>:]+:)?(\w+)>", route)
        if parameters:
            if route in pii_routes:
                kwargs = pii_routes[route](world)
            elif all(parameter in BY_PARAMETER for parameter in parameters):
                kwargs = {parameter: BY_PARAMETER[parameter](world) for parameter in parameters}
            elif route in fallback:
                kwargs = fallback[route](clinic)[0]
            else:
                unknown.append(route)
                continue
        else:
            kwargs = {}
        url = walks.fill(route, kwargs)
        names = {"api": ["api key read+pii", "admin JWT"], "jwt": ["admin JWT"], "console": ["console admin"]}
        for name in names[surface]:
            before = set(AuditEvent.objects.values_list("pk", flat=True))
            response = clients[name].get(url, QUERIES.get(route, {}))
            text = console_walk._text(response)
            shown = sorted(label for label, secret in SECRETS.items() if secret in text)
            if response.status_code >= 500:
                problems.append(f"GET {url} as {name}: {response.status_code}")
            if response.status_code == 400 and route not in REFUSED_WITHOUT_PARAMETERS:
                problems.append(f"GET {url} as {name}: 400, so the walk saw nothing; add its query to QUERIES")
            if not shown:
                continue
            seen.update(shown)
            rows = list(AuditEvent.objects.exclude(pk__in=before))
            named = set()
            for row in rows:
                named |= {row.object_id} | _named(row.extra)
            if not rows:
                problems.append(f"GET {url} as {name}: shows {shown} and writes no audit row")
            elif [label for label in shown if not named & known_ids[label]]:
                problems.append(f"GET {url} as {name}: shows {shown}; its audit rows "
                                f"{[row.action for row in rows]} do not name the holders of "
                                f"{[label for label in shown if not named & known_ids[label]]}")
            elif len(rows) > 1:
                problems.append(f"GET {url} as {name}: {len(rows)} audit rows {[row.action for row in rows]}, "
                                "one per request expected")
    return unknown, problems, seen


@pytest.fixture
def generous_limits(monkeypatch):
    """The walk sends more than a minute's allowance from one address."""
    from clinics.api import throttles

    monkeypatch.setattr(throttles.DashboardRateThrottle, "user_per_minute", 10_000)
    monkeypatch.setattr(throttles.DashboardRateThrottle, "ip_per_minute", 10_000)
    monkeypatch.setattr(throttles.NotesRateThrottle, "per_minute", 10_000)


def test_every_route_that_shows_personal_data_writes_one_audit_row_naming_what_it_read(generous_limits,
                                                                                        jwt_client_for):
    unknown, problems, seen = run_walk(PII_ROUTES, jwt_client_for)

    assert not unknown, ("These routes take a path parameter the PII audit walk cannot fill: add them to "
                         f"PII_ROUTES of tests/test_pii_audit_walk.py (or to a tenancy walk's table): {unknown}")
    assert not problems, "\n".join(problems)
    # The walk proves something only if the secrets did come out: every kind was shown by some route.
    assert set(SECRETS) - seen == set(SHOWN_BY_NO_GET)


# --- The walk's own proof: a console page that shows a patient without an audit row, and one nobody registered.

LEAKY_ROUTE = "console/pii-walk-leaky/<str:patient_hash>/"  # filled by BY_PARAMETER
UNREGISTERED_ROUTE = "console/pii-walk-unregistered/<str:patient_ref>/"


@console_page
def _unaudited_patient_page(request, patient_hash="", patient_ref=""):
    """Shows a patient's name and writes no audit row."""
    from scheduling.models import Patient

    return HttpResponse(Patient.objects.for_clinic(request.clinic).get(hash=patient_hash or patient_ref).name)


class LeakyUrls:
    """The URLconf of the self-test: the project's routes plus the two above."""

    @property
    def urlpatterns(self):
        from config.urls import urlpatterns as project_urlpatterns

        return [path(LEAKY_ROUTE, _unaudited_patient_page), path(UNREGISTERED_ROUTE, _unaudited_patient_page),
                *project_urlpatterns]


def test_the_walk_catches_an_unaudited_route_and_an_unregistered_one(generous_limits, settings, jwt_client_for):
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = LeakyUrls()
    clear_url_caches()
    try:
        unknown, problems, _seen = run_walk(PII_ROUTES, jwt_client_for)
    finally:
        clear_url_caches()
    assert unknown == [UNREGISTERED_ROUTE]
    assert len(problems) == 1, problems
    assert problems[0].startswith("GET /console/pii-walk-leaky/") and problems[0].endswith(
        "shows ['patient name'] and writes no audit row"), problems


def test_registrations_name_real_routes():
    """A stale registration would fill nothing, but it misleads the reader: every entry must still exist."""
    existing = {route for route, _surface in _all_routes()}
    stale = sorted((set(PII_ROUTES) | set(QUERIES) | set(REFUSED_WITHOUT_PARAMETERS)) - existing)
    assert not stale, f"Registered routes that no longer exist: {stale}"
