"""Triage: the SMS with a single-use link, the public form, and every state a link can be in."""
import datetime as dt
import re

import pytest
from django.utils import timezone

from campaigns import services
from campaigns.models import PatientLink, TriageQuestionnaire, TriageResponse
from campaigns.tests.factories import AppointmentFactory
from scheduling.models import Appointment
from telephony.models import Message

pytestmark = [pytest.mark.django_db]


def _send(client, appointment):
    return client.post(f"/v1/appointments/{appointment.id}/triage/send")


def _token(message_body):
    return re.search(r"/triagem/(\S+)", message_body).group(1)


@pytest.fixture
def appointment(clinic):
    return AppointmentFactory(clinic=clinic)


@pytest.fixture
def token(appointment, client_for):
    response = _send(client_for, appointment)
    return _token(Message.objects.get(pk=response.json()["messageId"]).body)


def test_send_texts_the_patient_a_link_and_stores_only_its_digest(appointment, client_for):
    response = _send(client_for, appointment)

    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"appointmentId", "linkId", "messageId", "status", "expiresAt"}
    assert body["appointmentId"] == str(appointment.id)
    message = Message.objects.get(pk=body["messageId"])
    assert message.to_phone == appointment.patient.phone and message.purpose.startswith("triage:")
    token = _token(message.body)
    link = PatientLink.objects.get(pk=body["linkId"])
    assert token not in link.digest and len(link.digest) == 64
    assert link.expires_at > timezone.now() + dt.timedelta(hours=48)


def test_send_for_another_clinics_appointment_is_404(appointment, foreign_client):
    response = _send(foreign_client, appointment)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    assert not Message.objects.exists()


def test_send_for_cancelled_appointment_is_409(clinic, client_for):
    appointment = AppointmentFactory(clinic=clinic, status=Appointment.Status.CANCELLED)
    response = _send(client_for, appointment)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "APPOINTMENT_NOT_ACTIVE"


def test_send_for_patient_without_phone_is_422(clinic, client_for):
    appointment = AppointmentFactory(clinic=clinic, patient__phone="")
    response = _send(client_for, appointment)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "PATIENT_HAS_NO_PHONE"


def test_send_needs_write_scope(clinic, appointment, make_client):
    response = _send(make_client(clinic, permissions=("read",)), appointment)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"


def test_valid_link_shows_default_questions_on_a_mobile_page_in_the_clinic_language(client, token):
    response = client.get(f"/triagem/{token}")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="viewport"' in html
    assert "Qual é o motivo da sua consulta?" in html and 'name="q_reason"' in html


def test_sms_and_form_follow_a_french_clinic(clinic, client, client_for):
    clinic.locale = "fr"
    clinic.save()
    response = _send(client_for, AppointmentFactory(clinic=clinic))
    body = Message.objects.get(pk=response.json()["messageId"]).body
    assert "merci de répondre" in body
    assert "Quel est le motif de votre rendez-vous ?" in client.get(f"/triagem/{_token(body)}").content.decode()


def test_service_questionnaire_replaces_the_clinic_default(clinic, appointment, client, token):
    TriageQuestionnaire.objects.create(clinic=clinic, service=None, questions=[
        {"id": "fever", "label": "Tem febre?", "type": "yesno", "required": True}])
    assert "Tem febre?" in client.get(f"/triagem/{token}").content.decode()

    services.questionnaire_save(clinic=clinic, service=appointment.service, questions=[
        {"id": "fasting", "label": "Está em jejum?", "type": "yesno", "required": True}])
    html = client.get(f"/triagem/{token}").content.decode()
    assert "Está em jejum?" in html and "Tem febre?" not in html


def test_answers_are_stored_on_the_appointment_and_the_link_is_spent(appointment, client, token):
    response = client.post(f"/triagem/{token}", {"q_reason": "Dor no joelho", "q_allergies": "no",
                                                 "q_pain": "6"})

    assert response.status_code == 200
    answers = {a["id"]: a["answer"] for a in TriageResponse.objects.get(appointment=appointment).answers}
    assert answers == {"reason": "Dor no joelho", "medication": "", "allergies": "no", "pain": "6"}

    reused = client.get(f"/triagem/{token}")
    assert reused.status_code == 410 and "já foi respondido" in reused.content.decode()
    again = client.post(f"/triagem/{token}", {"q_reason": "Outra", "q_allergies": "yes"})
    assert again.status_code == 410
    assert TriageResponse.objects.count() == 1


def test_missing_required_answer_shows_the_form_again_and_keeps_the_link(client, token):
    response = client.post(f"/triagem/{token}", {"q_reason": "", "q_allergies": "maybe"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Esta pergunta precisa de resposta." in html and "Escolha sim ou não." in html
    assert not TriageResponse.objects.exists()
    assert client.get(f"/triagem/{token}").status_code == 200


def test_expired_link_gets_a_clear_410_page(client, token):
    PatientLink.objects.update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    for response in (client.get(f"/triagem/{token}"), client.post(f"/triagem/{token}", {"q_reason": "x"})):
        assert response.status_code == 410
        assert "expirou" in response.content.decode()
        assert response["Content-Type"].startswith("text/html")
    assert not TriageResponse.objects.exists()


def test_forged_link_gets_a_clear_404_page(client, token):
    for forged in (token[:-2] + "xx", "nothing", "a" * 300):
        response = client.get(f"/triagem/{forged}")
        assert response.status_code == 404
        assert "not valid" in response.content.decode()


def test_feedback_token_does_not_open_the_triage_form(clinic, client):
    appointment = AppointmentFactory(clinic=clinic, status=Appointment.Status.COMPLETED,
                                     starts_at=timezone.now() - dt.timedelta(hours=2))
    services.feedback_request(appointment=appointment)
    token = re.search(r"/feedback/(\S+)", Message.objects.get().body).group(1)
    assert client.get(f"/triagem/{token}").status_code == 404
