"""The call list filters (telephony/filters.py `CallFilterSet`), one FilterSet for `GET /v1/calls`,
`GET /api/calls` and the console's calls page: the documented `status` and `direction`, combinable, a value
outside the documented ones refused with 400 in each surface's error shape (naming the allowed values), and
never a row of another clinic whatever the filter."""
import pytest
from django.urls import reverse

from clinics.tests.factories import MembershipFactory, sign_in_verified
from telephony.models import Call
from telephony.tests.factories import CallFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(clinic, other_clinic):
    return {
        "in_done": CallFactory(clinic=clinic, direction="inbound", status="completed", title="Entrada concluída"),
        "out_done": CallFactory(clinic=clinic, direction="outbound", status="completed", title="Saída concluída"),
        "out_failed": CallFactory(clinic=clinic, direction="outbound", status="failed", title="Saída falhada"),
        "foreign": CallFactory(clinic=other_clinic, direction="outbound", status="completed", title="Alheia"),
    }


def test_v1_calls_filter_by_direction_and_status_together_within_this_clinic(client_for, calls):
    outbound = client_for.get("/v1/calls", {"direction": "outbound"}).json()["items"]
    both = client_for.get("/v1/calls", {"direction": "outbound", "status": "completed"}).json()["items"]

    assert {item["id"] for item in outbound} == {str(calls["out_done"].pk), str(calls["out_failed"].pk)}
    assert [item["id"] for item in both] == [str(calls["out_done"].pk)]


def test_v1_calls_refuse_an_undocumented_direction_with_400_naming_the_values(client_for, calls):
    response = client_for.get("/v1/calls", {"direction": "sideways"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]) == ["direction"]
    assert all(value in str(error["details"]["direction"]) for value in Call.Direction.values)


def test_dashboard_calls_filter_by_direction_within_this_clinic(client_for, calls):
    body = client_for.get("/api/calls", {"direction": "outbound", "status": "completed"}).json()

    assert body["total"] == 1 and [call["id"] for call in body["calls"]] == [str(calls["out_done"].pk)]


def test_dashboard_calls_refuse_an_undocumented_status_in_the_dashboard_error_shape(client_for, calls):
    response = client_for.get("/api/calls", {"status": "exploded"})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR" and list(body["errors"]) == ["status"]
    assert all(value in body["errors"]["status"][0] for value in Call.Status.values)


def test_an_empty_filter_value_is_no_filter(client_for, calls):
    assert client_for.get("/api/calls", {"status": "", "direction": ""}).json()["total"] == 3


def test_the_console_calls_page_filters_by_status_and_ignores_an_unknown_one(client, clinic, calls):
    sign_in_verified(client, MembershipFactory(clinic=clinic).user)

    failed = client.get(reverse("telephony:calls"), {"status": "failed"}).content.decode()
    unknown = client.get(reverse("telephony:calls"), {"status": "exploded"})

    assert "Saída falhada" in failed and "Entrada concluída" not in failed
    assert unknown.status_code == 200
    text = unknown.content.decode()
    assert "Entrada concluída" in text and "Saída falhada" in text and "Alheia" not in text
