"""The console's triage page: where each upcoming appointment's triage stands, the answers for those who may read
them, the send action through `services.triage_link_send`, masking for viewers, audit, and other clinics' 404."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns import services
from campaigns.models import PatientLink
from campaigns.tests.factories import AppointmentFactory
from clinics.models import AuditEvent, Membership
from clinics.tests.factories import MembershipFactory, sign_in_verified
from telephony.models import Message

pytestmark = pytest.mark.django_db


def _as(client, clinic, role):
    return sign_in_verified(client, MembershipFactory(clinic=clinic, role=role).user)


@pytest.fixture
def board(clinic):
    """Four appointments of `clinic` tomorrow, one in each triage state."""
    def at(hour, name):
        starts = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(days=1, hours=hour)
        appointment = AppointmentFactory(clinic=clinic, starts_at=starts)
        appointment.patient.name = name
        appointment.patient.save()
        return appointment

    not_sent, waiting, expired, answered = (at(1, "Ana Nunca"), at(2, "Bruno Espera"), at(3, "Carla Expirou"),
                                            at(4, "Duarte Respondeu"))
    services.triage_link_send(clinic=clinic, appointment=waiting)
    link, _message = services.triage_link_send(clinic=clinic, appointment=expired)
    PatientLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    link, _message = services.triage_link_send(clinic=clinic, appointment=answered)
    services.triage_submit(link=link, submitted={"reason": "Dor de garganta secreta", "allergies": "no"})
    return {"not_sent": not_sent, "waiting": waiting, "expired": expired, "answered": answered}


def _states(html, board):
    return {state: f'data-state="{state}" data-appointment="{appointment.id}"' in html
            for state, appointment in board.items()}


def test_the_page_shows_each_appointments_triage_state_and_the_answers(client, clinic, other_clinic, board):
    foreign = AppointmentFactory(clinic=other_clinic)
    _as(client, clinic, Membership.Role.EDITOR)
    html = client.get(reverse("triage:list")).content.decode()
    assert _states(html, board) == dict.fromkeys(board, True)
    assert "Duarte Respondeu" in html and "Dor de garganta secreta" in html
    assert str(foreign.id) not in html
    # Sent again while not answered; never once answered.
    for state in ("not_sent", "waiting", "expired"):
        assert reverse("triage:send", args=[board[state].id]) in html
    assert reverse("triage:send", args=[board["answered"].id]) not in html


def test_the_state_filter_keeps_one_state(client, clinic, board):
    _as(client, clinic, Membership.Role.EDITOR)
    html = client.get(reverse("triage:list"), {"state": "expired"}).content.decode()
    assert _states(html, board) == {"not_sent": False, "waiting": False, "expired": True, "answered": False}


def test_reading_the_page_writes_one_audit_row_naming_the_patients_shown(client, clinic, board):
    _as(client, clinic, Membership.Role.EDITOR)
    client.get(reverse("triage:list"))
    row = AuditEvent.objects.get(action="patient.list", clinic=clinic)
    assert set(row.extra["appointment_ids"]) == {str(appointment.id) for appointment in board.values()}
    assert sorted(row.extra["hashes"]) == sorted(appointment.patient.hash for appointment in board.values())
    assert row.extra["masked"] is False and len(row.extra["triage_answers"]) == 1


def test_a_viewer_sees_initials_no_answers_and_no_send_button(client, clinic, board):
    _as(client, clinic, Membership.Role.VIEWER)
    html = client.get(reverse("triage:list")).content.decode()
    assert "Duarte Respondeu" not in html and "D. R." in html
    assert "Dor de garganta secreta" not in html
    assert board["answered"].patient.phone not in html
    assert "/send/" not in html
    response = client.post(reverse("triage:send", args=[board["not_sent"].id]))
    assert response.status_code == 403
    assert not PatientLink.objects.filter(appointment=board["not_sent"]).exists()
    assert AuditEvent.objects.get(action="patient.list", clinic=clinic).extra["masked"] is True


def test_send_texts_the_link_through_the_service_and_comes_back_to_the_page(client, clinic, board):
    _as(client, clinic, Membership.Role.EDITOR)
    response = client.post(reverse("triage:send", args=[board["not_sent"].id]), {"days": "7", "state": "not_sent"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("triage:list"))
    assert "days=7" in response["Location"] and "state=not_sent" in response["Location"]
    link = PatientLink.objects.get(appointment=board["not_sent"], kind="triage")
    assert Message.objects.get(pk=link.message_id).to_phone == board["not_sent"].patient.phone
    assert AuditEvent.objects.filter(action="triage.sent", object_id=str(board["not_sent"].id)).exists()
    html = client.get(response["Location"]).content.decode()
    assert 'class="message success"' in html


def test_a_refused_send_shows_the_services_reason(client, clinic):
    appointment = AppointmentFactory(clinic=clinic, status="cancelled")
    _as(client, clinic, Membership.Role.EDITOR)
    response = client.post(reverse("triage:send", args=[appointment.id]), follow=True)
    assert response.status_code == 200
    assert 'class="message error"' in response.content.decode()
    assert not PatientLink.objects.exists()


def test_another_clinics_appointment_is_404_and_nothing_is_sent(client, clinic, other_clinic):
    foreign = AppointmentFactory(clinic=other_clinic)
    _as(client, clinic, Membership.Role.ADMIN)
    assert client.post(reverse("triage:send", args=[foreign.id])).status_code == 404
    assert not PatientLink.objects.exists() and not Message.objects.exists()


def test_an_unreadable_filter_falls_back_to_the_default_period(client, clinic, board):
    _as(client, clinic, Membership.Role.EDITOR)
    response = client.get(reverse("triage:list"), {"from": "2026-13-45", "days": "999", "state": "nope"})
    assert response.status_code == 200
    assert _states(response.content.decode(), board) == dict.fromkeys(board, True)
