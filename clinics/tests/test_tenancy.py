"""Another clinic's ids in writes and bodies: refused as unknown, and nothing of either clinic changes.

Also the shared kernel's bounds: JSON settings are limited in depth and size before they reach the database.
"""
import pytest
from django.utils import timezone

from clinics import ratelimit, services
from clinics.errors import NotFound
from clinics.models import ApiKey, ApiUsage, Invitation, Membership
from clinics.tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def test_monthly_usage_persists_into_the_callers_row_only(clinic, other_clinic):
    month = timezone.now().date().replace(day=1)
    ApiUsage.objects.create(clinic=other_clinic, month=month, calls=7)
    for _call in range(ratelimit.PERSIST_EVERY * 2):
        ratelimit.count_api_call(clinic)
    assert ApiUsage.objects.get(clinic=clinic, month=month).calls == 2 * ratelimit.PERSIST_EVERY
    assert ApiUsage.objects.get(clinic=other_clinic, month=month).calls == 7
    assert ratelimit.monthly_api_calls(other_clinic) == 7


def test_revoking_another_clinics_key_is_not_found_and_the_key_keeps_working(clinic, other_clinic, api_client):
    key, raw = ApiKey.issue(other_clinic, "their key")
    with pytest.raises(NotFound):
        services.api_key_revoke(clinic=clinic, actor=None, key_id=key.pk)
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api_client.get("/v1/tenants/me").status_code == 200


def test_removing_a_member_removes_exactly_that_member(admin_client, admin_membership, clinic, other_clinic):
    leaving = MembershipFactory(clinic=clinic, role="editor")
    staying = MembershipFactory(clinic=clinic, role="viewer")
    elsewhere = MembershipFactory(clinic=other_clinic, role="editor", user=leaving.user)

    response = admin_client.delete(f"/api/team/members/{leaving.id}")

    assert response.status_code == 200
    assert not Membership.objects.filter(pk=leaving.pk).exists()
    assert set(Membership.objects.filter(clinic=clinic).values_list("pk", flat=True)) == {
        admin_membership.pk, staying.pk}
    assert Membership.objects.filter(pk=elsewhere.pk).exists()  # their place in another clinic stays
    listed = {member["id"] for member in admin_client.get("/api/team/members").json()}
    assert str(leaving.id) not in listed and {str(admin_membership.id), str(staying.id)} <= listed


def test_another_clinics_member_or_invitation_id_is_404_and_kept(admin_client, login_client, other_clinic):
    outsider = MembershipFactory(clinic=other_clinic, role="editor")
    foreign_admin = login_client(MembershipFactory(clinic=other_clinic, role="admin"))
    invitation_id = foreign_admin.post("/api/team/invite", {"email": "x@example.com", "role": "viewer"},
                                       format="json").json()["id"]
    for target in (outsider.id, invitation_id):
        response = admin_client.delete(f"/api/team/members/{target}")
        assert response.status_code == 404
        assert response.json()["code"] == "NOT_FOUND"
    assert Membership.objects.filter(pk=outsider.pk).exists()
    assert Invitation.objects.get(pk=invitation_id).revoked_at is None


def test_notification_settings_read_back_after_write(admin_client, admin_membership):
    written = admin_client.put("/api/settings/notifications",
                               {"email_notifications": {"weekly_summary": False}}, format="json")
    assert written.status_code == 200
    read = admin_client.get("/api/settings/notifications")
    assert read.json() == written.json()
    assert read.json()["email_notifications"]["weekly_summary"] is False
    assert read.json()["email_notifications"]["new_conversation"] is True
    admin_membership.refresh_from_db()
    assert admin_membership.notification_settings == {"email_notifications": {"weekly_summary": False}}


def test_notification_settings_refuse_a_non_object_body(admin_client):
    response = admin_client.put("/api/settings/notifications", [1, 2], format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize("voice", [
    {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}},  # six levels
    {"prompt": "x" * 20_000},  # larger than 16 KB
])
def test_tenant_voice_settings_are_bounded(client_for, clinic, voice):
    response = client_for.patch("/v1/tenants/me", {"voice": voice}, format="json")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "VALIDATION_ERROR" and "voice" in body["details"]
    clinic.refresh_from_db()
    assert clinic.voice_settings == {}


def test_overlong_refresh_token_is_400_not_a_server_error(api_client):
    response = api_client.post("/api/auth/refresh", {"refresh_token": "x" * 5000}, format="json")
    assert response.status_code == 400
    assert "refresh_token" in response.json()["errors"]
