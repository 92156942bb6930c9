"""Notification settings (docs/api/dashboard.md) and the clinic's configuration at `/v1/tenants/me`
(docs/api/clinic-v1.md)."""
import pytest

from clinics.models import AuditEvent, Membership
from clinics.tests.factories import ClinicFactory, MembershipFactory

pytestmark = pytest.mark.django_db

DEFAULTS = {
    "email_notifications": {"new_conversation": True, "appointment_booked": True, "usage_limit_warning": True,
                            "payment_failed": True, "weekly_summary": True},
    "sms_notifications": {"critical_alerts": True},
}


def test_notification_settings_default_to_the_documented_shape(admin_client):
    response = admin_client.get("/api/settings/notifications")
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_put_merges_a_partial_update_per_member(admin_client, login_client, clinic):
    response = admin_client.put("/api/settings/notifications",
                                {"email_notifications": {"new_conversation": False, "appointment_booked": True}},
                                format="json")
    assert response.status_code == 200
    expected = {**DEFAULTS, "email_notifications": {**DEFAULTS["email_notifications"], "new_conversation": False}}
    assert response.json() == expected
    admin_client.put("/api/settings/notifications", {"sms_notifications": {"critical_alerts": False}},
                     format="json")
    assert admin_client.get("/api/settings/notifications").json() == {
        **expected, "sms_notifications": {"critical_alerts": False}}
    colleague = login_client(MembershipFactory(clinic=clinic, role="viewer"))
    assert colleague.get("/api/settings/notifications").json() == DEFAULTS


def test_viewer_may_change_their_own_notifications(login_client, clinic):
    viewer = login_client(MembershipFactory(clinic=clinic, role="viewer"))
    response = viewer.put("/api/settings/notifications", {"sms_notifications": {"critical_alerts": False}},
                          format="json")
    assert response.status_code == 200


def test_unknown_or_non_boolean_notification_is_400(admin_client, admin_membership):
    unknown = admin_client.put("/api/settings/notifications", {"email_notifications": {"spam": True}},
                               format="json")
    assert unknown.status_code == 400
    assert "email_notifications.spam" in unknown.json()["errors"]
    not_bool = admin_client.put("/api/settings/notifications", {"sms_notifications": {"critical_alerts": "yes"}},
                                format="json")
    assert not_bool.status_code == 400
    assert not_bool.json()["detail"]
    admin_membership.refresh_from_db()
    assert admin_membership.notification_settings == {}


def test_tenant_me_shows_the_clinic(client_for, clinic):
    response = client_for.get("/v1/tenants/me")
    assert response.status_code == 200
    body = response.json()
    assert {"id", "name", "slug", "timezone", "locale", "phone", "email", "address", "kind", "voice",
            "bookingRules"} <= set(body)
    assert body["id"] == str(clinic.id)
    assert body["slug"] == clinic.slug


def test_tenant_me_is_always_the_callers_clinic(foreign_client, clinic, other_clinic):
    assert foreign_client.get("/v1/tenants/me").json()["id"] == str(other_clinic.id)


def test_patch_tenant_normalises_phone_and_audits(client_for, clinic):
    response = client_for.patch("/v1/tenants/me", {
        "name": "Clínica Nova", "phone": "+351 912 345 678", "timezone": "Europe/Paris",
        "voice": {"agent_name": "Sofia", "voice_id": "pt-female-1"}, "bookingRules": {"minNoticeHours": 2}},
        format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["phone"] == "+351912345678"
    assert body["voice"]["agent_name"] == "Sofia"
    clinic.refresh_from_db()
    assert clinic.name == "Clínica Nova"
    assert clinic.timezone == "Europe/Paris"
    assert clinic.booking_rules == {"minNoticeHours": 2}
    event = AuditEvent.objects.get(action="clinic.updated")
    assert event.actor_kind == "key"
    assert set(event.extra["fields"]) == {"name", "phone", "timezone", "voice_settings", "booking_rules"}


@pytest.mark.parametrize("field,value", [("timezone", "Mars/Olympus"), ("phone", "12345"),
                                         ("phone", "+35100"), ("locale", "xx"), ("slug", "not a slug!")])
def test_patch_tenant_rejects_bad_values_in_the_v1_error_shape(client_for, clinic, field, value):
    response = client_for.patch("/v1/tenants/me", {field: value}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert field in error["details"]


def test_patch_tenant_refuses_a_slug_taken_by_another_clinic(client_for):
    ClinicFactory(slug="taken")
    response = client_for.patch("/v1/tenants/me", {"slug": "taken"}, format="json")
    assert response.status_code == 400
    assert "slug" in response.json()["error"]["details"]


def test_editor_cannot_change_the_clinic(login_client, clinic):
    editor = login_client(MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR))
    assert editor.get("/v1/tenants/me").status_code == 200
    assert editor.patch("/v1/tenants/me", {"name": "X"}, format="json").status_code == 403


def test_admin_member_changes_the_clinic_with_a_jwt(admin_client, clinic):
    response = admin_client.patch("/v1/tenants/me", {"slug": "new-slug"}, format="json")
    assert response.status_code == 200
    clinic.refresh_from_db()
    assert clinic.slug == "new-slug"
