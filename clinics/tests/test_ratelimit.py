"""Rate limits in Redis: dashboard per user and per IP, notes per key, webhooks never; monthly API calls."""
import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from clinics import ratelimit
from clinics.models import ApiUsage
from clinics.tests.factories import ClinicFactory, MembershipFactory

pytestmark = [pytest.mark.django_db, pytest.mark.urls("clinics.tests.urls_ratelimit")]


@pytest.fixture(autouse=True)
def stopped(rate_limit_clock):
    """The limiter's clock, stopped (root conftest): a burst of requests stays inside one fixed window."""
    return rate_limit_clock


def test_61st_dashboard_request_in_a_minute_gets_429_with_limit_headers(admin_client, stopped):
    for index in range(60):
        response = admin_client.get("/api/auth/me")
        assert response.status_code == 200, (index, response.json())
        assert response["X-RateLimit-Limit"] == "60"
        assert response["X-RateLimit-Remaining"] == str(59 - index)
    assert int(response["X-RateLimit-Reset"]) == int(stopped // 60) * 60 + 60  # the end of the minute
    refused = admin_client.get("/api/auth/me")
    assert refused.status_code == 429
    assert refused.json()["detail"] == "Rate limit exceeded: 60 requests per minute"
    assert refused["X-RateLimit-Limit"] == "60"
    assert refused["X-RateLimit-Remaining"] == "0"
    assert 1 <= int(refused["Retry-After"]) <= 60


def test_limits_are_per_user(login_client, clinic):
    first = login_client(MembershipFactory(clinic=clinic))
    second = login_client(MembershipFactory(clinic=clinic))
    for _request in range(61):
        first.get("/api/auth/me")
    assert first.get("/api/auth/me").status_code == 429
    assert second.get("/api/auth/me").status_code == 200


def test_hourly_user_limit_is_1000(admin_client, stopped):
    now = stopped
    hour_start = int(now // 3600) * 3600
    actor = f"user:{admin_client.membership.user_id}"
    cache.set(f"ratelimit:dashboard:{actor}:3600:{hour_start}", 1000, timeout=3600)
    refused = admin_client.get("/api/auth/me")
    assert refused.status_code == 429
    assert refused.json()["detail"] == "Rate limit exceeded: 1000 requests per hour"
    assert refused["X-RateLimit-Limit"] == "1000"


def test_101st_request_from_one_ip_gets_429_across_users(login_client, clinic):
    clients = [login_client(MembershipFactory(clinic=clinic)) for _ in range(3)]
    for index in range(100):
        assert clients[index % 3].get("/api/auth/me", REMOTE_ADDR="203.0.113.9").status_code == 200
    refused = clients[0].get("/api/auth/me", REMOTE_ADDR="203.0.113.9")
    assert refused.status_code == 429
    assert refused.json()["detail"] == "Rate limit exceeded: 100 requests per minute"
    assert clients[0].get("/api/auth/me", REMOTE_ADDR="203.0.113.10").status_code == 200


def test_webhook_endpoints_are_never_limited():
    client = APIClient()
    for _request in range(120):
        response = client.post("/api/webhooks/probe", {}, format="json", REMOTE_ADDR="198.51.100.1")
        assert response.status_code == 200
        assert "X-RateLimit-Limit" not in response


def test_notes_surface_limits_each_key_to_100_a_minute_with_minute_headers(make_client, clinic, stopped):
    client = make_client(clinic, header="x-api-key")
    for index in range(100):
        response = client.get("/notes/v1/probe")
        assert response.status_code == 200
    assert response["X-RateLimit-Limit-Minute"] == "100"
    assert response["X-RateLimit-Remaining-Minute"] == "0"
    assert int(response["X-RateLimit-Reset-Minute"]) == int(stopped // 60) * 60 + 60
    refused = client.get("/notes/v1/probe")
    assert refused.status_code == 429
    assert refused.json() == {"error": "too_many_requests", "code": "RATE_LIMIT_EXCEEDED",
                              "message": "Rate limit exceeded: 100 requests per minute"}
    assert int(refused["Retry-After"]) >= 1
    other_key = make_client(clinic, header="x-api-key")
    assert other_key.get("/notes/v1/probe").status_code == 200


def test_notes_status_route_is_exempt(make_client, clinic):
    client = make_client(clinic, header="x-api-key")
    for _request in range(110):
        response = client.get("/notes/v1/probe/status")
        assert response.status_code == 200
    assert "X-RateLimit-Limit-Minute" not in response


def test_monthly_api_calls_count_every_authenticated_surface_per_clinic(client_for, clinic, admin_client):
    other = ClinicFactory()
    assert ratelimit.monthly_api_calls(clinic) == 0
    client_for.get("/v1/tenants/me")
    client_for.get("/notes/v1/probe")
    admin_client.get("/api/auth/me")
    assert ratelimit.monthly_api_calls(clinic) == 3
    assert ratelimit.monthly_api_calls(other) == 0


def test_monthly_total_survives_losing_the_cache(client_for, clinic):
    for _request in range(ratelimit.PERSIST_EVERY):
        client_for.get("/v1/tenants/me")
    assert ApiUsage.objects.get(clinic=clinic).calls == ratelimit.PERSIST_EVERY
    cache.delete(ratelimit._month_key(clinic.pk, ratelimit._month_start()))  # the cache lost the counter
    assert ratelimit.monthly_api_calls(clinic) == ratelimit.PERSIST_EVERY
    client_for.get("/v1/tenants/me")
    assert ratelimit.monthly_api_calls(clinic) == ratelimit.PERSIST_EVERY + 1


def test_fixed_window_resets_at_the_window_boundary():
    start = 1_700_000_040  # a minute boundary
    for _request in range(3):
        window = ratelimit.hit("probe", 2, 60, now=start + 10)
    assert window.exceeded and window.remaining == 0 and window.reset == start + 60
    assert not ratelimit.hit("probe", 2, 60, now=start + 61).exceeded


def test_counting_an_api_call_costs_no_query_until_a_batch_is_persisted(clinic, django_assert_num_queries):
    with django_assert_num_queries(0):
        for _call in range(ratelimit.PERSIST_EVERY - 1):
            ratelimit.count_api_call(clinic)
    with django_assert_num_queries(1):  # one upsert creates the month's row
        ratelimit.count_api_call(clinic)
    assert ratelimit.monthly_api_calls(clinic) == ratelimit.PERSIST_EVERY


def test_a_month_row_created_meanwhile_by_another_process_is_added_to_not_replaced(clinic, other_clinic):
    """The first persist of a month meets a row another process created since: both batches count, and no other
    clinic's row of that month moves."""
    month = ratelimit._month_start()
    ApiUsage.objects.create(clinic=other_clinic, month=month, calls=5)
    ApiUsage.objects.create(clinic=clinic, month=month, calls=3)  # the other process's insert
    ratelimit._persist(clinic, month, ratelimit.PERSIST_EVERY)
    assert ApiUsage.objects.get(clinic=clinic, month=month).calls == 3 + ratelimit.PERSIST_EVERY
    assert ApiUsage.objects.get(clinic=other_clinic, month=month).calls == 5
