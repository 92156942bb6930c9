"""Odd values at every channels edge that takes input (telephony and campaigns): a 4xx in the surface's body, never
a 500 and never a value the database would refuse."""
import pytest

from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db

WEIRD = ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "x" * 5000, 10**30, [], {}, None, -1,
         "2026-02-30T10:00:00Z", "\x00", {"a": {"b": {"c": [1] * 1000}}}]


@pytest.mark.parametrize("value", WEIRD)
def test_odd_values_get_a_4xx_never_a_500(client_for, clinic, value):
    call = CallFactory(clinic=clinic)
    posts = [
        ("/api/calls", {"phone_number": "+351912345678", "scheduled_at": value}),
        ("/api/calls", {"phone_number": value}),
        (f"/v1/calls/{call.id}/callback", {"scheduledAt": value}),
        ("/api/v1/contacts", {"phone": "+351912345678", "name": value}),
        ("/api/v1/contacts", {"phone": "+351912345678", "tags": value}),
        ("/api/v1/contacts", {"phone": "+351912345678", "email": value}),
        ("/api/v1/whatsapp/template", {"to": "+351912345678", "templateName": "x", "body": "y", "variables": value}),
        ("/api/v1/whatsapp/template", {"to": value, "templateName": "x", "body": "y"}),
        ("/v1/campaigns", {"name": "x", "message": "y", "audience": {"lastVisitBefore": value}}),
        ("/v1/campaigns", {"name": "x", "message": "y", "audience": value}),
        ("/v1/campaigns", {"name": value, "message": "y"}),
        ("/v1/campaigns/preview", {"message": "y", "audience": {"tags": value}}),
        ("/api/v1/tasks", {"title": "x", "dueAt": value}),
        ("/api/v1/tasks", {"title": "x", "assignee": value}),
        ("/api/v1/tasks", {"title": "x", "contactId": value}),
        ("/api/v1/webhooks", {"url": "https://a.example/h", "events": value}),
        ("/api/v1/call", {"agentId": "x", "participant": value}),
    ]
    for path, body in posts:
        response = client_for.post(path, body, format="json")
        assert response.status_code < 500, (path, body, response.content[:300])
    gets = [("/api/v1/tasks", {"due_before": value}), ("/api/v1/tasks", {"assignee": value}),
            ("/v1/dashboard/stats", {"from": value}), ("/api/analytics/stats", {"days": value}),
            ("/api/calls", {"per_page": value}), ("/api/v1/campaigns", {"status": value}),
            ("/api/v1/contacts", {"per_page": value, "search": value}), ("/v1/calls", {"limit": value})]
    for path, params in gets:
        if isinstance(value, (dict, list)) or value is None:
            continue
        response = client_for.get(path, params)
        assert response.status_code < 500, (path, params, response.content[:300])
