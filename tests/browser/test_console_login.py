"""The console in Chromium: sign-in with a TOTP code, and the forced two-factor set-up of a new admin."""
import re

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def code_for(device):
    from clinics.management.commands.demo_login import current_code

    return current_code(device)


def test_demo_admin_signs_in_with_totp_and_sees_the_clinic(page):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinics.management.commands.seed_demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD

    call_command("seed_demo")
    page.goto("/login/")
    page.get_by_label("E-mail").fill(DEMO_ADMIN_EMAIL)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(r"/login/verify/"))
    device = TOTPDevice.objects.get(user__email=DEMO_ADMIN_EMAIL, confirmed=True)
    page.get_by_label("Code from your authenticator app").fill(code_for(device))
    page.get_by_role("button", name="Verify").click()

    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome to Clínica Demo"
    assert page.get_by_role("link", name="API keys").is_visible()


def test_admin_without_device_is_forced_to_set_up_two_factor(page):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinics.models import Membership
    from clinics.tests.factories import ClinicFactory, MembershipFactory, UserFactory

    clinic = ClinicFactory(name="Clínica Nova")
    user = UserFactory(email="new-admin@clinic.test")
    MembershipFactory(clinic=clinic, user=user, role=Membership.Role.ADMIN)

    page.goto("/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill("correct-horse-battery-staple")
    page.get_by_role("button", name="Sign in").click()

    page.wait_for_url(re.compile(r"/profile/two-factor/"))
    assert "otpauth://totp/" in page.get_by_test_id("otpauth-url").inner_text()
    assert page.locator(".qr svg").count() == 1
    # Every console page keeps sending the admin back here until a device is confirmed.
    page.goto("/team/")
    page.wait_for_url(re.compile(r"/profile/two-factor/"))

    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page.get_by_label("Code from your authenticator app").fill(code_for(device))
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    page.wait_for_url(re.compile(r"/team/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Team"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed


def test_language_switch_translates_the_login_page(page):
    page.goto("/login/")
    page.get_by_label("Language").select_option("fr")
    page.wait_for_load_state()
    page.get_by_role("heading", name="Se connecter").wait_for()
    page.get_by_label("Langue").select_option("pt-pt")
    page.get_by_role("heading", name="Iniciar sessão").wait_for()
    assert page.locator("html").get_attribute("lang") == "pt-pt"


def test_admin_creates_sees_once_and_revokes_an_api_key(signed_in_page):
    from clinics.models import ApiKey, hash_secret

    page = signed_in_page
    page.get_by_role("link", name="API keys").click()
    page.get_by_label("Name").fill("Website widget")
    page.get_by_label("Write").check()
    page.get_by_role("button", name="Create key").click()
    raw = page.get_by_test_id("new-api-key").inner_text().strip()
    key = ApiKey.objects.get(name="Website widget")
    assert key.digest == hash_secret(raw) and key.permissions == ["read", "write"]

    page.reload()
    assert page.get_by_test_id("new-api-key").count() == 0
    page.get_by_role("row", name="Website widget").get_by_role("button", name="Revoke").click()
    page.get_by_role("row", name="Website widget").get_by_text("Revoked").wait_for()
    key.refresh_from_db()
    assert key.revoked_at is not None
