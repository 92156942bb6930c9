"""The console's Integrations page: connection state, Connect (to Google's consent, or the offline stand-in),
Google's redirect back to /integrations/google/callback, and Disconnect. Admins only."""
from urllib.parse import parse_qs, urlsplit

import pytest

from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, sign_in_verified
from scheduling.calendar_sync.models import CalendarConnection, LocalCalendarEvent
from scheduling.tests.calendar_support import calendar_settings, connect, fake_google, form_of  # noqa: F401
from scheduling.tests.conftest import upcoming
from scheduling.tests.factories import AppointmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, clinic):
    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)


def test_an_unconnected_clinic_is_offered_connect(admin):
    page = admin.get("/integrations/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Not connected" in text and 'action="/integrations/google/connect/"' in text


def test_connect_sends_the_admin_to_googles_consent_screen(admin, fake_google):
    response = admin.post("/integrations/google/connect/")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc == "accounts.google.com"
    query = parse_qs(location.query)
    assert query["redirect_uri"] == ["https://frontdesk.test/integrations/google/callback"]
    assert query["code_challenge_method"] == ["S256"]


def test_googles_redirect_back_connects_the_clinic(admin, clinic, fake_google):
    state = parse_qs(urlsplit(admin.post("/integrations/google/connect/")["Location"]).query)["state"][0]
    fake_google.expect_oneshot_request("/token", method="POST").respond_with_json(
        {"access_token": "ya29.console", "refresh_token": "1//console", "expires_in": 3599})

    response = admin.get("/integrations/google/callback", {"code": "4/browser-code", "state": state}, follow=True)

    assert response.status_code == 200
    assert form_of(fake_google.log[0][0])["code"] == "4/browser-code"
    assert CalendarConnection.objects.get(clinic=clinic).refresh_token == "1//console"
    text = response.content.decode()
    assert "Google Calendar connected" in text and 'action="/integrations/google/disconnect/"' in text


def test_a_declined_consent_or_bad_state_shows_why_and_connects_nothing(admin, fake_google):
    declined = admin.get("/integrations/google/callback", {"error": "access_denied", "state": "x"}, follow=True)
    forged = admin.get("/integrations/google/callback", {"code": "4/c", "state": "forged"}, follow=True)

    assert "was not connected" in declined.content.decode()
    assert "Invalid, expired or already used" in forged.content.decode()
    assert not CalendarConnection.objects.exists() and fake_google.log == []


def test_offline_connect_comes_straight_back_and_shows_what_would_be_in_google(admin, clinic):
    response = admin.post("/integrations/google/connect/", follow=True)

    assert response.redirect_chain[0][0].startswith("/integrations/google/callback?code=")
    assert CalendarConnection.objects.filter(clinic=clinic, status="active").exists()
    appointment = AppointmentFactory(professional__clinic=clinic, starts_at=upcoming(clinic=clinic))
    from scheduling.calendar_sync import tasks
    tasks.sync_appointment.delay(str(appointment.pk))
    assert LocalCalendarEvent.objects.filter(clinic=clinic).count() == 1

    page = admin.get("/integrations/").content.decode()

    assert "Would be in Google Calendar" in page and appointment.service.name in page


def test_disconnect_from_the_console(admin, clinic):
    connect(clinic)

    response = admin.post("/integrations/google/disconnect/", follow=True)

    assert "Calendar disconnected successfully" in response.content.decode()
    assert not CalendarConnection.objects.exists()


def test_editors_may_not_open_or_use_the_integrations_pages(client, clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR).user)
    connect(clinic)

    assert client.get("/integrations/").status_code == 403
    assert client.post("/integrations/google/disconnect/").status_code == 403
    assert client.get("/integrations/google/callback", {"code": "c", "state": "s"}).status_code == 403
    assert CalendarConnection.objects.filter(clinic=clinic).exists()


def test_the_page_shows_only_the_admins_own_clinic(admin, other_clinic):
    connect(other_clinic, email="other@clinic.example")

    page = admin.get("/integrations/").content.decode()

    assert "other@clinic.example" not in page and "Not connected" in page
