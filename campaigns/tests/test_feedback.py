"""Feedback: one SMS per completed appointment, the 0–10 form, and NPS per clinic and per professional."""
import datetime as dt
import re

import pytest
from django.utils import timezone

from campaigns import selectors, services, tasks
from campaigns.models import FeedbackResponse, PatientLink
from campaigns.tests.factories import AppointmentFactory, EngagementProfessionalFactory
from scheduling.models import Appointment
from telephony.models import Message

pytestmark = [pytest.mark.django_db]


def completed(clinic, **kwargs):
    starts = timezone.now() - dt.timedelta(hours=3)
    return AppointmentFactory(clinic=clinic, status=Appointment.Status.COMPLETED, starts_at=starts, **kwargs)


def feedback_token(appointment):
    link = PatientLink.objects.get(appointment=appointment, kind="feedback")
    return re.search(r"/feedback/(\S+)", Message.objects.get(pk=link.message_id).body).group(1)


def test_scan_requests_feedback_once_per_completed_appointment(clinic):
    done = completed(clinic)
    AppointmentFactory(clinic=clinic)  # still ahead
    completed(clinic, patient__consents={"sms": False})

    assert tasks.request_pending_feedback.apply().get() == 1
    assert tasks.request_pending_feedback.apply().get() == 0

    messages = Message.objects.filter(purpose__startswith="feedback:")
    assert messages.count() == 1
    assert messages.get().to_phone == done.patient.phone


def test_feedback_form_stores_score_and_comment_once(clinic, client):
    appointment = completed(clinic)
    services.feedback_request(appointment=appointment)
    token = feedback_token(appointment)

    form = client.get(f"/feedback/{token}")
    assert form.status_code == 200 and 'name="score"' in form.content.decode()

    response = client.post(f"/feedback/{token}", {"score": "9", "comment": "Excelente"})
    assert response.status_code == 200
    feedback = FeedbackResponse.objects.get(appointment=appointment)
    assert (feedback.score, feedback.comment, feedback.professional_id) == (9, "Excelente",
                                                                            appointment.professional_id)

    assert client.post(f"/feedback/{token}", {"score": "0"}).status_code == 410
    assert client.get(f"/feedback/{token}").status_code == 410
    assert FeedbackResponse.objects.get().score == 9


@pytest.mark.parametrize("score", ["11", "-1", "", "ten"])
def test_bad_score_shows_the_form_again(clinic, client, score):
    appointment = completed(clinic)
    services.feedback_request(appointment=appointment)
    response = client.post(f"/feedback/{feedback_token(appointment)}", {"score": score})
    assert response.status_code == 400
    assert "0 a 10" in response.content.decode()  # the clinic speaks pt-PT
    assert not FeedbackResponse.objects.exists()


def test_expired_and_forged_feedback_links_get_clear_pages(clinic, client):
    appointment = completed(clinic)
    services.feedback_request(appointment=appointment)
    token = feedback_token(appointment)
    assert client.get(f"/feedback/{token[:-3]}abc").status_code == 404
    PatientLink.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    response = client.get(f"/feedback/{token}")
    assert response.status_code == 410 and "expirou" in response.content.decode()


def test_nps_per_clinic_and_per_professional(clinic, other_clinic):
    ana, rui = EngagementProfessionalFactory(clinic=clinic, name="Ana"), EngagementProfessionalFactory(
        clinic=clinic, name="Rui")
    for professional, score in [(ana, 10), (ana, 9), (ana, 3), (rui, 7), (rui, 8)]:
        appointment = completed(clinic, professional=professional)
        FeedbackResponse.objects.create(clinic=clinic, appointment=appointment, professional=professional,
                                        score=score)
    foreign = completed(other_clinic)
    FeedbackResponse.objects.create(clinic=other_clinic, appointment=foreign, professional=foreign.professional,
                                    score=0)

    overall = selectors.nps(clinic)
    assert overall == {"score": 20, "responses": 5, "promoters": 2, "passives": 2, "detractors": 1}
    by_professional = {row["name"]: row["score"] for row in selectors.nps_by_professional(clinic)}
    assert by_professional == {"Ana": 33, "Rui": 0}
    assert selectors.nps(clinic, professional=rui)["responses"] == 2
    assert selectors.nps(other_clinic)["score"] == -100
