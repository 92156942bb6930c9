"""Issue 4's must-show: walk every API route with clinic B's credentials against clinic A's objects.

Every route under /v1/, /api/, /api/v1/ and /notes/v1/ is found through the URL resolver and must be either
- an object route, filled from OBJECT_ROUTES with ids of clinic A's objects: every method answers 404 to B
  (403 is accepted for a credential that may not use the route at all, but at least one credential must reach
  the lookup and get 404), and A's objects are unchanged afterwards;
- a route without path parameters: every method answers B without a 5xx and without any of A's identifiers;
- or listed in EXEMPT_ROUTES with the reason it carries no tenant credential.

A new route that is in none of these fails the test by name: register its factory in OBJECT_ROUTES (a function
of clinic A returning the URL kwargs and the objects behind them) or, if it truly has no tenant credential,
exempt it with a reason.
"""
import json

import pytest
from rest_framework.test import APIClient

from tests import walks
from tests.walks import by


def _agent(clinic):
    from telephony.agents import agent_for

    agent = agent_for(clinic)
    return {"agent_id": agent.agent_id}, [agent]


def _webhook_endpoint(clinic):
    from telephony.outbound_webhooks import create_endpoint

    endpoint, _secret = create_endpoint(clinic, "https://integration.example/hook", ["conversation.end_report"])
    return {"pk": endpoint.pk}, [endpoint]


def _invoice(clinic):
    from billing.tests.factories import InvoiceFactory

    invoice = InvoiceFactory(clinic=clinic)
    return {"pk": invoice.pk}, [invoice]


# Route (as the resolver spells it) -> factory(clinic A) -> (URL kwargs, objects). Apps add their routes here.
OBJECT_ROUTES = {
    "api/team/members/<uuid:member_id>": by("member_id", walks.member),
    "api/settings/api-keys/<uuid:key_id>": by("key_id", walks.api_key),
    "v1/professionals/<uuid:pk>": by("pk", walks.professional),
    "v1/services/<uuid:pk>": by("pk", walks.service),
    "v1/appointments/<uuid:pk>": by("pk", walks.appointment),
    "v1/appointments/<uuid:appointment_id>/triage/send": by("appointment_id", walks.appointment),
    "v1/patients/<str:hash>": by("hash", walks.patient, "hash"),
    "v1/patients/imports/<uuid:pk>": by("pk", walks.patient_import),
    "v1/calls/<uuid:pk>": by("pk", walks.call),
    "v1/calls/<uuid:pk>/callback": by("pk", walks.call),
    "v1/calls/<uuid:pk>/recording": by("pk", walks.call),
    "api/analytics/conversation/<str:conversation_id>": by("conversation_id", walks.call, "conversation_id"),
    "v1/campaigns/<uuid:pk>": by("pk", walks.campaign),
    "v1/campaigns/<uuid:pk>/cancel": by("pk", walks.campaign),
    "api/agents/<str:agent_id>": _agent,
    "api/v1/webhooks/<uuid:pk>": _webhook_endpoint,
    "api/agents/<str:agent_id>/api-token": _agent,
    "api/agents/<str:agent_id>/regenerate-token": _agent,
    "api/agents/<str:agent_id>/tools": _agent,
    "notes/v1/notes/<uuid:note_id>": by("note_id", walks.note),
    "notes/v1/notes/<uuid:note_id>/status": by("note_id", walks.note),
    "notes/v1/notes/<uuid:note_id>/export": by("note_id", walks.note),
    "notes/v1/notes/<uuid:note_id>/retry": by("note_id", walks.note),
    "v1/billing/invoices/<uuid:pk>": _invoice,
    "v1/knowledge/<uuid:pk>": by("pk", walks.knowledge_chunk),
    "api/agents/knowledge-base/<uuid:file_id>": by("file_id", walks.knowledge_file),
    "api/referrals/<str:referral_id>": by("referral_id", walks.referral),
}

# Routes that carry no tenant credential of their own, by route and with the reason.
EXEMPT_ROUTES = {
    "api/schema/": "OpenAPI schema, no data",
    "api/auth/register": "public sign-up, creates a new clinic",
    "api/auth/login": "public, the password is the credential",
    "api/auth/refresh": "public, the refresh token is the credential",
    "api/auth/logout": "would end B's own session mid-walk; covered in clinics/tests/test_api_auth.py",
    "v1/calls/recordings/<str:token>": "signed URL: the token is the credential (telephony tests forge it)",
    "api/agents/knowledge-base/download/<str:token>": "signed URL: the token is the credential (knowledge tests "
                                                      "forge it and sign it for another clinic)",
    "api/webhooks/twilio/sms": "provider webhook, verified by signature",
    "api/webhooks/twilio/status": "provider webhook, verified by signature",
    "api/webhooks/stripe": "provider webhook, verified by Stripe-Signature (billing/tests/test_webhooks.py)",
    "api/agent-actions/check-availability/<str:agent_id>": "X-Agent-Token is the credential (telephony tests)",
    "api/agent-actions/book-appointment/<str:agent_id>": "X-Agent-Token is the credential (telephony tests)",
    "api/agent-actions/appointments/<str:agent_id>/today": "X-Agent-Token is the credential (telephony tests)",
    **{f"api/agent-actions/{tool}/<str:agent_id>": "X-Agent-Token is the credential (telephony/tests/"
       "test_agent_tools.py: another clinic's agent id and appointment are 404)"
       for tool in ("services", "my-appointments", "cancel-appointment", "reschedule-appointment", "ask",
                    "handover")},
}
EXEMPT_PREFIXES = ("api/webhooks/",)  # provider webhooks: signatures, never clinic credentials


def api_routes():
    """(route, pattern) for every URL under the API prefixes, in resolver order."""
    return [(route, pattern) for route, pattern in walks.routes() if route.startswith(walks.API_PREFIXES)]


def _methods(pattern):
    view = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    if view is None:
        return None
    actions = getattr(pattern.callback, "actions", None)
    if actions:
        return sorted(method.upper() for method in actions)
    return sorted(method.upper() for method in view.http_method_names
                  if method not in ("options", "head") and hasattr(view, method))


def _call_route(client, method, url):
    body = json.dumps({})
    return getattr(client, method.lower())(url, data=body if method != "GET" else None,
                                           content_type="application/json") if method != "GET" \
        else client.get(url)


def run_walk(object_routes, exempt_routes):
    """Walk every API route as clinic B against clinic A's objects; returns (uncovered routes, problems)."""
    from clinics import services
    from clinics.models import Membership
    from clinics.tests.factories import ClinicFactory, MembershipFactory, issue_key

    clinic_a = ClinicFactory(name="Clínica Alfa Walk", slug="clinica-alfa-walk")
    clinic_b = ClinicFactory(name="Clínica Beta Walk", slug="clinica-beta-walk")
    MembershipFactory(clinic=clinic_a, role=Membership.Role.ADMIN)

    jwt_client = APIClient()
    jwt_client.credentials(HTTP_AUTHORIZATION="Bearer " + services.start_session(
        MembershipFactory(clinic=clinic_b, role=Membership.Role.ADMIN))["access_token"])
    bearer_key_client = APIClient()
    bearer_key_client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_key(clinic_b)}")
    header_key_client = APIClient()
    header_key_client.credentials(HTTP_X_API_KEY=issue_key(clinic_b))
    credentials = {"B admin JWT": jwt_client, "B key (Bearer)": bearer_key_client,
                   "B key (X-API-KEY)": header_key_client}

    def exempt(route):
        return route in exempt_routes or route.startswith(EXEMPT_PREFIXES)

    routes = [(route, pattern) for route, pattern in api_routes() if not exempt(route)]
    uncovered = [route for route, pattern in routes if "<" in route and route not in object_routes]
    filled = {route: object_routes[route](clinic_a) for route, _pattern in routes if route in object_routes}

    markers = {str(clinic_a.id), clinic_a.name, clinic_a.slug}
    for kwargs, objects in filled.values():
        markers |= {str(value) for value in kwargs.values()}
        markers |= {str(obj.pk) for obj in objects}
    before = {route: walks.snapshot(objects) for route, (_kwargs, objects) in filled.items()}

    problems = []
    for route, pattern in routes:
        if "<" in route and route not in filled:
            continue
        methods = _methods(pattern)
        if methods is None:
            problems.append(f"{route}: a function view; walkable routes must be DRF views, or exempt it")
            continue
        url = walks.fill(route, filled[route][0] if route in filled else {})
        for method in methods:
            statuses = {}
            for name, client in credentials.items():
                response = _call_route(client, method, url)
                statuses[name] = response.status_code
                text = response.content.decode("utf-8", "replace")
                leaked = sorted(marker for marker in markers if marker in text and marker not in url)
                if response.status_code >= 500:
                    problems.append(f"{method} {url} as {name}: {response.status_code}")
                elif leaked:
                    problems.append(f"{method} {url} as {name}: body shows clinic A's {leaked}")
            if route in filled:
                reached = [status for status in statuses.values() if status != 401]
                if not reached:
                    problems.append(f"{method} {url}: no B credential is accepted on this route {statuses}")
                elif any(status not in (403, 404) for status in reached) or 404 not in reached:
                    problems.append(f"{method} {url}: expected 404 for clinic A's object, got {statuses}")

    for route, snapshot in before.items():
        for model, pk, values in snapshot:
            if model.objects.filter(pk=pk).values().first() != values:
                problems.append(f"{route}: clinic A's {model.__name__} {pk} was changed or deleted by clinic B")
    return uncovered, problems


@pytest.fixture
def generous_limits(monkeypatch):
    """The walk sends more than a minute's allowance from one address."""
    from clinics.api import throttles as ratelimit

    monkeypatch.setattr(ratelimit.DashboardRateThrottle, "user_per_minute", 10_000)
    monkeypatch.setattr(ratelimit.DashboardRateThrottle, "ip_per_minute", 10_000)
    monkeypatch.setattr(ratelimit.NotesRateThrottle, "per_minute", 10_000)


@pytest.fixture(autouse=True)
def dyte_webhook_key(settings):
    """A server configured as production is: the Dyte webhook has a key to verify with, so an unsigned call is the
    caller's fault (4xx); without one it answers 503 WEBHOOK_NOT_CONFIGURED (telephony/tests/test_video.py)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    settings.DYTE_WEBHOOK_PUBLIC_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(
    ).public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.django_db
def test_every_api_route_hides_clinic_a_from_clinic_b(generous_limits):
    uncovered, problems = run_walk(OBJECT_ROUTES, EXEMPT_ROUTES)
    assert not uncovered, (
        "These routes take a path parameter but are not registered in tests/test_tenancy_walk.py OBJECT_ROUTES "
        f"(or EXEMPT_ROUTES with a reason): {uncovered}")
    assert not problems, "\n".join(problems)


@pytest.mark.django_db
@pytest.mark.urls("tests.urls_walk_leak")
def test_the_walk_catches_an_unregistered_route_and_a_leaking_one(generous_limits):
    from tests.urls_walk_leak import LEAKY_ROUTE, UNREGISTERED_ROUTE

    uncovered, problems = run_walk({**OBJECT_ROUTES, LEAKY_ROUTE: by("key_id", walks.api_key)}, EXEMPT_ROUTES)
    assert uncovered == [UNREGISTERED_ROUTE]
    leaks = [problem for problem in problems if "/v1/leaky/" in problem]
    assert any("expected 404" in problem for problem in leaks), problems
    assert any("body shows clinic A's" in problem for problem in leaks), problems
    assert [problem for problem in problems if "/v1/leaky/" not in problem] == []


def test_registrations_name_real_routes():
    """A stale registration would hide nothing, but it misleads the reader: every entry must still exist."""
    existing = {route for route, _pattern in api_routes()}
    stale = sorted(set(OBJECT_ROUTES) - existing) + sorted(set(EXEMPT_ROUTES) - existing)
    assert not stale, f"Registered routes that no longer exist: {stale}"
