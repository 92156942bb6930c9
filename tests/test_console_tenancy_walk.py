"""Issue 11's must-show for the server-rendered side: walk every console route as a member of clinic B.

`tests/test_tenancy_walk.py` walks the API surfaces; this walk takes every OTHER route of the URLconf (console
pages of every app, exports and downloads, the OAuth application pages, the attendance service) except Django admin
(scoped and tested in clinics/tests/test_admin_scoping.py). Each route is either
- an object route, filled from OBJECT_ROUTES with ids of clinic A's objects: GET and POST, as a signed-in,
  two-factor-verified admin of clinic B, answer 404 (405 for a method the route does not take, but at least one
  method must reach the lookup and get 404), show none of A's identifiers, and leave A's objects unchanged;
- a route without path parameters: B's GET answers without a 5xx and without any of A's identifiers;
- or listed in PUBLIC_ROUTES with the reason it carries no clinic of the signed-in member (its token is the
  credential, or it is a public page).

A new route with a path parameter that is in none of these fails the walk by name.

A second walk signs in a VIEWER of clinic A and POSTs to every route (object routes with A's own objects): a
viewer may not change data, so each answer is 403 (405 for a route that takes no POST), except the member's own
settings in VIEWER_MAY_POST and the read pages in READ_PAGES (which answer a POST like a GET), and no row of
clinic A is added, changed or removed. PENDING_VIEWER_FIXES lists the write routes that refuse a viewer with
another status today; the walk fails as soon as their answer changes, so the entry goes once they are fixed.
"""
import datetime as dt
import json

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import path
from django.utils import timezone

from clinics.views import console_page
from tests import walks
from tests.walks import by


# --- Factories: clinic A -> (URL kwargs, objects behind them). Each object must stay unchanged by B's requests.


def _time_off(clinic):
    from scheduling.tests.factories import AvailabilityExceptionFactory, ProfessionalFactory

    starts_at = timezone.now() + dt.timedelta(days=5)
    exception = AvailabilityExceptionFactory(professional=ProfessionalFactory(clinic=clinic), starts_at=starts_at,
                                             ends_at=starts_at + dt.timedelta(hours=4))
    return {"exception_id": exception.pk}, [exception]


def _note_section(clinic):
    from notes.tests.factories import NoteFactory, NoteSectionFactory

    note = NoteFactory(clinic=clinic)
    section = NoteSectionFactory(note=note)
    return {"note_id": note.pk, "section_id": section.pk}, [note, section]


def _checkout(clinic):
    from billing.backends.payments import LocalPaymentsBackend
    from billing.plans import paid_plans

    checkout = LocalPaymentsBackend().create_checkout(
        clinic=clinic, plan=paid_plans()[0], customer_id="", customer_email="",
        success_url="https://clinic.example/ok", cancel_url="https://clinic.example/cancel")
    return {"session": checkout.id}, [clinic]


def _oauth_application(clinic):
    from oauth2_provider.models import get_application_model

    owner = clinic.memberships.select_related("user").first().user
    application = get_application_model().objects.create(
        user=owner, name="Walk app", client_type="public", authorization_grant_type="authorization-code",
        redirect_uris="https://integration.example/callback")
    return {"pk": application.pk}, [application]


def _oauth_token(clinic):
    from oauth2_provider.models import get_access_token_model

    (kwargs, (application,)) = _oauth_application(clinic)
    token = get_access_token_model().objects.create(
        user=application.user, application=application, token=f"walk-{application.pk}", scope="read",
        expires=timezone.now() + dt.timedelta(hours=1))
    return {"pk": token.pk}, [application, token]


def _referral_meeting(clinic):
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory
    from telephony.models import Referral, VideoMeeting

    meeting = VideoMeeting.objects.create(clinic=clinic, provider="local", provider_meeting_id=f"walk-{clinic.pk}",
                                          title="Walk meeting")
    referral = Referral.objects.create(clinic=clinic, requesting_professional=ProfessionalFactory(clinic=clinic),
                                       specialist=ProfessionalFactory(clinic=clinic),
                                       patient=PatientFactory(clinic=clinic))
    return {"referral_id": referral.pk, "meeting_id": meeting.pk}, [referral, meeting]


def _messaging_number(clinic):
    from telephony.models import MessagingNumber

    number = MessagingNumber.objects.create(clinic=clinic, phone=f"+3512100{clinic.pk.int % 100000:05d}",
                                            code_digest="x" * 64, code_sent_at=timezone.now())
    return {"number_id": number.pk}, [number]


# Route (as the resolver spells it) -> factory(clinic A). Apps add their console routes here.
OBJECT_ROUTES = {
    "console/calls/<uuid:pk>/": by("pk", walks.call),
    "console/messaging-numbers/<uuid:number_id>/verify/": _messaging_number,
    "console/patients/<str:patient_hash>/": by("patient_hash", walks.patient, "hash"),
    "console/patients/<str:patient_hash>/export/": by("patient_hash", walks.patient, "hash"),
    "console/patients/<str:patient_hash>/erase/": by("patient_hash", walks.patient, "hash"),
    "console/tasks/<uuid:task_id>/status/": by("task_id", walks.task),
    "console/campaigns/<uuid:campaign_id>/": by("campaign_id", walks.campaign),
    "console/campaigns/<uuid:campaign_id>/cancel/": by("campaign_id", walks.campaign),
    "agenda/appointments/<uuid:appointment_id>/": by("appointment_id", walks.appointment),
    "agenda/appointments/<uuid:appointment_id>/cancel/": by("appointment_id", walks.appointment),
    "agenda/appointments/<uuid:appointment_id>/move/": by("appointment_id", walks.appointment),
    "agenda/appointments/<uuid:appointment_id>/resize/": by("appointment_id", walks.appointment),
    "agenda/appointments/<uuid:appointment_id>/attendance/": by("appointment_id", walks.appointment),
    "agenda/patients/<uuid:patient_id>/": by("patient_id", walks.patient),
    "agenda/patients/<uuid:patient_id>/consent/": by("patient_id", walks.patient),
    "console/patients/<uuid:patient_id>/message/": by("patient_id", walks.patient),
    "agenda/professionals/<uuid:professional_id>/": by("professional_id", walks.professional),
    "agenda/professionals/<uuid:professional_id>/remove/": by("professional_id", walks.professional),
    "agenda/time-off/<uuid:exception_id>/remove/": _time_off,
    "agenda/services/<uuid:service_id>/": by("service_id", walks.service),
    "agenda/services/<uuid:service_id>/remove/": by("service_id", walks.service),
    "agenda/patients/import/<uuid:import_id>/": by("import_id", walks.patient_import),
    "agenda/patients/import/<uuid:import_id>/progress/": by("import_id", walks.patient_import),
    "agenda/patients/import/<uuid:import_id>/errors.csv": by("import_id", walks.patient_import),
    "console/notes/<uuid:note_id>/": by("note_id", walks.note),
    "console/notes/<uuid:note_id>/status/": by("note_id", walks.note),
    "console/notes/<uuid:note_id>/retry/": by("note_id", walks.note),
    "console/notes/<uuid:note_id>/audio/": by("note_id", walks.note),
    "console/notes/<uuid:note_id>/export/": by("note_id", walks.note),
    "console/notes/<uuid:note_id>/sections/": _note_section,
    "console/notes/<uuid:note_id>/sections/<uuid:section_id>/": _note_section,
    "console/triage/<uuid:appointment_id>/send/": by("appointment_id", walks.appointment),
    "knowledge/chunks/<uuid:chunk_id>/": by("chunk_id", walks.knowledge_chunk),
    "knowledge/chunks/<uuid:chunk_id>/delete/": by("chunk_id", walks.knowledge_chunk),
    "knowledge/files/<uuid:file_id>/delete/": by("file_id", walks.knowledge_file),
    "billing/checkout/<str:session>": _checkout,
    "team/<uuid:member_id>/remove/": by("member_id", walks.member),
    "api-keys/<uuid:key_id>/revoke/": by("key_id", walks.api_key),
    "oauth/applications/<slug:pk>/": _oauth_application,
    "oauth/applications/<slug:pk>/delete/": _oauth_application,
    "oauth/applications/<slug:pk>/update/": _oauth_application,
    "oauth/authorized_tokens/<slug:pk>/delete/": _oauth_token,
    # The attendance service speaks the dashboard API (JWT), not the console session: see JWT_ROUTES.
    "attendance-service/referrals/<str:referral_id>/meetings/<str:meeting_id>/user": _referral_meeting,
}
JWT_ROUTES = {"attendance-service/referrals/<str:referral_id>/meetings/<str:meeting_id>/user"}

# Routes whose path parameter is itself the credential, or that are public, with the reason.
PUBLIC_ROUTES = {
    "password-reset/<uidb64>/<token>/": "the signed reset token is the credential (Django's own view)",
    "invite/<str:token>": "the invitation token is the credential (clinics/tests/test_console.py)",
    "booking/<slug:slug>": "public booking page of a clinic, by design",
    "booking/<slug:slug>/slots": "public booking page of a clinic, by design",
    "booking/<slug:slug>/privacy": "public privacy notice of a clinic's booking page, by design",
    "booking/<slug:slug>/check": "public booking page of a clinic, by design (is a time still free)",
    "booking/<slug:slug>/manage/<str:token>": "patient link: the signed token is the credential, and another "
                                              "clinic's token is 404 (scheduling/tests/test_public_manage.py)",
    "booking/<slug:slug>/manage/<str:token>/calendar.ics": "patient link: the signed token is the credential "
                                                           "(scheduling/tests/test_public_manage.py)",
    "triagem/<str:token>": "patient link: the signed token is the credential (campaigns/tests/test_triage.py)",
    "feedback/<str:token>": "patient link: the signed token is the credential (campaigns/tests/test_feedback.py)",
    "marketing-consent/<str:token>": "patient link: the signed token naming the clinic and the patient is the "
                                     "credential; another clinic's patient is 404 and the page shows only the "
                                     "clinic's name (campaigns/tests/test_marketing_double_opt_in.py)",
    "attendance-service/video/join/<str:token>": "join link of the offline video backend: the token is the "
                                                 "credential (telephony/tests/test_video.py)",
}

# Read pages that answer a POST like a GET: a viewer's POST there must change nothing (checked), not be refused.
READ_PAGES = {
    "health": "health check",
    "metrics": "Prometheus page for the bearer of METRICS_TOKEN, a 404 for anyone else (tests/test_observability.py)",
    "docs": "API documentation",
    "docs/redoc": "API documentation (ReDoc)",
    "console/outbox/": "list",
    "console/calls/": "list",
    "console/calls/<uuid:pk>/": "detail",
    "console/engagement/": "dashboard",
    "console/patients/": "list and search",
    "console/patients/<str:patient_hash>/": "detail",
    "console/campaigns/<uuid:campaign_id>/": "detail",
    "agenda/": "calendar",
    "agenda/professionals/": "list",
    "agenda/services/": "list",
    "agenda/patients/": "patient search page",
    "agenda/patients/search/": "search as you type (JSON)",
    "agenda/patients/<uuid:patient_id>/": "patient record",
    "agenda/patients/import/": "list",
    "console/notes/": "list",
    "console/notes/<uuid:note_id>/": "detail",
    "knowledge/": "list and search",
    "": "home",
    "team/": "list",
}

# Write routes that refuse a viewer with another status than 403 today: route -> (status, the fix). The walk
# fails when the answer changes, so the entry is removed as soon as the owner switches to console_page(write=True).
PENDING_VIEWER_FIXES = {}

# Routes where a viewer's POST is allowed: it changes only the viewer's own session or account, never clinic data.
VIEWER_MAY_POST = {
    "i18n/setlang/": "the viewer's own language",
    "login/": "signing in",
    "login/verify/": "signing in, second step",
    "logout/": "signing out",
    "password-reset/": "the viewer's own password",
    "password-reset/<uidb64>/<token>/": "the viewer's own password",
    "profile/": "the viewer's own profile",
    "profile/two-factor/": "the viewer's own second factor",
    "clinic/switch/": "which of the viewer's clinics the console acts for",
    "invite/<str:token>": "accepting one's own invitation",
    "oauth/^authorize/?$": "the viewer's own consent to an application",
    "oauth/^token/?$": "OAuth token endpoint: the client credentials and the code are the credential",
    "oauth/^revoke_token/?$": "OAuth revocation endpoint: the client credentials are the credential",
    "oauth/^introspect/?$": "OAuth introspection endpoint: the client credentials are the credential",
    "oauth/applications/register/": "OAuth applications belong to the user, not to a clinic",
    "oauth/applications/<slug:pk>/delete/": "OAuth applications belong to the user, not to a clinic",
    "oauth/applications/<slug:pk>/update/": "OAuth applications belong to the user, not to a clinic",
    "oauth/authorized_tokens/<slug:pk>/delete/": "the viewer's own grants to applications",
    "booking/<slug:slug>": "public booking: anyone may book",
    "triagem/<str:token>": "the patient's own answers",
    "feedback/<str:token>": "the patient's own answers",
    "attendance-service/video/join/<str:token>": "the token holder joins the meeting",
}


def console_routes():
    """(route, pattern) for every URL outside the API prefixes and Django admin, in resolver order."""
    return [(route, pattern) for route, pattern in walks.routes()
            if not route.startswith(walks.API_PREFIXES + (walks.ADMIN_PREFIX,))]


def _text(response):
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return response.content.decode("utf-8", "replace")


def _console_client(membership):
    from clinics.tests.factories import sign_in_verified

    return sign_in_verified(Client(), membership.user)


def _request(client, method, url, jwt=False):
    if method == "GET":
        return client.get(url)
    if jwt:
        return client.post(url, data=json.dumps({"inMeeting": True, "userId": "x"}), content_type="application/json")
    return client.post(url, data={})


def _background(clinic):
    """Rows of clinic A that list pages would show if they forgot the clinic; returns their visible texts."""
    from billing.tests.factories import InvoiceFactory
    from campaigns.tests.factories import TaskFactory
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory

    service = ServiceFactory(clinic=clinic, name="Consulta Alfa Escondida")
    ProfessionalFactory(clinic=clinic, name="Dra. Alfa Escondida", services=[service])
    PatientFactory(clinic=clinic, name="Paciente Alfa Escondido")
    TaskFactory(clinic=clinic, title="Tarefa Alfa Escondida")
    InvoiceFactory(clinic=clinic, number="FD-ALFA-ESCONDIDA")
    return {"Consulta Alfa Escondida", "Dra. Alfa Escondida", "Paciente Alfa Escondido", "Tarefa Alfa Escondida",
            "FD-ALFA-ESCONDIDA"}


def run_walk(object_routes, public_routes, jwt_client_for):
    """Walk every console route as clinic B's admin against clinic A's objects; returns (uncovered, problems)."""
    from clinics.models import Membership
    from clinics.tests.factories import ClinicFactory, MembershipFactory

    clinic_a = ClinicFactory(name="Clínica Alfa Consola", slug="clinica-alfa-consola")
    clinic_b = ClinicFactory(name="Clínica Beta Consola", slug="clinica-beta-consola")
    MembershipFactory(clinic=clinic_a, role=Membership.Role.ADMIN)
    b_admin = MembershipFactory(clinic=clinic_b, role=Membership.Role.ADMIN)
    session_client, jwt_client = _console_client(b_admin), jwt_client_for(b_admin)

    routes = console_routes()
    uncovered = [route for route, _pattern in routes
                 if "<" in route and route not in object_routes and route not in public_routes]
    filled = {route: object_routes[route](clinic_a) for route, _pattern in routes if route in object_routes}
    markers = {str(clinic_a.id), clinic_a.name, clinic_a.slug} | _background(clinic_a)
    for kwargs, objects in filled.values():
        markers |= {str(value) for value in kwargs.values()}
        markers |= {str(obj.pk) for obj in objects}
    markers = {marker for marker in markers if len(marker) >= 8}  # integer keys (OAuth's) would match anything
    before = {route: walks.snapshot(objects) for route, (_kwargs, objects) in filled.items()}

    problems = []
    for route, _pattern in routes:
        if route in filled:
            url = walks.fill(route, filled[route][0])
            jwt = route in JWT_ROUTES
            client = jwt_client if jwt else session_client
            statuses = {}
            for method in ("GET", "POST"):
                response = _request(client, method, url, jwt=jwt)
                statuses[method] = response.status_code
                leaked = sorted(marker for marker in markers if marker in _text(response) and marker not in url)
                if leaked:
                    problems.append(f"{method} {url}: body shows clinic A's {leaked}")
            if any(status not in (404, 405) for status in statuses.values()) or 404 not in statuses.values():
                problems.append(f"{url}: expected 404 for clinic A's object, got {statuses}")
        elif "<" not in route:
            url = walks.fill(route, {})
            response = session_client.get(url)
            text = _text(response)
            leaked = sorted(marker for marker in markers if marker in text)
            if response.status_code >= 500:
                problems.append(f"GET {url}: {response.status_code}")
            elif leaked:
                problems.append(f"GET {url}: body shows clinic A's {leaked}")

    for route, snapshot in before.items():
        problems += [f"{route}: clinic A's {name} was changed or deleted by clinic B" for name in walks.changed(snapshot)]
    return uncovered, problems


def _clinic_rows(clinic):
    """How many rows of each clinic-owned model belong to `clinic`: a create shows up here. Reads of personal
    data are audited by design, so the audit log and the API-usage counter are left out."""
    from django.apps import apps
    from django.db import connection

    from clinics.models import ApiUsage, AuditEvent
    from clinics.tenancy import ClinicOwned

    models = [model for model in apps.get_models()
              if issubclass(model, ClinicOwned) and model not in (AuditEvent, ApiUsage)]
    # Each model's `for_clinic(clinic).count()`, all in one query (the walk asks twice per route).
    counts, params = [], []
    for model in models:
        sql, sql_params = model.objects.for_clinic(clinic).values("pk").query.sql_with_params()
        counts.append(f"(SELECT count(*) FROM ({sql}) AS rows)")
        params += sql_params
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(counts)}", params)
        return {model.__name__: count for model, count in zip(models, cursor.fetchone())}


def run_viewer_walk(object_routes, viewer_may_post, read_pages, pending_fixes, jwt_client_for):
    """POST to every route as a viewer of clinic A (object routes with A's own objects); returns problems."""
    from clinics.models import Membership
    from clinics.tests.factories import ClinicFactory, MembershipFactory

    clinic_a = ClinicFactory(name="Clínica Alfa Leitura", slug="clinica-alfa-leitura")
    MembershipFactory(clinic=clinic_a, role=Membership.Role.ADMIN)
    viewer = MembershipFactory(clinic=clinic_a, role=Membership.Role.VIEWER)
    session_client, jwt_client = _console_client(viewer), jwt_client_for(viewer)

    problems = []
    for route, _pattern in console_routes():
        if route in viewer_may_post or ("<" in route and route not in object_routes):
            continue
        kwargs, objects = object_routes[route](clinic_a) if route in object_routes else ({}, [])
        before = walks.snapshot(objects)
        url = walks.fill(route, kwargs)
        jwt = route in JWT_ROUTES
        rows = _clinic_rows(clinic_a)
        response = _request(jwt_client if jwt else session_client, "POST", url, jwt=jwt)
        status = response.status_code
        if route in pending_fixes:
            if status != pending_fixes[route][0]:
                problems.append(f"POST {url} as a viewer: now {status}; drop it from PENDING_VIEWER_FIXES")
        elif route in read_pages:
            if status >= 500:
                problems.append(f"POST {url} as a viewer: {status}")
        elif status not in (403, 405):
            problems.append(f"POST {url} as a viewer: expected 403, got {status}")
        problems += [f"POST {url} as a viewer changed {name}" for name in walks.changed(before)]
        after = _clinic_rows(clinic_a)
        if after != rows:
            changed = sorted(name for name in rows if rows[name] != after[name])
            problems.append(f"POST {url} as a viewer added or removed clinic A's {changed}")
    return problems


@pytest.fixture
def generous_limits(monkeypatch):
    """The walk sends more than a minute's allowance from one address."""
    from clinics.api import throttles

    monkeypatch.setattr(throttles.DashboardRateThrottle, "user_per_minute", 10_000)
    monkeypatch.setattr(throttles.DashboardRateThrottle, "ip_per_minute", 10_000)


@pytest.mark.django_db
def test_every_console_route_hides_clinic_a_from_clinic_b(generous_limits, jwt_client_for):
    uncovered, problems = run_walk(OBJECT_ROUTES, PUBLIC_ROUTES, jwt_client_for)
    assert not uncovered, (
        "These console routes take a path parameter but are not registered in tests/test_console_tenancy_walk.py "
        f"OBJECT_ROUTES (or PUBLIC_ROUTES with a reason): {uncovered}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
def test_a_viewer_cannot_post_to_any_write_route(generous_limits, jwt_client_for):
    problems = run_viewer_walk(OBJECT_ROUTES, VIEWER_MAY_POST, READ_PAGES, PENDING_VIEWER_FIXES, jwt_client_for)
    assert not problems, "\n".join(problems)


# --- The walk's own proof: a console route that forgets the clinic, and one nobody registered.

LEAKY_ROUTE = "console/walk-leaky/<uuid:key_id>/"
UNREGISTERED_ROUTE = "console/walk-unregistered/<uuid:key_id>/"


@console_page(write=True)
def _leaky_key_page(request, key_id):
    """Forgets `.for_clinic(request.clinic)`: any clinic's key by id, and it shows that clinic's name."""
    from clinics.models import ApiKey

    key = ApiKey.objects.select_related("clinic").get(pk=key_id)
    return HttpResponse(f"{key.name} of {key.clinic.name}")


def _leak_urlpatterns():
    from config.urls import urlpatterns as project_urlpatterns

    return [path(LEAKY_ROUTE, _leaky_key_page), path(UNREGISTERED_ROUTE, _leaky_key_page), *project_urlpatterns]


class LeakyUrls:
    """The URLconf of the self-test: the project's routes plus the two above."""

    @property
    def urlpatterns(self):
        return _leak_urlpatterns()


@pytest.mark.django_db
def test_the_console_walk_catches_an_unregistered_route_and_a_leaking_one(generous_limits, settings, jwt_client_for):
    from django.urls import clear_url_caches

    settings.ROOT_URLCONF = LeakyUrls()
    clear_url_caches()
    try:
        uncovered, problems = run_walk({**OBJECT_ROUTES, LEAKY_ROUTE: by("key_id", walks.api_key)}, PUBLIC_ROUTES,
                                       jwt_client_for)
    finally:
        clear_url_caches()
    assert uncovered == [UNREGISTERED_ROUTE]
    leaks = [problem for problem in problems if "/console/walk-leaky/" in problem]
    assert any("expected 404" in problem for problem in leaks), problems
    assert any("body shows clinic A's" in problem for problem in leaks), problems
    assert [problem for problem in problems if "/console/walk-leaky/" not in problem] == []


def test_registrations_name_real_routes():
    """A stale registration would hide nothing, but it misleads the reader: every entry must still exist."""
    existing = {route for route, _pattern in console_routes()}
    registered = set(OBJECT_ROUTES) | set(PUBLIC_ROUTES) | set(VIEWER_MAY_POST) | set(READ_PAGES)
    stale = sorted((registered | set(PENDING_VIEWER_FIXES)) - existing)
    assert not stale, f"Registered routes that no longer exist: {stale}"


# --- The one place the console finds the clinic: console_page and the context processor.


@pytest.mark.django_db
def test_a_session_naming_another_clinic_never_makes_the_console_act_for_it():
    """A stale or forged session value is only a choice among the user's own memberships."""
    from clinics.context_processors import SESSION_CLINIC_KEY
    from clinics.models import Membership
    from clinics.tests.factories import ClinicFactory, MembershipFactory, issue_key

    clinic_a = ClinicFactory(name="Clínica Alfa Sessão")
    clinic_b = ClinicFactory(name="Clínica Beta Sessão")
    MembershipFactory(clinic=clinic_a, role=Membership.Role.ADMIN)
    issue_key(clinic_a, name="Chave da Alfa")
    client = _console_client(MembershipFactory(clinic=clinic_b, role=Membership.Role.ADMIN))

    assert client.post("/clinic/switch/", {"clinic_id": str(clinic_a.pk)}).status_code == 404
    session = client.session
    session[SESSION_CLINIC_KEY] = str(clinic_a.pk)
    session.save()

    for url in ("/", "/team/", "/api-keys/", "/settings/"):
        text = _text(client.get(url))
        assert clinic_b.name in text and clinic_a.name not in text and "Chave da Alfa" not in text, url
