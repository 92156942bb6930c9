"""A Playwright page on Debian's Chromium, pointed at pytest-django's live server."""

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update"]


@pytest.fixture(scope="module")
def browser(chromium):
    """The module's Chromium (see the root conftest's `chromium`)."""
    return chromium


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context (own cookies) whose relative URLs resolve against the live server."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page, email, password, totp_device=None):
    """Sign in through the console's form; with a TOTP device, pass the second step with its current code."""
    import re

    from clinics.management.commands.demo_login import current_code

    page.goto("/login/")
    page.locator("input[name=username]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("form button[type=submit]").click()
    if totp_device is not None:
        page.wait_for_url(re.compile(r"/login/verify/"))
        page.locator("input[name=code]").fill(current_code(totp_device))
        page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    return page


@pytest.fixture
def signed_in_page(page, transactional_db):
    """`page` signed in as the seeded demo admin (Clínica Demo), both sign-in steps passed."""
    from django.core.management import call_command
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from clinics.management.commands.seed_demo import DEMO_ADMIN_EMAIL, DEMO_PASSWORD

    call_command("seed_demo")
    device = TOTPDevice.objects.get(user__email=DEMO_ADMIN_EMAIL, confirmed=True)
    return sign_in(page, DEMO_ADMIN_EMAIL, DEMO_PASSWORD, device)
