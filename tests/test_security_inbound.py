"""Issue 12, item 3: inbound SMS/WhatsApp route by a clinic's VERIFIED messaging number only, never by the
clinic's free-text phone; a verified number belongs to one clinic."""
import pytest
from django.db import IntegrityError, transaction

from clinics.errors import CommonCode, InvalidInput
from telephony.models import Message, MessagingNumber
from telephony.numbers import NumberTaken, messaging_number_add, messaging_number_seed, messaging_number_verify
from telephony.tests.conftest import ACCOUNT_SID, FROM_NUMBER, twilio_settings  # noqa: F401 (fixture)
from telephony.tests.factories import MessageFactory
from telephony.tests.test_webhooks import INBOUND_URL, inbound_params, signed_post

pytestmark = pytest.mark.django_db
PATIENT = "+351912345678"


def test_item_03_a_clinic_typing_another_number_as_its_phone_does_not_receive_the_replies(
        client, clinic, other_clinic, twilio_settings):
    # The victim wrote to its patient from the platform number; the attacker types that number as its phone.
    MessageFactory(clinic=clinic, to_phone=PATIENT)
    other_clinic.phone = FROM_NUMBER
    other_clinic.save(update_fields=["phone"])

    response = signed_post(client, INBOUND_URL, inbound_params(from_=PATIENT, to=FROM_NUMBER))

    assert response.status_code == 200
    assert Message.objects.get(direction=Message.Direction.INBOUND).clinic == clinic
    assert not Message.objects.for_clinic(other_clinic).exists()


def test_item_03_only_a_verified_number_routes_and_a_pending_one_does_not(client, clinic, other_clinic,
                                                                          twilio_settings, httpserver):
    httpserver.expect_request(f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json").respond_with_json(
        {"incoming_phone_numbers": [], "next_page_uri": None, "page": 0, "page_size": 20, "uri": "/x"})
    httpserver.expect_request(f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json", method="POST").respond_with_json(
        {"sid": "SM" + "a" * 32, "status": "queued"}, status=201)
    messaging_number_seed(clinic=clinic, phone="+351210000001")
    pending = messaging_number_add(clinic=other_clinic, phone="+351210000002")
    assert pending.status == MessagingNumber.Status.PENDING

    signed_post(client, INBOUND_URL, inbound_params(sid="SM" + "1" * 32, from_="+351966000000", to="+351210000001"))
    signed_post(client, INBOUND_URL, inbound_params(sid="SM" + "2" * 32, from_="+351966000000", to="+351210000002"))

    assert Message.objects.get(provider_message_id="SM" + "1" * 32).clinic == clinic
    assert Message.objects.get(provider_message_id="SM" + "2" * 32).clinic is None


def test_item_03_a_number_the_twilio_account_holds_is_verified_by_provider_ownership(clinic, twilio_settings,
                                                                                    httpserver):
    httpserver.expect_request(f"/2010-04-01/Accounts/{ACCOUNT_SID}/IncomingPhoneNumbers.json",
                              query_string={"PhoneNumber": "+351210000003", "PageSize": "20"}).respond_with_json(
        {"incoming_phone_numbers": [{"sid": "PN" + "b" * 32, "phone_number": "+351210000003"}],
         "next_page_uri": None, "page": 0, "page_size": 20, "uri": "/x"})

    number = messaging_number_add(clinic=clinic, phone="+351210000003")

    assert number.status == MessagingNumber.Status.VERIFIED and number.verified_by == "provider"
    assert not Message.objects.filter(purpose="number_verification").exists()


def test_item_03_offline_a_code_sent_through_the_outbox_verifies_the_number(clinic, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    number = messaging_number_add(clinic=clinic, phone="+351210000004")
    sent = Message.objects.for_clinic(clinic).get(purpose="number_verification")
    code = sent.body.rsplit(" ", 1)[-1]
    assert sent.to_phone == "+351210000004" and len(code) == 6

    with pytest.raises(InvalidInput) as wrong:
        messaging_number_verify(clinic=clinic, number_id=number.id, code=f"{(int(code) + 1) % 10 ** 6:06d}")
    assert "code" in wrong.value.details
    number = messaging_number_verify(clinic=clinic, number_id=number.id, code=code)
    assert number.status == MessagingNumber.Status.VERIFIED and number.verified_by == "code"


def test_item_03_a_number_verified_by_one_clinic_cannot_be_verified_by_another(clinic, other_clinic, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    messaging_number_seed(clinic=clinic, phone="+351210000005")
    with pytest.raises(NumberTaken) as taken:
        messaging_number_add(clinic=other_clinic, phone="+351210000005")
    assert taken.value.code == CommonCode.CONFLICT
    pending = MessagingNumber.objects.create(clinic=other_clinic, phone="+351210000005")
    with pytest.raises(IntegrityError, match="telephony_messagingnumber_verified_phone_unique"), \
            transaction.atomic():
        MessagingNumber.objects.for_clinic(other_clinic).filter(pk=pending.pk).update(
            status="verified", verified_by="code")


def test_item_03_too_many_wrong_codes_need_a_new_code(clinic, settings):
    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    number = messaging_number_add(clinic=clinic, phone="+351210000006")
    code = Message.objects.for_clinic(clinic).get(purpose="number_verification").body.rsplit(" ", 1)[-1]
    for _ in range(MessagingNumber.CODE_MAX_ATTEMPTS):
        with pytest.raises(InvalidInput):
            messaging_number_verify(clinic=clinic, number_id=number.id, code="000000" if code != "000000" else "1")
    with pytest.raises(InvalidInput):
        messaging_number_verify(clinic=clinic, number_id=number.id, code=code)


def test_item_03_the_demo_seed_verifies_its_own_number_so_offline_replies_route(settings):
    from django.core.management import call_command

    from clinics.models import Clinic

    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    call_command("seed_demo", verbosity=0)
    demo = Clinic.objects.get(slug="demo")
    assert MessagingNumber.objects.for_clinic(demo).filter(phone=demo.phone, status="verified").exists()


def test_item_03_operators_add_and_verify_a_number_with_the_command(clinic, settings):
    from io import StringIO

    from django.core.management import CommandError, call_command

    settings.PROVIDERS = {**settings.PROVIDERS, "sms": "local"}
    out = StringIO()
    call_command("messaging_number", "add", clinic.slug, "+351210000007", stdout=out)
    assert "code was sent" in out.getvalue()
    code = Message.objects.for_clinic(clinic).get(purpose="number_verification").body.rsplit(" ", 1)[-1]
    with pytest.raises(CommandError):
        call_command("messaging_number", "verify", clinic.slug, "+351210000007", "000000" if code != "000000" else "1")
    call_command("messaging_number", "verify", clinic.slug, "+351210000007", code, stdout=out)
    assert MessagingNumber.objects.for_clinic(clinic).get(phone="+351210000007").status == "verified"
