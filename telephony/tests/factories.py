import factory
from factory.django import DjangoModelFactory

from clinics.tests.factories import ClinicFactory
from telephony.models import Call, Message, phone_index


class MessageFactory(DjangoModelFactory):
    class Meta:
        model = Message

    clinic = factory.SubFactory(ClinicFactory)
    to_phone = "+351912345678"
    to_phone_index = factory.LazyAttribute(lambda message: phone_index(message.to_phone))
    body = "A sua consulta é amanhã às 10:00."
    status = Message.Status.DELIVERED
    provider = "local"
    provider_message_id = factory.Sequence(lambda n: f"local-{n:08d}")


class CallFactory(DjangoModelFactory):
    class Meta:
        model = Call

    clinic = factory.SubFactory(ClinicFactory)
    direction = Call.Direction.INBOUND
    phone_number = "+351912345678"
    phone_index = factory.LazyAttribute(lambda call: phone_index(call.phone_number))
    status = Call.Status.COMPLETED
    conversation_id = factory.Sequence(lambda n: f"conv_{n:06d}")
    agent_id = "agent_clinic_receptionist"
    duration_secs = 180
    call_successful = "success"
    title = "Appointment Booking"
    summary = "Patient called to book an appointment for next Tuesday at 2 PM."
    sentiment = "positive"
    intent = "appointment"
    transcript = factory.LazyFunction(lambda: [
        {"role": "agent", "message": "Clínica, bom dia. Em que posso ajudar?", "time_in_call_secs": 0},
        {"role": "user", "message": "Queria marcar uma consulta.", "time_in_call_secs": 3},
    ])
    tool_calls = factory.LazyFunction(lambda: [
        {"name": "check_availability", "params": {"date": "2026-05-14"}, "result": {"available_slots": 3}},
    ])
