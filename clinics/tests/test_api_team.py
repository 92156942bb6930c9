"""Team (docs/api/dashboard.md, Team): list, invite by e-mail with a single-use expiring token, remove; the last admin stays."""
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from clinics import services
from clinics.models import AuditEvent, Invitation, Membership, User, hash_secret
from clinics.tests.factories import MembershipFactory, UserFactory
from clinics.errors import DomainError, Forbidden, NotFound

pytestmark = pytest.mark.django_db


def _invite(admin_client, email="new@example.com", role="viewer"):
    response = admin_client.post("/api/team/invite", {"email": email, "role": role}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_members_list_has_the_documented_shape(admin_client, admin_membership):
    response = admin_client.get("/api/team/members")
    assert response.status_code == 200
    assert response.json() == [{"id": str(admin_membership.id), "email": admin_membership.user.email,
                                "role": "admin", "status": "active",
                                "joined_at": admin_membership.joined_at.isoformat().replace("+00:00", "Z")}]


def test_invite_sends_an_email_with_the_accept_url_and_stores_only_a_digest(admin_client, clinic, settings):
    settings.SITE_URL = "https://app.example"
    body = _invite(admin_client, "NewMember@Example.com", "editor")
    assert body["email"] == "newmember@example.com"
    assert body["role"] == "editor"
    assert {"id", "invitation_token", "expires_at"} <= set(body)
    invitation = Invitation.objects.get(pk=body["id"])
    assert invitation.digest == hash_secret(body["invitation_token"])
    assert invitation.expires_at > timezone.now() + timedelta(days=6)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["newmember@example.com"]
    assert f"https://app.example/invite/{body['invitation_token']}" in mail.outbox[0].body
    listed = admin_client.get("/api/team/members").json()
    assert {"id": body["id"], "status": "pending"}.items() <= listed[-1].items()
    assert AuditEvent.objects.filter(action="membership.invited", object_id=body["id"]).exists()


def test_accepting_an_invitation_with_a_password_creates_the_member_and_burns_the_token(admin_client, clinic):
    token = _invite(admin_client, role="editor")["invitation_token"]
    membership = services.invitation_accept(token=token, password="A-long-enough-pass-42")
    assert membership.clinic == clinic
    assert membership.role == "editor"
    assert membership.user.check_password("A-long-enough-pass-42")
    with pytest.raises(DomainError) as reused:
        services.invitation_accept(token=token, password="A-long-enough-pass-42")
    assert isinstance(reused.value, NotFound)
    assert AuditEvent.objects.filter(action="membership.created", object_id=str(membership.id)).exists()


def test_signed_in_user_accepts_only_an_invitation_for_their_email(admin_client, clinic):
    existing = UserFactory(email="new@example.com")
    token = _invite(admin_client)["invitation_token"]
    with pytest.raises(DomainError) as mismatch:
        services.invitation_accept(token=token, user=UserFactory())
    assert isinstance(mismatch.value, Forbidden)
    with pytest.raises(DomainError) as needs_sign_in:
        services.invitation_accept(token=token, password="A-long-enough-pass-42")
    assert needs_sign_in.value.code == "ACCOUNT_EXISTS"
    membership = services.invitation_accept(token=token, user=existing)
    assert membership.user == existing


def test_expired_invitation_cannot_be_accepted(admin_client):
    body = _invite(admin_client)
    Invitation.objects.filter(pk=body["id"]).update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(DomainError) as expired:
        services.invitation_accept(token=body["invitation_token"], password="A-long-enough-pass-42")
    assert expired.value.code == "INVITATION_INVALID"
    assert not User.objects.filter(email="new@example.com").exists()


def test_inviting_an_existing_member_is_409_and_bad_role_400(admin_client, admin_membership):
    taken = admin_client.post("/api/team/invite", {"email": admin_membership.user.email, "role": "viewer"},
                              format="json")
    assert taken.status_code == 409
    assert taken.json()["detail"]
    bad = admin_client.post("/api/team/invite", {"email": "x@example.com", "role": "owner"}, format="json")
    assert bad.status_code == 400
    assert "role" in bad.json()["errors"]


def test_admin_removes_a_member(admin_client, clinic):
    member = MembershipFactory(clinic=clinic, role="editor")
    response = admin_client.delete(f"/api/team/members/{member.id}")
    assert response.status_code == 200
    assert response.json() == {"message": "Team member removed successfully"}
    assert not Membership.objects.filter(pk=member.pk).exists()
    assert AuditEvent.objects.filter(action="membership.removed", object_id=str(member.id)).exists()


def test_deleting_a_pending_invitation_revokes_it(admin_client):
    body = _invite(admin_client)
    assert admin_client.delete(f"/api/team/members/{body['id']}").status_code == 200
    with pytest.raises(DomainError):
        services.invitation_accept(token=body["invitation_token"], password="A-long-enough-pass-42")


def test_the_last_admin_cannot_be_removed(admin_client, admin_membership):
    response = admin_client.delete(f"/api/team/members/{admin_membership.id}")
    assert response.status_code == 409
    assert response.json()["detail"] == "The last admin of a clinic cannot be removed."
    assert Membership.objects.filter(pk=admin_membership.pk).exists()


def test_an_admin_can_be_removed_while_another_remains(admin_client, clinic, admin_membership):
    MembershipFactory(clinic=clinic, role="admin")
    assert admin_client.delete(f"/api/team/members/{admin_membership.id}").status_code == 200


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_editors_and_viewers_read_the_team_but_do_not_manage_it(login_client, clinic, admin_membership, role):
    client = login_client(MembershipFactory(clinic=clinic, role=role))
    assert client.get("/api/team/members").status_code == 200
    assert client.post("/api/team/invite", {"email": "x@example.com", "role": "viewer"},
                       format="json").status_code == 403
    assert client.delete(f"/api/team/members/{admin_membership.id}").status_code == 403


def test_another_clinics_member_is_404(foreign_admin_client, clinic):
    member = MembershipFactory(clinic=clinic, role="editor")
    response = foreign_admin_client.delete(f"/api/team/members/{member.id}")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=member.pk).exists()


def test_removed_member_loses_their_refresh_tokens(login_client, admin_client, clinic):
    from rest_framework.test import APIClient

    jwt_client_for = login_client(MembershipFactory(clinic=clinic, role="editor"))
    admin_client.delete(f"/api/team/members/{jwt_client_for.membership.id}")
    response = APIClient().post("/api/auth/refresh", {"refresh_token": jwt_client_for.tokens["refresh_token"]},
                                format="json")
    assert response.status_code == 401
    assert jwt_client_for.get("/api/auth/me").status_code == 401


def test_invitation_token_is_url_safe(admin_client):
    assert re.fullmatch(r"[A-Za-z0-9_-]{40,}", _invite(admin_client)["invitation_token"])
