"""The console shell through the Django test client: sign-in with two factors, switcher, team, keys, i18n."""
import re

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinics.management.commands.demo_login import current_code
from clinics.models import ApiKey, Clinic, Membership, hash_secret
from clinics.tests.factories import ClinicFactory, MembershipFactory, UserFactory

PASSWORD = "correct-horse-battery-staple"


def totp_device(user, confirmed=True):
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=confirmed)


def sign_in(client, user, device=None):
    """A console session as after both sign-in steps."""
    client.force_login(user)
    if device is not None:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def admin(clinic):
    return MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN, user=UserFactory(email="admin@clinic.test"))


@pytest.fixture
def viewer(clinic):
    return MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER, user=UserFactory(email="viewer@clinic.test"))


@pytest.fixture
def admin_client(client, admin):
    return sign_in(client, admin.user, totp_device(admin.user))


def test_login_page_renders_form_and_reset_link(client, db):
    response = client.get(reverse("console:login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content and b'type="email"' in response.content
    assert reverse("console:password_reset").encode() in response.content


def test_anonymous_visitor_is_sent_to_login(client, db):
    response = client.get(reverse("console:home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login"))


def test_viewer_signs_in_with_email_in_any_case_and_sees_clinic(client, viewer):
    response = client.post(reverse("console:login"), {"username": "Viewer@Clinic.TEST", "password": PASSWORD},
                           follow=True)
    assert response.redirect_chain[-1][0] == reverse("console:home")
    assert viewer.clinic.name in response.content.decode()


def test_wrong_password_is_refused(client, viewer):
    response = client.post(reverse("console:login"), {"username": viewer.user.email, "password": "nope"})
    assert response.status_code == 200
    assert "didn&#x27;t match" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_admin_with_device_needs_code_after_password(client, admin):
    device = totp_device(admin.user)
    response = client.post(reverse("console:login"), {"username": admin.user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login_verify"))
    # The password alone signs nobody in.
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("console:home")).status_code == 302

    response = client.post(response["Location"], {"code": current_code(device)})
    assert response.status_code == 302 and response["Location"] == reverse("console:home")
    home = client.get(reverse("console:home"))
    assert home.status_code == 200 and admin.clinic.name in home.content.decode()


def test_wrong_code_is_refused_and_five_wrong_codes_restart_sign_in(client, admin):
    device = totp_device(admin.user)
    good = current_code(device)
    wrong = f"{(int(good) + 1) % 1000000:06d}"
    client.post(reverse("console:login"), {"username": admin.user.email, "password": PASSWORD})
    response = client.post(reverse("console:login_verify"), {"code": wrong})
    assert response.status_code == 200 and "not valid" in response.content.decode()
    for _ in range(4):
        response = client.post(reverse("console:login_verify"), {"code": wrong})
    assert response.status_code == 302 and response["Location"] == reverse("console:login")
    assert client.post(reverse("console:login_verify"), {"code": good})["Location"].startswith(
        reverse("console:login"))
    assert "_auth_user_id" not in client.session


def test_verify_step_without_password_step_goes_back_to_login(client, db):
    response = client.get(reverse("console:login_verify"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("console:login"))


def test_admin_without_device_must_set_up_two_factor_first(client, admin):
    client.post(reverse("console:login"), {"username": admin.user.email, "password": PASSWORD})
    for page in ("console:home", "console:team", "console:api_keys"):
        response = client.get(reverse(page))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("console:two_factor_setup"))

    setup = client.get(reverse("console:two_factor_setup"))
    body = setup.content.decode()
    assert setup.status_code == 200 and "otpauth://totp/" in body and "<svg" in body
    device = TOTPDevice.objects.get(user=admin.user, confirmed=False)

    response = client.post(reverse("console:two_factor_setup") + "?next=/team/", {"code": current_code(device)})
    assert response.status_code == 302 and response["Location"] == "/team/"
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("console:home")).status_code == 200


def test_two_factor_setup_rejects_a_wrong_code(client, admin):
    client.force_login(admin.user)
    client.get(reverse("console:two_factor_setup"))
    response = client.post(reverse("console:two_factor_setup"), {"code": "12345"})
    assert response.status_code == 200 and "6-digit" in response.content.decode()
    assert not TOTPDevice.objects.filter(user=admin.user, confirmed=True).exists()


def test_signed_in_admin_with_unverified_session_is_asked_for_code(client, admin):
    totp_device(admin.user)
    client.force_login(admin.user)
    response = client.get(reverse("console:home"))
    assert response["Location"].startswith(reverse("console:login_verify"))


def test_profile_shows_two_factor_state(admin_client, admin):
    body = admin_client.get(reverse("console:profile")).content.decode()
    assert admin.user.email in body and "phone" in body and admin.clinic.name in body


def test_staff_user_without_clinic_sees_no_clinic_page(client, db):
    staff = UserFactory(email="support@frontdesk.test", is_staff=True)
    client.force_login(staff)
    response = client.get(reverse("console:home"))
    assert response.status_code == 403 and "not a member of any clinic" in response.content.decode()
    # Support staff reach their profile to set up the second factor the Django admin asks for.
    assert reverse("console:profile") in response.content.decode()
    assert client.get(reverse("console:profile")).status_code == 200
    assert client.get(reverse("console:two_factor_setup")).status_code == 200


def test_django_admin_requires_a_verified_second_factor(client, db):
    superuser = UserFactory(email="root@frontdesk.test", is_staff=True, is_superuser=True)
    client.force_login(superuser)
    assert client.get("/admin/").status_code == 302
    sign_in(client, superuser, totp_device(superuser))
    assert client.get("/admin/").status_code == 200


def test_clinic_switcher_changes_active_clinic(admin_client, admin):
    second = ClinicFactory(name="Segunda Clínica")
    MembershipFactory(clinic=second, user=admin.user, role=Membership.Role.VIEWER)
    response = admin_client.post(reverse("console:switch_clinic"), {"clinic_id": str(second.id), "next": "/"})
    assert response.status_code == 302
    assert admin_client.session["clinic_id"] == str(second.id)
    assert "Segunda Clínica" in admin_client.get("/").content.decode()
    # Viewer in the second clinic: the keys page is for admins.
    assert admin_client.get(reverse("console:api_keys")).status_code == 403


def test_clinic_switcher_answers_404_for_a_foreign_or_malformed_clinic(admin_client, other_clinic):
    assert admin_client.post(reverse("console:switch_clinic"), {"clinic_id": str(other_clinic.id)}).status_code == 404
    assert admin_client.post(reverse("console:switch_clinic"), {"clinic_id": "not-a-uuid"}).status_code == 404
    assert "clinic_id" not in admin_client.session


def test_clinic_switcher_ignores_an_offsite_next(admin_client, admin):
    response = admin_client.post(reverse("console:switch_clinic"),
                                 {"clinic_id": str(admin.clinic_id), "next": "https://evil.example/"})
    assert response["Location"] == reverse("console:home")


def test_language_switch_translates_the_console(client, db):
    client.post(reverse("set_language"), {"language": "pt-pt", "next": "/login/"})
    assert "Iniciar sessão" in client.get(reverse("console:login")).content.decode()
    client.post(reverse("set_language"), {"language": "fr", "next": "/login/"})
    assert "Se connecter" in client.get(reverse("console:login")).content.decode()
    client.post(reverse("set_language"), {"language": "pt-br", "next": "/login/"})
    assert "Entrar" in client.get(reverse("console:login")).content.decode()


def test_navigation_renders_every_section_without_errors(admin_client):
    body = admin_client.get(reverse("console:home")).content.decode()
    for label in ("Home", "Agenda", "Patients", "Calls", "Outbox", "Notes", "Knowledge", "Campaigns", "Team",
                  "API keys", "Settings"):
        assert f">{label}</a>" in body
    assert f'href="{reverse("console:team")}"' in body


def test_team_lists_members_of_the_active_clinic_only(admin_client, admin, viewer, other_clinic):
    outsider = MembershipFactory(clinic=other_clinic, user=UserFactory(email="outsider@clinic.test"))
    body = admin_client.get(reverse("console:team")).content.decode()
    assert admin.user.email in body and viewer.user.email in body and outsider.user.email not in body


def test_admin_removes_a_member(admin_client, viewer):
    response = admin_client.post(reverse("console:team_remove", args=[viewer.id]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=viewer.pk).exists()


def test_last_admin_cannot_be_removed(client, admin):
    second = MembershipFactory(clinic=admin.clinic, role=Membership.Role.ADMIN,
                               user=UserFactory(email="second@clinic.test"))
    sign_in(client, second.user, totp_device(second.user))
    client.post(reverse("console:team_remove", args=[admin.id]))
    assert not Membership.objects.filter(pk=admin.pk).exists()
    response = client.post(reverse("console:team_remove", args=[second.id]), follow=True)
    assert Membership.objects.filter(pk=second.pk).exists()
    assert "last admin" in response.content.decode()


def test_team_removal_of_foreign_member_is_404_and_viewer_is_403(client, admin_client, viewer, other_clinic):
    outsider = MembershipFactory(clinic=other_clinic)
    assert admin_client.post(reverse("console:team_remove", args=[outsider.id])).status_code == 404
    assert Membership.objects.filter(pk=outsider.pk).exists()
    sign_in(client, viewer.user)
    assert client.post(reverse("console:team_remove", args=[viewer.id])).status_code == 403


def test_api_key_is_shown_once_and_stored_hashed(admin_client, admin):
    response = admin_client.post(reverse("console:api_keys"), {"name": "Website", "permissions": ["read"]})
    assert response.status_code == 302 and response["Location"] == reverse("console:api_keys")
    shown = admin_client.get(response["Location"])
    assert shown["Cache-Control"] == "no-store"
    raw = re.search(r'data-testid="new-api-key">([^<]+)<', shown.content.decode()).group(1)
    assert "console_new_api_key" not in admin_client.session
    key = ApiKey.objects.get(clinic=admin.clinic, name="Website")
    assert key.digest == hash_secret(raw) and key.permissions == ["read"] and key.created_by == admin.user
    assert raw not in admin_client.get(reverse("console:api_keys")).content.decode()


def test_api_key_form_rejects_bad_input(admin_client, admin):
    response = admin_client.post(reverse("console:api_keys"),
                                 {"name": "", "permissions": ["admin"], "expires_at": "2000-01-01T00:00"})
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"name", "permissions", "expires_at"}
    assert not ApiKey.objects.filter(clinic=admin.clinic).exists()


def test_api_key_revoke_sets_revoked_at_and_foreign_key_is_404(admin_client, admin, other_clinic):
    key, _raw = ApiKey.issue(admin.clinic, "old")
    foreign, _ = ApiKey.issue(other_clinic, "theirs")
    assert admin_client.post(reverse("console:api_key_revoke", args=[key.id])).status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert admin_client.post(reverse("console:api_key_revoke", args=[foreign.id])).status_code == 404
    foreign.refresh_from_db()
    assert foreign.revoked_at is None


def test_api_keys_page_is_for_admins(client, viewer):
    sign_in(client, viewer.user)
    assert client.get(reverse("console:api_keys")).status_code == 403


def test_password_reset_mails_a_working_link(client, viewer):
    response = client.post(reverse("console:password_reset"), {"email": viewer.user.email})
    assert response["Location"] == reverse("console:password_reset_done")
    assert len(mail.outbox) == 1
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_url = client.get(link)["Location"]
    response = client.post(form_url, {"new_password1": "a-new-long-password-2026",
                                      "new_password2": "a-new-long-password-2026"})
    assert response["Location"] == reverse("console:password_reset_complete")
    viewer.user.refresh_from_db()
    assert viewer.user.check_password("a-new-long-password-2026")


def test_logout_ends_the_session(admin_client):
    response = admin_client.post(reverse("console:logout"))
    assert response["Location"] == reverse("console:login")
    assert admin_client.get(reverse("console:home")).status_code == 302


def test_unknown_page_renders_translated_404(client, db):
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    response = client.get("/no-such-page/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert "Page introuvable" in response.content.decode()


def test_seed_demo_is_idempotent_and_prints_the_key_once(db, capsys):
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    clinic = Clinic.objects.get(slug="demo")
    assert clinic.name == "Clínica Demo" and clinic.timezone == "Europe/Lisbon" and clinic.locale == "pt-pt"
    key = ApiKey.objects.get(clinic=clinic)
    raw = re.search(r"(fd_live_\S+)", first).group(1)
    assert key.digest == hash_secret(raw) and raw not in second
    roles = dict(clinic.memberships.values_list("user__email", "role"))
    assert roles == {"demo@frontdesk.local": "admin", "viewer@frontdesk.local": "viewer"}
    assert TOTPDevice.objects.filter(user__email="demo@frontdesk.local", confirmed=True).count() == 1


def test_demo_login_prints_a_code_the_device_accepts(db, capsys):
    call_command("seed_demo")
    capsys.readouterr()
    call_command("demo_login")
    out = capsys.readouterr().out
    code = re.search(r"TOTP code: (\d{6})", out).group(1)
    assert "demo-frontdesk-2026" in out and "otpauth://totp/" in out
    assert TOTPDevice.objects.get(user__email="demo@frontdesk.local").verify_token(code)


def test_admin_invites_and_new_person_accepts_with_a_password(admin_client, admin):
    from django.test import Client

    response = admin_client.post(reverse("console:team_invite"), {"email": "New@Clinic.test", "role": "editor"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["new@clinic.test"]
    path = re.search(r"https?://[^/\s]+(/invite/\S+)", mail.outbox[0].body).group(1)
    assert "new@clinic.test" in admin_client.get(reverse("console:team")).content.decode()

    newcomer = Client()
    page = newcomer.get(path)
    assert page.status_code == 200 and admin.clinic.name in page.content.decode()
    response = newcomer.post(path, {"password1": "a-long-new-password-2026", "password2": "a-long-new-password-2026"})
    assert response.status_code == 302
    membership = Membership.objects.get(clinic=admin.clinic, user__email="new@clinic.test")
    assert membership.role == "editor"
    # The token works once.
    assert newcomer.get(path).status_code == 404


def test_invite_form_rejects_bad_input_and_viewers_cannot_invite(client, admin_client, viewer):
    response = admin_client.post(reverse("console:team_invite"), {"email": "not-an-email", "role": "owner"})
    assert response.status_code == 400
    assert set(response.context["invite_form"].errors) == {"email", "role"}
    assert not mail.outbox
    sign_in(client, viewer.user)
    assert client.post(reverse("console:team_invite"), {"email": "x@clinic.test", "role": "viewer"}).status_code == 403


def test_unknown_invitation_token_is_404(client, db):
    response = client.get("/invite/not-a-real-token")
    assert response.status_code == 404 and "invalid or has expired" in response.content.decode()


def test_admin_saves_clinic_settings_with_the_api_rules(admin_client, admin):
    data = {"name": "Clínica Renovada", "slug": "renovada", "timezone": "Europe/Paris", "locale": "fr",
            "phone": "+33 1 42 68 53 00", "email": "ola@clinic.test", "address": "Rua Nova 1"}
    response = admin_client.post(reverse("console:settings"), data)
    assert response.status_code == 302
    clinic = Clinic.objects.get(pk=admin.clinic_id)
    assert (clinic.name, clinic.slug, clinic.timezone, clinic.locale, clinic.phone) == (
        "Clínica Renovada", "renovada", "Europe/Paris", "fr", "+33142685300")


def test_clinic_settings_reject_bad_input_and_a_taken_slug(admin_client, admin, other_clinic):
    response = admin_client.post(reverse("console:settings"), {
        "name": "X", "slug": other_clinic.slug, "timezone": "Mars/Olympus", "locale": "en", "phone": "12"})
    assert response.status_code == 400
    assert {"slug", "timezone", "phone"} <= set(response.context["form"].errors)
    assert Clinic.objects.get(pk=admin.clinic_id).name == admin.clinic.name


def test_clinic_settings_are_for_admins(client, viewer):
    sign_in(client, viewer.user)
    assert client.get(reverse("console:settings")).status_code == 403


def test_oauth_consent_template_shows_app_scopes_and_buttons(rf, db):
    from django.template.loader import render_to_string
    from oauth2_provider.forms import AllowForm

    request = rf.get("/oauth/authorize")
    request.user = UserFactory()
    form = AllowForm(initial={"client_id": "abc", "scope": "read", "state": "s1"})
    body = render_to_string("oauth2_provider/authorize.html", {
        "form": form, "application": type("App", (), {"name": "Agenda Sync"}),
        "scopes_descriptions": ["Read your clinic's data"], "error": None}, request=request)
    assert "Allow Agenda Sync to use Frontdesk?" in body
    assert 'name="client_id"' in body and 'type="hidden"' in body
    assert 'name="allow" value="Authorize"' in body and "Read your clinic&#x27;s data" in body


def test_console_logins_are_audited_and_five_failures_lock_the_email(client, viewer, settings):
    from clinics.models import AuditEvent

    for _ in range(5):
        client.post(reverse("console:login"), {"username": viewer.user.email, "password": "wrong"})
    response = client.post(reverse("console:login"), {"username": viewer.user.email, "password": PASSWORD})
    assert response.status_code == 200 and "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
    actions = list(AuditEvent.objects.filter(actor_label=viewer.user.email).values_list("action", flat=True))
    assert actions.count("auth.login_failed") == 5 and "auth.login_locked" in actions
    assert AuditEvent.objects.filter(action="auth.login_failed", clinic_id=viewer.clinic_id).count() == 5


def test_successful_console_login_with_totp_is_audited(client, admin):
    from clinics.models import AuditEvent

    device = totp_device(admin.user)
    client.post(reverse("console:login"), {"username": admin.user.email, "password": PASSWORD})
    client.post(reverse("console:login_verify"), {"code": current_code(device)})
    event = AuditEvent.objects.get(action="auth.login")
    assert event.clinic_id == admin.clinic_id and event.actor_id == str(admin.user.pk)
    assert event.extra.get("second_factor") == "totp"


def test_team_and_key_pages_use_a_bounded_number_of_queries(admin_client, admin, django_assert_max_num_queries):
    for n in range(10):
        MembershipFactory(clinic=admin.clinic, role=Membership.Role.VIEWER)
        ApiKey.issue(admin.clinic, f"key {n}", created_by=admin.user)
    # The home's bound (its figures come from campaigns) is asserted in campaigns/tests/test_home.py.
    for page in ("console:team", "console:api_keys"):
        with django_assert_max_num_queries(12):
            assert admin_client.get(reverse(page)).status_code == 200


def test_django_admin_login_asks_for_an_otp_token(client, db):
    body = client.get("/admin/login/").content.decode()
    assert 'name="otp_token"' in body


def test_navigation_hides_admin_pages_from_viewers(client, viewer):
    sign_in(client, viewer.user)
    body = client.get(reverse("console:home")).content.decode()
    assert ">Team</a>" in body and ">API keys</a>" not in body and ">Settings</a>" not in body
