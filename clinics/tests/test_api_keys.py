"""API keys (docs/api/dashboard.md `/api/settings/api-keys`): shown once, stored hashed, scoped, expiring
and revocable."""
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from clinics.models import ApiKey, AuditEvent, hash_secret
from clinics.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def _key_client(raw, header="bearer"):
    client = APIClient()
    if header == "bearer":
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    else:
        client.credentials(HTTP_X_API_KEY=raw)
    return client


def test_admin_creates_a_key_whose_full_value_is_shown_once_and_stored_hashed(admin_client, clinic):
    response = admin_client.post("/api/settings/api-keys", {"name": "My Integration", "permissions": ["read"]},
                                 format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert {"id", "name", "full_key", "key_preview", "permissions", "expires_at", "created_at"} <= set(body)
    assert body["name"] == "My Integration"
    assert body["permissions"] == ["read"]
    assert body["full_key"].startswith(ApiKey.PREFIX)
    key = ApiKey.objects.get(pk=body["id"])
    assert key.clinic == clinic
    assert key.digest == hash_secret(body["full_key"])
    assert body["full_key"] not in str(ApiKey.objects.filter(pk=key.pk).values().first())
    listed = admin_client.get("/api/settings/api-keys").json()
    assert [item["id"] for item in listed] == [body["id"]]
    assert "full_key" not in listed[0]
    assert listed[0]["key_preview"] == body["key_preview"]
    assert AuditEvent.objects.filter(action="api_key.created", object_id=body["id"], clinic=clinic).exists()


def test_new_key_works_as_bearer_and_as_x_api_key(admin_client):
    raw = admin_client.post("/api/settings/api-keys", {"name": "k"}, format="json").json()["full_key"]
    assert _key_client(raw).get("/v1/tenants/me").status_code == 200
    assert _key_client(raw, header="x-api-key").get("/v1/tenants/me").status_code == 200


def test_read_only_key_gets_403_on_a_write(make_client, clinic):
    reader = make_client(clinic, permissions=("read",))
    assert reader.get("/v1/tenants/me").status_code == 200
    response = reader.patch("/v1/tenants/me", {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    clinic.refresh_from_db()
    assert clinic.name != "Renamed"


def test_expired_key_gets_401(make_client, clinic):
    client = make_client(clinic, expires_at=timezone.now() - timedelta(seconds=1))
    response = client.get("/v1/tenants/me")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_revoked_key_stops_working_at_once(admin_client):
    created = admin_client.post("/api/settings/api-keys", {"name": "k"}, format="json").json()
    key_client = _key_client(created["full_key"])
    assert key_client.get("/v1/tenants/me").status_code == 200
    revoked = admin_client.delete(f"/api/settings/api-keys/{created['id']}")
    assert revoked.status_code == 200
    assert key_client.get("/v1/tenants/me").status_code == 401
    assert AuditEvent.objects.filter(action="api_key.revoked", object_id=created["id"]).exists()
    assert admin_client.get("/api/settings/api-keys").json()[0]["status"] == "revoked"


def test_key_with_expiry_in_the_past_is_refused_and_bad_permissions_are_400(admin_client):
    past = admin_client.post("/api/settings/api-keys", {
        "name": "k", "expires_at": (timezone.now() - timedelta(days=1)).isoformat()}, format="json")
    assert past.status_code == 400
    assert "expires_at" in past.json()["errors"]
    bad = admin_client.post("/api/settings/api-keys", {"name": "k", "permissions": ["delete"]}, format="json")
    assert bad.status_code == 400
    assert bad.json()["detail"]
    assert not ApiKey.objects.exists()


def test_key_with_future_expiry_is_returned_with_it(admin_client):
    expires = (timezone.now() + timedelta(days=30)).replace(microsecond=0)
    body = admin_client.post("/api/settings/api-keys", {"name": "k", "expires_at": expires.isoformat()},
                             format="json").json()
    assert body["expires_at"].startswith(expires.strftime("%Y-%m-%dT%H:%M:%S"))


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_admins_manage_keys(login_client, clinic, role):
    client = login_client(MembershipFactory(clinic=clinic, role=role))
    assert client.post("/api/settings/api-keys", {"name": "k"}, format="json").status_code == 403
    assert client.get("/api/settings/api-keys").status_code == 403


def test_an_api_key_cannot_mint_keys(client_for):
    response = client_for.post("/api/settings/api-keys", {"name": "k"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Insufficient permissions"


def test_another_clinics_key_cannot_be_revoked(admin_client, foreign_admin_client):
    created = admin_client.post("/api/settings/api-keys", {"name": "k"}, format="json").json()
    response = foreign_admin_client.delete(f"/api/settings/api-keys/{created['id']}")
    assert response.status_code == 404
    assert response.json()["detail"]
    assert ApiKey.objects.get(pk=created["id"]).revoked_at is None
