"""OAuth 2.0 (docs/api/voice.md): authorization code + PKCE through /oauth/authorize and /oauth/token, clinic chosen at
consent, and the token used on the API surfaces like a key of the same scopes."""
import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client
from oauth2_provider.models import Application
from rest_framework.test import APIClient

from clinics.models import AuditEvent, Membership
from clinics.tests.factories import ClinicFactory, MembershipFactory, UserFactory, sign_in_verified

pytestmark = pytest.mark.django_db

REDIRECT = "https://integrator.example/callback"


@pytest.fixture
def application():
    return Application.objects.create(name="Integrator", client_type=Application.CLIENT_PUBLIC,
                                      authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
                                      redirect_uris=REDIRECT, algorithm="")


def _pkce():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def _authorize(user, application, scope="read write", clinic=None, challenge=None):
    """Sign in, open the consent page, consent; returns the redirect's query parameters."""
    browser = Client()
    sign_in_verified(browser, user)
    params = {"response_type": "code", "client_id": application.client_id, "redirect_uri": REDIRECT,
              "scope": scope, "state": "xyz"}
    if challenge:
        params.update(code_challenge=challenge, code_challenge_method="S256")
    page = browser.get("/oauth/authorize", params)
    if page.status_code != 200:
        return page
    assert b"Integrator" in page.content
    form = {**params, "allow": "Authorize"}
    if clinic is not None:
        form["clinic"] = str(clinic.id)
    consent = browser.post("/oauth/authorize", form)
    assert consent.status_code == 302, consent.content[:500]
    return consent


def _exchange(application, code, verifier):
    return Client().post("/oauth/token", {"grant_type": "authorization_code", "code": code,
                                          "redirect_uri": REDIRECT, "client_id": application.client_id,
                                          "code_verifier": verifier})


def _bearer(token):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _appointment_in(clinic):
    from datetime import timedelta

    from django.utils import timezone

    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    starts_at = (timezone.now() + timedelta(days=2)).replace(hour=11, minute=0, second=0, microsecond=0)
    return AppointmentFactory(professional=ProfessionalFactory(clinic=clinic), starts_at=starts_at)


def test_authorization_code_with_pkce_round_trip_acts_for_the_chosen_clinic(application):
    user = UserFactory()
    first = MembershipFactory(user=user, role="admin")
    chosen = MembershipFactory(user=user, role="admin", clinic=ClinicFactory(name="Clínica Escolhida"))
    mine, not_mine = _appointment_in(chosen.clinic), _appointment_in(first.clinic)
    verifier, challenge = _pkce()
    consent = _authorize(user, application, clinic=chosen.clinic, challenge=challenge)
    redirect = urlparse(consent["Location"])
    assert f"{redirect.scheme}://{redirect.netloc}{redirect.path}" == REDIRECT
    query = parse_qs(redirect.query)
    assert query["state"] == ["xyz"]

    token = _exchange(application, query["code"][0], verifier)
    assert token.status_code == 200, token.content
    body = token.json()
    assert body["token_type"] == "Bearer"
    assert set(body["scope"].split()) == {"read", "write"}

    voice = _bearer(body["access_token"]).get("/api/v1/appointments")
    assert voice.status_code == 200, voice.content
    assert voice.json()["success"] is True
    assert str(mine.id) in voice.content.decode()
    assert str(not_mine.id) not in voice.content.decode()
    assert _bearer("wrong-token").get("/api/v1/appointments").status_code == 401

    tenant = _bearer(body["access_token"]).get("/v1/tenants/me")
    assert tenant.status_code == 200
    assert tenant.json()["id"] == str(chosen.clinic_id)
    renamed = _bearer(body["access_token"]).patch("/v1/tenants/me", {"name": "Por OAuth"}, format="json")
    assert renamed.status_code == 200
    event = AuditEvent.objects.get(action="clinic.updated")
    assert event.actor_kind == "oauth"
    assert event.actor_label == user.email

    refreshed = Client().post("/oauth/token/", {"grant_type": "refresh_token", "refresh_token": body["refresh_token"],
                                                "client_id": application.client_id})
    assert refreshed.status_code == 200, refreshed.content
    again = _bearer(refreshed.json()["access_token"]).get("/v1/tenants/me")
    assert again.json()["id"] == str(chosen.clinic_id)


def test_wrong_code_verifier_is_refused(application):
    user = MembershipFactory().user
    _verifier, challenge = _pkce()
    consent = _authorize(user, application, challenge=challenge)
    code = parse_qs(urlparse(consent["Location"]).query)["code"][0]
    token = _exchange(application, code, "x" * 50)
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_grant"


def test_pkce_is_required_of_a_public_client(application):
    user = MembershipFactory().user
    response = _authorize(user, application)
    query = parse_qs(urlparse(response["Location"]).query)
    assert query["error"] == ["invalid_request"]


def test_a_public_client_must_use_s256_not_plain(application):
    browser = Client()
    sign_in_verified(browser, MembershipFactory().user)
    params = {"response_type": "code", "client_id": application.client_id, "redirect_uri": REDIRECT,
              "scope": "read", "state": "xyz", "code_challenge": secrets.token_urlsafe(48),
              "code_challenge_method": "plain"}
    consent = browser.post("/oauth/authorize", {**params, "allow": "Authorize"})
    assert consent.status_code == 302
    query = parse_qs(urlparse(consent["Location"]).query)
    assert query["error"] == ["invalid_request"] and "code" not in query


@pytest.fixture
def confidential():
    """A server-side integrator: it keeps a secret, so it authenticates at /oauth/token with it."""
    secret = "s3cret-" + secrets.token_urlsafe(24)
    application = Application.objects.create(
        name="Integrator", client_type=Application.CLIENT_CONFIDENTIAL, client_secret=secret,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE, redirect_uris=REDIRECT, algorithm="")
    return application, secret


def test_a_confidential_client_follows_the_documents_flow_without_pkce(confidential):
    """docs/api/voice.md, OAuth 2.0: `GET /oauth/authorize?client_id=...`, `?code=...&state=xyz`, then
    `POST /oauth/token` with the code, the client authenticating with its secret."""
    application, secret = confidential
    membership = MembershipFactory(role="admin")
    consent = _authorize(membership.user, application)
    query = parse_qs(urlparse(consent["Location"]).query)
    assert query["state"] == ["xyz"] and "error" not in query

    token = Client().post("/oauth/token", {"grant_type": "authorization_code", "code": query["code"][0],
                                           "redirect_uri": REDIRECT, "client_id": application.client_id,
                                           "client_secret": secret})
    assert token.status_code == 200, token.content
    tenant = _bearer(token.json()["access_token"]).get("/v1/tenants/me")
    assert tenant.status_code == 200
    assert tenant.json()["id"] == str(membership.clinic_id)


def test_a_confidential_client_without_its_secret_gets_no_token(confidential):
    application, _secret = confidential
    consent = _authorize(MembershipFactory().user, application)
    code = parse_qs(urlparse(consent["Location"]).query)["code"][0]
    for credentials in ({}, {"client_secret": "wrong"}):
        token = Client().post("/oauth/token", {"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": REDIRECT, "client_id": application.client_id,
                                               **credentials})
        assert token.status_code == 401, token.content
        assert token.json()["error"] == "invalid_client"


def test_a_confidential_client_that_sends_a_challenge_must_match_it(confidential):
    application, secret = confidential
    verifier, challenge = _pkce()
    consent = _authorize(MembershipFactory().user, application, challenge=challenge)
    code = parse_qs(urlparse(consent["Location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "client_id": application.client_id, "client_secret": secret}
    wrong = Client().post("/oauth/token", {**exchange, "code_verifier": "x" * 50})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"


def test_read_scope_token_gets_403_on_a_write(application):
    membership = MembershipFactory(role="admin")
    verifier, challenge = _pkce()
    consent = _authorize(membership.user, application, scope="read", challenge=challenge)
    code = parse_qs(urlparse(consent["Location"]).query)["code"][0]
    access = _exchange(application, code, verifier).json()["access_token"]
    client = _bearer(access)
    assert client.get("/v1/tenants/me").status_code == 200
    assert client.patch("/v1/tenants/me", {"name": "X"}, format="json").status_code == 403


def test_token_cannot_exceed_the_members_role(application):
    membership = MembershipFactory(role=Membership.Role.VIEWER)
    verifier, challenge = _pkce()
    consent = _authorize(membership.user, application, challenge=challenge)
    code = parse_qs(urlparse(consent["Location"]).query)["code"][0]
    client = _bearer(_exchange(application, code, verifier).json()["access_token"])
    assert client.patch("/v1/tenants/me", {"name": "X"}, format="json").status_code == 403


def test_user_cannot_choose_a_clinic_they_do_not_belong_to(application):
    user = MembershipFactory().user
    stranger = ClinicFactory()
    _verifier, challenge = _pkce()
    browser = Client()
    sign_in_verified(browser, user)
    form = {"response_type": "code", "client_id": application.client_id, "redirect_uri": REDIRECT,
            "scope": "read", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
            "allow": "Authorize", "clinic": str(stranger.id)}
    response = browser.post("/oauth/authorize", form)
    assert response.status_code == 200  # the form is shown again with the error, no code is issued
    assert "Location" not in response


def test_unknown_or_expired_oauth_token_is_401_on_every_surface():
    assert _bearer("not-a-real-token").get("/v1/tenants/me").status_code == 401
    response = _bearer("not-a-real-token").get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid or expired access token."


def test_token_works_on_the_dashboard_surface(application):
    membership = MembershipFactory(role="editor")
    verifier, challenge = _pkce()
    consent = _authorize(membership.user, application, challenge=challenge)
    code = parse_qs(urlparse(consent["Location"]).query)["code"][0]
    client = _bearer(_exchange(application, code, verifier).json()["access_token"])
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["clinic_id"] == str(membership.clinic_id)
    # OAuth tokens never manage keys or the team.
    assert client.post("/api/settings/api-keys", {"name": "k"}, format="json").status_code == 403


def test_consent_page_offers_only_the_users_clinics(application):
    user = UserFactory()
    MembershipFactory(user=user, clinic=ClinicFactory(name="Clínica Minha"))
    ClinicFactory(name="Clínica Alheia")
    _verifier, challenge = _pkce()
    browser = Client()
    sign_in_verified(browser, user)
    page = browser.get("/oauth/authorize/", {"response_type": "code", "client_id": application.client_id,
                                             "redirect_uri": REDIRECT, "scope": "read", "code_challenge": challenge,
                                             "code_challenge_method": "S256"})
    assert page.status_code == 200
    assert "Clínica Minha" in page.content.decode()
    assert "Clínica Alheia" not in page.content.decode()


def test_consent_page_asks_an_admin_without_a_second_factor_to_set_one_up(application):
    user = MembershipFactory(role=Membership.Role.ADMIN).user
    _verifier, challenge = _pkce()
    browser = Client()
    browser.force_login(user)
    response = browser.get("/oauth/authorize", {"response_type": "code", "client_id": application.client_id,
                                                "redirect_uri": REDIRECT, "scope": "read",
                                                "code_challenge": challenge, "code_challenge_method": "S256"})
    assert response.status_code == 302
    assert response["Location"].startswith("/profile/two-factor/")
