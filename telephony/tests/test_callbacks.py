"""A call back is one use case (`call_request_callback`) reached from /v1/calls/{id}/callback and POST /api/calls."""
import datetime as dt

import pytest
from django.utils import timezone

from clinics.models import AuditEvent
from telephony import services
from telephony.exceptions import CallNotFound
from telephony.models import Call

from .factories import CallFactory

pytestmark = pytest.mark.django_db

PHONE = "+351912345678"


def _shape(call: Call) -> tuple:
    return (call.direction, call.status, call.phone_number, call.callback_of_id, call.agent_id, call.scheduled_at)


def test_callback_via_v1_and_via_dashboard_reach_the_same_use_case(client_for, clinic):
    inbound = CallFactory(clinic=clinic, phone_number=PHONE, agent_id="agent_front_desk")
    when = (timezone.now() + dt.timedelta(hours=2)).replace(microsecond=0)

    v1 = client_for.post(f"/v1/calls/{inbound.id}/callback", {"scheduledAt": when.isoformat()}, format="json")
    dashboard = client_for.post("/api/calls", {"phone_number": "912 345 678", "scheduled_at": when.isoformat()},
                                format="json")

    assert v1.status_code == dashboard.status_code == 201
    by_v1 = Call.objects.get(pk=v1.json()["id"])
    by_dashboard = Call.objects.get(pk=dashboard.json()["id"])
    assert _shape(by_v1) == _shape(by_dashboard) == (
        Call.Direction.OUTBOUND, Call.Status.SCHEDULED, PHONE, inbound.id, "agent_front_desk", when)
    audited = AuditEvent.objects.filter(action="call.callback_requested").values_list("object_id", flat=True)
    assert sorted(audited) == sorted([str(by_v1.id), str(by_dashboard.id)])


def test_dashboard_call_to_a_number_never_heard_from_is_a_plain_outbound_call(client_for, clinic):
    response = client_for.post("/api/calls", {"phone_number": "+351912000999"}, format="json")

    assert response.status_code == 201
    call = Call.objects.get(pk=response.json()["id"])
    assert call.callback_of is None and call.status == Call.Status.PENDING


def test_dashboard_call_does_not_link_another_clinics_call(client_for, clinic, other_clinic):
    CallFactory(clinic=other_clinic, phone_number=PHONE)

    response = client_for.post("/api/calls", {"phone_number": PHONE}, format="json")

    assert response.status_code == 201
    assert Call.objects.get(pk=response.json()["id"]).callback_of is None


def test_callback_of_another_clinics_call_is_404_and_stores_nothing(foreign_client, clinic):
    call = CallFactory(clinic=clinic)

    response = foreign_client.post(f"/v1/calls/{call.id}/callback", {}, format="json")

    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    assert Call.objects.count() == 1
    assert not AuditEvent.objects.filter(action="call.callback_requested").exists()


def test_callback_service_refuses_another_clinics_call(clinic, other_clinic):
    call = CallFactory(clinic=other_clinic)

    with pytest.raises(CallNotFound):
        services.call_request_callback(clinic=clinic, call=call)
    assert Call.objects.count() == 1


@pytest.mark.parametrize("payload", [{"phone_number": "123"}, {"phone_number": "+351912345678",
                                                               "scheduled_at": "2001-01-01T10:00:00Z"}])
def test_refused_dashboard_call_leaves_no_call_and_no_audit_row(client_for, payload):
    response = client_for.post("/api/calls", payload, format="json")

    assert response.status_code == 400
    assert set(response.json()) >= {"detail", "code"}
    assert not Call.objects.exists()
    assert not AuditEvent.objects.filter(action="call.callback_requested").exists()


def test_callback_too_far_ahead_is_400(client_for, clinic):
    call = CallFactory(clinic=clinic)
    far = timezone.now() + dt.timedelta(days=400)

    response = client_for.post(f"/v1/calls/{call.id}/callback", {"scheduledAt": far.isoformat()}, format="json")

    assert response.status_code == 400
    assert Call.objects.count() == 1
