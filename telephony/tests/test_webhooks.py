"""Twilio's webhooks: signed exactly as Twilio signs them, idempotent by MessageSid."""
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from telephony.models import Message
from telephony.numbers import messaging_number_seed
from telephony.services import message_send

from .conftest import ACCOUNT_SID, AUTH_TOKEN
from .factories import MessageFactory

pytestmark = pytest.mark.django_db

INBOUND_URL = "/api/webhooks/twilio/sms"
STATUS_URL = "/api/webhooks/twilio/status"


def inbound_params(sid="SM" + "f" * 32, from_="+351912345678", to="+351210000000", body="Confirmo, obrigado"):
    return {"ToCountry": "PT", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "", "FromZip": "",
            "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "", "Body": body,
            "FromCountry": "PT", "To": to, "ToZip": "", "NumSegments": "1", "MessageSid": sid,
            "AccountSid": ACCOUNT_SID, "From": from_, "ApiVersion": "2010-04-01"}


def signed_post(client, path, params, token=AUTH_TOKEN, host="testserver"):
    signature = RequestValidator(token).compute_signature(f"http://{host}{path}", params)
    return client.post(path, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                       HTTP_X_TWILIO_SIGNATURE=signature)


@pytest.fixture
def webhook_settings(twilio_settings):
    return twilio_settings


def test_signed_inbound_sms_is_stored_once_even_when_replayed(client, clinic, webhook_settings):
    messaging_number_seed(clinic=clinic, phone="+351210000000")  # inbound routes by a verified number only
    params = inbound_params()

    first = signed_post(client, INBOUND_URL, params)
    replay = signed_post(client, INBOUND_URL, params)

    assert first.status_code == 200
    assert first["Content-Type"].startswith("text/xml")
    assert b"<Response>" in first.content
    assert replay.status_code == 200
    message = Message.objects.get()
    assert message.direction == Message.Direction.INBOUND
    assert message.status == Message.Status.RECEIVED
    assert message.clinic == clinic  # the clinic's own number was texted
    assert message.from_phone == "+351912345678"
    assert message.body == "Confirmo, obrigado"
    assert message.provider_message_id == params["MessageSid"]


def test_inbound_reply_is_routed_to_the_clinic_that_wrote_last(client, clinic, other_clinic, webhook_settings):
    MessageFactory(clinic=other_clinic, to_phone="+351912345678")

    response = signed_post(client, INBOUND_URL, inbound_params(to="+351300000001"))

    assert response.status_code == 200
    assert Message.objects.get(direction=Message.Direction.INBOUND).clinic == other_clinic


def test_inbound_with_bad_signature_is_refused(client, clinic, webhook_settings):
    params = inbound_params()

    response = signed_post(client, INBOUND_URL, params, token="not-the-auth-token")

    assert response.status_code == 403
    assert response.json()["detail"]
    assert not Message.objects.exists()


def test_inbound_with_tampered_body_is_refused(client, clinic, webhook_settings):
    params = inbound_params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"http://testserver{INBOUND_URL}", params)
    tampered = {**params, "Body": "STOP"}

    response = client.post(INBOUND_URL, data=urlencode(tampered), content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 403


def test_inbound_without_signature_is_refused(client, webhook_settings):
    response = client.post(INBOUND_URL, data=urlencode(inbound_params()),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 403


def test_webhook_signed_for_the_public_site_url_is_accepted(client, clinic, webhook_settings):
    """Behind a proxy Twilio signs the public URL (SITE_URL), not the host Django sees."""
    params = inbound_params()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"https://frontdesk.example{INBOUND_URL}", params)

    response = client.post(INBOUND_URL, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                           HTTP_X_TWILIO_SIGNATURE=signature)

    assert response.status_code == 200


def test_status_callback_moves_message_to_delivered_and_ignores_late_sent(client, clinic, webhook_settings):
    message = MessageFactory(clinic=clinic, provider="twilio", provider_message_id="SM" + "1" * 32,
                             status=Message.Status.SENT)
    base = {"AccountSid": ACCOUNT_SID, "MessageSid": message.provider_message_id, "SmsSid": message.provider_message_id,
            "To": "+351912345678", "From": "+351300000001", "ApiVersion": "2010-04-01"}

    delivered = signed_post(client, STATUS_URL, {**base, "MessageStatus": "delivered", "SmsStatus": "delivered"})
    late = signed_post(client, STATUS_URL, {**base, "MessageStatus": "sent", "SmsStatus": "sent"})

    assert delivered.status_code == 204 and late.status_code == 204
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED
    assert message.delivered_at is not None


def test_status_callback_records_failure_code(client, clinic, webhook_settings):
    message = MessageFactory(clinic=clinic, provider="twilio", provider_message_id="SM" + "2" * 32,
                             status=Message.Status.SENT)

    response = signed_post(client, STATUS_URL, {"AccountSid": ACCOUNT_SID, "MessageSid": message.provider_message_id,
                                                "MessageStatus": "undelivered", "ErrorCode": "30003"})

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert "30003" in message.error


def test_status_callback_with_bad_signature_changes_nothing(client, clinic, webhook_settings):
    message = MessageFactory(clinic=clinic, provider="twilio", provider_message_id="SM" + "3" * 32,
                             status=Message.Status.SENT)

    response = signed_post(client, STATUS_URL, {"MessageSid": message.provider_message_id,
                                                "MessageStatus": "delivered"}, token="wrong")

    assert response.status_code == 403
    message.refresh_from_db()
    assert message.status == Message.Status.SENT


def test_status_callback_without_message_sid_is_400(client, webhook_settings):
    response = signed_post(client, STATUS_URL, {"MessageStatus": "delivered"})
    assert response.status_code == 400
    assert response.json()["detail"]


def test_webhooks_refuse_everything_without_an_auth_token_as_the_servers_fault(client, settings, caplog):
    """Nothing can be verified without TWILIO_AUTH_TOKEN: 503 WEBHOOK_NOT_CONFIGURED naming it (Twilio retries, the
    error log says what to set), and nothing is stored."""
    settings.TWILIO_AUTH_TOKEN = ""
    with caplog.at_level("ERROR", logger="telephony.api.webhooks"):
        responses = [signed_post(client, INBOUND_URL, inbound_params(), token="x"),
                     signed_post(client, STATUS_URL, {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered"},
                                 token="x")]
    assert [response.status_code for response in responses] == [503, 503]
    assert {response.json()["code"] for response in responses} == {"WEBHOOK_NOT_CONFIGURED"}
    assert all("TWILIO_AUTH_TOKEN" in response.json()["detail"] for response in responses)
    assert "TWILIO_AUTH_TOKEN" in caplog.text
    assert not Message.objects.exists()


def test_with_no_auth_token_the_backend_refuses_even_a_request_signed_with_the_empty_key(rf, settings):
    """The views refuse first (WEBHOOK_NOT_CONFIGURED); the backend refuses on its own too, for any other caller."""
    from telephony.backends.sms import TwilioSMSBackend

    params = inbound_params()
    request = rf.post(INBOUND_URL, data=urlencode(params), content_type="application/x-www-form-urlencoded",
                      HTTP_X_TWILIO_SIGNATURE=RequestValidator("").compute_signature(
                          f"http://testserver{INBOUND_URL}", params))
    settings.TWILIO_AUTH_TOKEN = ""
    assert TwilioSMSBackend.verify_webhook(request) is False


def test_status_callback_reaches_a_message_sent_through_twilio(client, clinic, webhook_settings, httpserver,
                                                               messages_path):
    sid = "SM" + "4" * 32
    httpserver.expect_oneshot_request(messages_path, method="POST").respond_with_json(
        {"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID, "to": "+351912345678", "body": "Olá"},
        status=201)
    message = message_send(clinic=clinic, to="+351912345678", body="Olá")
    callback_path = httpserver.log[0][0].form["StatusCallback"].removeprefix("https://frontdesk.example")

    response = signed_post(client, callback_path, {"AccountSid": ACCOUNT_SID, "MessageSid": sid,
                                                   "MessageStatus": "delivered"})

    assert response.status_code == 204
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED


def test_inbound_from_a_stranger_to_an_unknown_number_is_kept_unassigned(client, clinic, webhook_settings):
    response = signed_post(client, INBOUND_URL, inbound_params(from_="+351966666666", to="+351300000009"))

    assert response.status_code == 200
    message = Message.objects.get()
    assert message.clinic is None
    assert not Message.objects.filter(clinic=clinic).exists()


def test_inbound_whatsapp_message_is_stored_on_the_whatsapp_channel(client, clinic, webhook_settings):
    messaging_number_seed(clinic=clinic, phone="+351210000000")
    params = inbound_params(from_="whatsapp:+351912345678", to="whatsapp:+351210000000")

    response = signed_post(client, INBOUND_URL, params)

    assert response.status_code == 200
    message = Message.objects.get()
    assert message.channel == Message.Channel.WHATSAPP
    assert message.from_phone == "+351912345678"
    assert message.clinic == clinic


def test_a_delivery_report_that_beats_its_message_id_is_kept_and_applied_when_the_id_is_recorded(
        client, clinic, webhook_settings, httpserver, messages_path):
    """Twilio may report before we stored the id it gave us (a bulk batch records its ids after the whole batch):
    the report is kept, and the message is delivered once its id is recorded, not left "sent" forever."""
    from telephony.models import EarlyDeliveryReport

    sid = "SM" + "5" * 32
    early = signed_post(client, STATUS_URL, {"AccountSid": ACCOUNT_SID, "MessageSid": sid,
                                             "MessageStatus": "delivered"})
    assert early.status_code == 204
    assert EarlyDeliveryReport.objects.filter(provider_message_id=sid, provider_status="delivered").count() == 1
    replay = signed_post(client, STATUS_URL, {"AccountSid": ACCOUNT_SID, "MessageSid": sid,
                                              "MessageStatus": "delivered"})
    assert replay.status_code == 204 and EarlyDeliveryReport.objects.count() == 1  # idempotent
    httpserver.expect_oneshot_request(messages_path, method="POST").respond_with_json(
        {"sid": sid, "status": "queued", "account_sid": ACCOUNT_SID, "to": "+351912345678", "body": "Olá"},
        status=201)

    message = message_send(clinic=clinic, to="+351912345678", body="Olá")

    assert message.status == Message.Status.DELIVERED
    message.refresh_from_db()
    assert message.status == Message.Status.DELIVERED and message.delivered_at is not None
    assert not EarlyDeliveryReport.objects.exists()


def test_a_report_stored_while_its_batch_committed_is_applied_later_and_unclaimed_ones_go_after_a_week(
        client, clinic, webhook_settings):
    """The sweeper calls these two (tests/test_outbox.py): a report that looked for its message just before the
    batch committed the message's id is applied once the id is there; one that no message claims is dropped after
    EARLY_REPORT_DAYS."""
    from datetime import timedelta

    from django.utils import timezone

    from telephony.models import EarlyDeliveryReport
    from telephony.services import early_reports_apply, early_reports_purge

    sid = "SM" + "6" * 32
    message = MessageFactory(clinic=clinic, provider="twilio", provider_message_id="", status=Message.Status.SENDING)
    assert signed_post(client, STATUS_URL, {"AccountSid": ACCOUNT_SID, "MessageSid": sid, "MessageStatus": "undelivered",
                                            "ErrorCode": "30003"}).status_code == 204
    signed_post(client, STATUS_URL, {"AccountSid": ACCOUNT_SID, "MessageSid": "SM" + "7" * 32,
                                     "MessageStatus": "delivered"})
    signed_post(client, STATUS_URL, {"AccountSid": ACCOUNT_SID, "MessageSid": sid, "MessageStatus": "bogus"})
    assert EarlyDeliveryReport.objects.count() == 2  # an unknown status is not a report
    Message.objects.filter(pk=message.pk).update(provider_message_id=sid, status=Message.Status.SENT)

    assert early_reports_apply() == 1

    message.refresh_from_db()
    assert message.status == Message.Status.FAILED and "30003" in message.error
    left = EarlyDeliveryReport.objects.get()
    assert left.provider_message_id == "SM" + "7" * 32
    EarlyDeliveryReport.objects.filter(pk=left.pk).update(received_at=timezone.now() - timedelta(days=6))
    assert early_reports_purge(now=timezone.now()) == 0  # six days: still waiting
    EarlyDeliveryReport.objects.filter(pk=left.pk).update(received_at=timezone.now() - timedelta(days=8))
    assert early_reports_purge(now=timezone.now()) == 1
    assert not EarlyDeliveryReport.objects.exists()
