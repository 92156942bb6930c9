"""Dashboard auth (docs/api/dashboard.md): register → login → me → refresh → logout, expiry, lockout and
clinic choice."""
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from clinics.models import AuditEvent, Clinic, Membership, User
from clinics.tests.conftest import PASSWORD
from clinics.tests.factories import ClinicFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_register_login_me_refresh_logout_round_trip():
    client = APIClient()
    registered = client.post("/api/auth/register", {"email": "Ana@Example.com", "password": "SecurePass123!x",
                                                    "company_name": "Acme Medical"}, format="json")
    assert registered.status_code == 201, registered.json()
    body = registered.json()
    assert body["email"] == "ana@example.com"
    assert body["company_name"] == "Acme Medical"
    assert {"id", "created_at"} <= set(body)
    clinic = Clinic.objects.get(name="Acme Medical")
    assert clinic.slug == "acme-medical"
    assert Membership.objects.get(clinic=clinic).role == "admin"
    assert User.objects.get(email="ana@example.com").password.startswith("argon2")

    login = client.post("/api/auth/login", {"email": "ana@example.com", "password": "SecurePass123!x"},
                        format="json")
    assert login.status_code == 200, login.json()
    tokens = login.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 30 * 60
    assert tokens["user"] == {"id": body["id"], "email": "ana@example.com", "company_name": "Acme Medical",
                              "plan": "free"}
    assert set(tokens["agent"]) == {"agent_id", "agent_name", "status"}
    assert tokens["agent"]["agent_name"] == "Acme Medical Agent"
    assert tokens["features"]["api_calls_per_month"] == 1000
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "HS256"
    claims = jwt.decode(tokens["access_token"], settings.JWT_SIGNING_KEY, algorithms=["HS256"])
    assert claims["cid"] == str(clinic.id)
    assert claims["exp"] - claims["iat"] == 30 * 60

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["email"] == "ana@example.com"
    assert me.json()["subscription_status"] == "active"
    assert me.json()["company_name"] == "Acme Medical"
    assert "features" in me.json()

    refreshed = APIClient().post("/api/auth/refresh", {"refresh_token": tokens["refresh_token"]}, format="json")
    assert refreshed.status_code == 200
    new = refreshed.json()
    assert new["access_token"] != tokens["access_token"]
    assert new["refresh_token"] != tokens["refresh_token"]

    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new['access_token']}")
    out = client.post("/api/auth/logout", {"refresh_token": new["refresh_token"]}, format="json")
    assert out.status_code == 200
    assert out.json() == {"message": "Successfully logged out"}
    assert client.get("/api/auth/me").status_code == 401
    again = APIClient().post("/api/auth/refresh", {"refresh_token": new["refresh_token"]}, format="json")
    assert again.status_code == 401
    assert again.json() == {"detail": "Invalid or revoked refresh token.", "code": "UNAUTHORIZED"}


def test_replaying_a_rotated_refresh_token_revokes_the_whole_session(admin_client):
    first = admin_client.tokens["refresh_token"]
    second = APIClient().post("/api/auth/refresh", {"refresh_token": first}, format="json").json()
    replay = APIClient().post("/api/auth/refresh", {"refresh_token": first}, format="json")
    assert replay.status_code == 401
    assert replay.json()["detail"] == "Invalid or revoked refresh token."
    stolen = APIClient().post("/api/auth/refresh", {"refresh_token": second["refresh_token"]}, format="json")
    assert stolen.status_code == 401


def test_expired_access_token_gets_401_with_detail(admin_membership):
    now = timezone.now() - timedelta(hours=1)
    token = jwt.encode({"sub": str(admin_membership.user_id), "cid": str(admin_membership.clinic_id),
                        "typ": "access", "iat": int(now.timestamp()),
                        "exp": int((now + timedelta(minutes=30)).timestamp()), "jti": "x"},
                       settings.JWT_SIGNING_KEY, algorithm="HS256")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.get("/api/auth/me")
    assert response.status_code == 401
    assert response.json()["detail"] == "Token expired."


def test_refresh_token_is_refused_as_an_access_token(admin_client):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {admin_client.tokens['refresh_token']}")
    assert client.get("/api/auth/me").status_code == 401


def test_wrong_password_is_401_and_audited(admin_membership):
    response = APIClient().post("/api/auth/login", {"email": admin_membership.user.email, "password": "nope"},
                                format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid credentials"
    event = AuditEvent.objects.get(action="auth.login_failed")
    assert event.clinic_id == admin_membership.clinic_id
    assert event.actor_label == admin_membership.user.email


def test_sixth_login_attempt_within_15_minutes_gets_429_even_with_the_right_password(admin_membership):
    client = APIClient()
    email = admin_membership.user.email
    for _attempt in range(5):
        assert client.post("/api/auth/login", {"email": email, "password": "wrong"}, format="json").status_code == 401
    locked = client.post("/api/auth/login", {"email": email, "password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert "Too many failed login attempts" in locked.json()["detail"]
    assert int(locked["Retry-After"]) > 0


def test_successful_login_resets_the_failure_counter(admin_membership):
    client = APIClient()
    email = admin_membership.user.email
    for _attempt in range(4):
        client.post("/api/auth/login", {"email": email, "password": "wrong"}, format="json")
    assert client.post("/api/auth/login", {"email": email, "password": PASSWORD}, format="json").status_code == 200
    for _attempt in range(4):
        client.post("/api/auth/login", {"email": email, "password": "wrong"}, format="json")
    assert client.post("/api/auth/login", {"email": email, "password": PASSWORD}, format="json").status_code == 200


def test_login_picks_the_requested_clinic_and_defaults_to_the_first():
    user = UserFactory()
    first = MembershipFactory(user=user, role="viewer", joined_at=timezone.now() - timedelta(days=2))
    second = MembershipFactory(user=user, role="admin")
    client = APIClient()
    default = client.post("/api/auth/login", {"email": user.email, "password": PASSWORD}, format="json").json()
    assert jwt.decode(default["access_token"], options={"verify_signature": False})["cid"] == str(first.clinic_id)
    chosen = client.post("/api/auth/login", {"email": user.email, "password": PASSWORD,
                                             "clinic_id": str(second.clinic_id)}, format="json")
    assert chosen.status_code == 200
    assert chosen.json()["clinic"] == {"id": str(second.clinic_id), "name": second.clinic.name, "role": "admin"}
    me_client = APIClient()
    me_client.credentials(HTTP_AUTHORIZATION=f"Bearer {chosen.json()['access_token']}")
    me = me_client.get("/api/auth/me").json()
    assert me["clinic_id"] == str(second.clinic_id)
    assert {c["id"] for c in me["clinics"]} == {str(first.clinic_id), str(second.clinic_id)}


def test_login_for_a_clinic_the_user_does_not_belong_to_is_401(admin_membership):
    stranger = ClinicFactory()
    response = APIClient().post("/api/auth/login", {"email": admin_membership.user.email, "password": PASSWORD,
                                                    "clinic_id": str(stranger.id)}, format="json")
    assert response.status_code == 401


def test_register_rejects_weak_password_with_detail():
    response = APIClient().post("/api/auth/register", {"email": "b@example.com", "password": "123",
                                                       "company_name": "Bee"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["errors"]
    assert response.json()["detail"]
    assert not User.objects.filter(email="b@example.com").exists()


def test_register_rejects_a_taken_email_and_bad_input():
    UserFactory(email="taken@example.com")
    taken = APIClient().post("/api/auth/register", {"email": "TAKEN@example.com", "password": "SecurePass123!x",
                                                    "company_name": "X"}, format="json")
    assert taken.status_code == 400
    assert taken.json()["code"] == "EMAIL_TAKEN"
    bad = APIClient().post("/api/auth/register", {"email": "not-an-email"}, format="json")
    assert bad.status_code == 400
    assert bad.json()["detail"]


def test_registering_two_clinics_with_the_same_name_gets_unique_slugs():
    for index in range(2):
        APIClient().post("/api/auth/register", {"email": f"c{index}@example.com", "password": "SecurePass123!x",
                                                "company_name": "Clínica Sorriso"}, format="json")
    assert sorted(Clinic.objects.values_list("slug", flat=True)) == ["clinica-sorriso", "clinica-sorriso-2"]


def test_login_success_is_audited(admin_membership):
    APIClient().post("/api/auth/login", {"email": admin_membership.user.email, "password": PASSWORD},
                     format="json", HTTP_USER_AGENT="pytest-agent", REMOTE_ADDR="10.1.2.3")
    event = AuditEvent.objects.get(action="auth.login")
    assert event.clinic_id == admin_membership.clinic_id
    assert event.actor_kind == "user"
    assert event.actor_id == str(admin_membership.user_id)
    assert event.ip == "10.1.2.3"
    assert event.user_agent == "pytest-agent"


def test_me_with_an_api_key_is_403(client_for):
    response = client_for.get("/api/auth/me")
    assert response.status_code == 403
    assert response.json()["detail"] == "Insufficient permissions"


def test_openapi_document_describes_the_auth_endpoints_and_credentials(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert {"/api/auth/login", "/api/auth/refresh", "/api/settings/api-keys", "/v1/audit"} <= set(schema["paths"])
    assert {"DashboardJWT", "OAuth2"} <= set(schema["components"]["securitySchemes"])


@pytest.mark.parametrize("path,payload,field", [
    ("/api/auth/login", {"password": "x"}, "email"),
    ("/api/auth/login", {"email": "a@example.com", "password": "x", "clinic_id": "nope"}, "clinic_id"),
    ("/api/auth/refresh", {}, "refresh_token"),
])
def test_bad_auth_input_is_400_with_detail(path, payload, field):
    response = APIClient().post(path, payload, format="json")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(field)
    assert field in response.json()["errors"]


def test_garbage_refresh_token_is_401():
    response = APIClient().post("/api/auth/refresh", {"refresh_token": "a.b.c"}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_purging_drops_only_long_expired_refresh_tokens(admin_client):
    from clinics import services
    from clinics.models import DashboardRefreshToken

    live = DashboardRefreshToken.objects.get()
    stale = DashboardRefreshToken.objects.create(jti="old", session_id=live.session_id,
                                                 membership=live.membership,
                                                 expires_at=timezone.now() - timedelta(days=2))
    assert services.refresh_token_purge() == 1
    assert list(DashboardRefreshToken.objects.all()) == [live]
    from clinics.tasks import purge_refresh_tokens

    assert purge_refresh_tokens.delay().get() == 0  # the beat task: a second run finds nothing more
    assert not DashboardRefreshToken.objects.filter(pk=stale.pk).exists()
