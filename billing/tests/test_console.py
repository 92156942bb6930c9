"""The console billing page: plan, usage, invoices and the buttons, for admins only."""
import pytest

from billing.models import Subscription
from billing.tests.factories import InvoiceFactory, SubscriptionFactory
from clinics.models import Membership
from clinics.tests.factories import MembershipFactory, sign_in_verified

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(client, clinic):
    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)


def test_the_billing_page_shows_plan_usage_and_invoices(admin, clinic):
    SubscriptionFactory(clinic=clinic, plan="starter")
    InvoiceFactory(clinic=clinic, number="FD-2026-0042")

    page = admin.get("/billing/", HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    text = page.content.decode()
    # Money in the reader's format (clinics.money): the invoice of 149 euros, the starter plan of 49.
    assert "Starter" in text and "FD-2026-0042" in text and "€149.00" in text and "€49.00" in text
    assert "/ 1000" in text  # minutes of the starter plan
    assert 'action="/billing/portal/"' in text and 'action="/billing/change-plan/"' in text


def test_a_free_clinic_is_offered_upgrades_that_lead_to_checkout(admin, clinic):
    page = admin.get("/billing/")
    assert 'action="/billing/upgrade/"' in page.content.decode()

    response = admin.post("/billing/upgrade/", {"plan": "premium"})

    assert response.status_code == 302
    assert "/billing/checkout/" in response["Location"]


def test_editors_may_not_open_the_billing_page(client, clinic):
    editor = MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)
    client.force_login(editor.user)

    assert client.get("/billing/").status_code == 403


def test_another_clinics_checkout_session_is_not_found(admin, clinic, other_clinic, jwt_client_for):
    foreign = jwt_client_for(other_clinic)
    url = foreign.post("/api/billing/create-checkout", {"price_id": "price_starter_monthly"},
                       format="json").json()["checkout_url"]
    path = url.split("127.0.0.1:8000", 1)[-1]

    assert admin.get(path).status_code == 404
    assert admin.post(path, {"action": "pay"}).status_code == 404
    assert admin.get("/billing/checkout/forged-session").status_code == 404
    assert not Subscription.objects.exists()


def test_cancel_from_the_console_keeps_the_plan_until_period_end(admin, clinic):
    SubscriptionFactory(clinic=clinic)

    response = admin.post("/billing/cancel/")

    assert response.status_code == 302
    assert Subscription.objects.get(clinic=clinic).cancel_at_period_end is True


def test_the_billing_page_speaks_portuguese(admin, clinic):
    page = admin.get("/billing/", HTTP_ACCEPT_LANGUAGE="pt-pt")

    text = page.content.decode()
    assert "Faturação" in text and "Utilização neste período" in text


def test_switching_plan_in_the_console_is_scheduled_and_shown_until_the_renewal(admin, clinic):
    subscription = SubscriptionFactory(clinic=clinic, plan="starter", stripe_price_id="price_starter_monthly")

    response = admin.post("/billing/change-plan/", {"plan": "premium"}, follow=True)

    text = response.content.decode()
    assert "Plan change scheduled." in text and "Switches to Premium on" in text
    subscription.refresh_from_db()
    assert (subscription.plan, subscription.scheduled_plan) == ("starter", "premium")
