"""Billing on the clinic API v1 (docs/api/clinic-v1.md): status, checkout, portal, invoices with keyset cursors."""
from datetime import timedelta

import pytest
from django.utils import timezone

from billing.tests.factories import InvoiceFactory, SubscriptionFactory
from clinics import ratelimit
from clinics.models import Membership
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db


def test_status_shows_the_free_plan_and_its_1000_api_calls_a_month(client_for, clinic):
    CallFactory(clinic=clinic, duration_secs=300, created_at=timezone.now())
    for _ in range(9):
        ratelimit.count_api_call(clinic)

    response = client_for.get("/v1/billing/status")

    assert response.status_code == 200
    body = response.json()
    assert (body["plan"], body["status"], body["currentPeriodEnd"], body["cancelAtPeriodEnd"]) == (
        "free", "active", None, False)
    assert body["features"]["api_calls_per_month"] == 1000
    usage = body["usage"]
    assert (usage["minutesUsed"], usage["minutesLimit"], usage["conversationsCount"]) == (5.0, 100, 1)
    assert (usage["apiCallsUsed"], usage["apiCallsLimit"], usage["apiCallsPercentage"]) == (10, 1000, 1.0)
    assert usage["periodStart"].startswith(timezone.now().date().replace(day=1).isoformat())


def test_status_of_a_paid_plan(client_for, clinic):
    SubscriptionFactory(clinic=clinic, plan="premium", cancel_at_period_end=True)

    body = client_for.get("/v1/billing/status").json()

    assert (body["plan"], body["cancelAtPeriodEnd"]) == ("premium", True)
    assert body["usage"]["apiCallsLimit"] == 1_000_000


@pytest.mark.parametrize("path", ["/v1/billing/status", "/v1/billing/invoices"])
def test_a_read_only_key_may_not_see_billing(make_client, clinic, path):
    response = make_client(clinic, permissions=("read",)).get(path)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_an_editor_may_not_start_a_checkout_on_v1(clinic, jwt_client_for):
    response = jwt_client_for(clinic, Membership.Role.EDITOR).post("/v1/billing/checkout", {"plan": "starter"},
                                                                  format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_checkout_without_price_or_plan_is_a_400_in_v1_format(client_for):
    response = client_for.post("/v1/billing/checkout", {}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["details"] == {"priceId": ["Give priceId or plan."]}


def test_checkout_of_the_free_plan_is_a_400_in_v1_format(client_for):
    response = client_for.post("/v1/billing/checkout", {"plan": "free"}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "UNKNOWN_PLAN"


def test_checkout_with_the_local_backend_answers_a_console_url(client_for):
    response = client_for.post("/v1/billing/checkout", {"priceId": "price_starter_monthly"}, format="json")

    assert response.status_code == 200
    assert "/billing/checkout/" in response.json()["url"] and response.json()["sessionId"]


def test_portal_without_a_billing_account_is_a_409_in_v1_format(client_for):
    response = client_for.post("/v1/billing/portal", {}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "NO_BILLING_ACCOUNT"


def test_invoices_page_by_keyset_cursor_oldest_first(client_for, clinic, other_clinic):
    start = timezone.now() - timedelta(days=90)
    invoices = [InvoiceFactory(clinic=clinic, created_at=start + timedelta(days=30 * n)) for n in range(3)]
    InvoiceFactory(clinic=other_clinic)

    first = client_for.get("/v1/billing/invoices?limit=2").json()

    assert [item["id"] for item in first["items"]] == [str(invoice.id) for invoice in invoices[:2]]
    assert first["hasMore"] is True
    item = first["items"][0]
    assert set(item) >= {"id", "number", "status", "amountDue", "amountPaid", "currency", "hostedInvoiceUrl",
                         "invoicePdf", "periodStart", "periodEnd", "paidAt", "createdAt"}
    assert (item["amountDue"], item["currency"]) == (14900, "EUR")
    second = client_for.get(f"/v1/billing/invoices?limit=2&cursor={first['nextCursor']}").json()
    assert [item["id"] for item in second["items"]] == [str(invoices[2].id)]
    assert (second["hasMore"], second["nextCursor"]) == (False, None)


def test_invoice_detail_and_foreign_clinic_404(client_for, foreign_client, clinic):
    invoice = InvoiceFactory(clinic=clinic)

    assert client_for.get(f"/v1/billing/invoices/{invoice.id}").json()["number"] == invoice.number
    response = foreign_client.get(f"/v1/billing/invoices/{invoice.id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert foreign_client.get("/v1/billing/invoices").json()["items"] == []


def test_a_bad_cursor_is_a_400_in_v1_format(client_for):
    response = client_for.get("/v1/billing/invoices?cursor=not-a-cursor")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_invoice_list_and_status_take_a_bounded_number_of_queries(client_for, clinic, django_assert_max_num_queries):
    for _ in range(30):
        InvoiceFactory(clinic=clinic)

    with django_assert_max_num_queries(6):
        assert len(client_for.get("/v1/billing/invoices").json()["items"]) == 30
    with django_assert_max_num_queries(7):
        assert client_for.get("/v1/billing/status").status_code == 200
