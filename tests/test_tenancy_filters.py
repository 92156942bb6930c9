"""Issue 11: every tenancy filter, read or write, is covered by a test with another clinic's ids.

Each test here puts a second clinic's rows next to the first clinic's — rows a query would pick up if it lost
its `clinic` filter (same names, same phone, same month, a clinic-wide closure) — and then drives the use case
through a public edge (the HTTP API, the console, a management command). It fails if that one filter is
dropped. `scripts/mutate_tenancy.py` removes the filters one at a time and runs these tests to prove it.
"""
import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from clinics.models import ApiUsage, Membership
from clinics.tests.factories import ClinicFactory, MembershipFactory, issue_key, sign_in_verified

pytestmark = pytest.mark.django_db

SHARED_PHONE = "+351912000777"


def _api(clinic):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {issue_key(clinic)}")
    return client


def _dashboard(membership):
    from clinics import services

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + services.start_session(membership)["access_token"])
    return client


def _console_admin(clinic):
    return sign_in_verified(Client(), MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN).user)


def _next_weekday(weekday=1, weeks=1):
    """A date `weeks` weeks ahead on `weekday` (0 = Monday), so working hours and notice rules apply."""
    today = timezone.now().date()
    return today + dt.timedelta(days=(weekday - today.weekday()) % 7 + 7 * weeks)


def _lisbon(day, hour):
    from zoneinfo import ZoneInfo

    return dt.datetime.combine(day, dt.time(hour), tzinfo=ZoneInfo("Europe/Lisbon"))


# --- clinics/ratelimit.py: the monthly API-call counter -------------------------------------------------------


def test_api_calls_of_one_clinic_never_add_to_another_clinics_month():
    from clinics import ratelimit

    clinic, other = ClinicFactory(), ClinicFactory()
    month = timezone.now().date().replace(day=1)
    ApiUsage.objects.create(clinic=other, month=month, calls=700)
    client = _api(clinic)

    for _ in range(ratelimit.PERSIST_EVERY):  # the PERSIST_EVERY-th call writes the month's row
        assert client.get("/v1/professionals").status_code == 200

    assert ApiUsage.objects.get(clinic=other, month=month).calls == 700
    assert ApiUsage.objects.get(clinic=clinic, month=month).calls == ratelimit.PERSIST_EVERY


def test_a_clinics_usage_page_does_not_read_another_clinics_month():
    clinic, other = ClinicFactory(), ClinicFactory()
    ApiUsage.objects.create(clinic=other, month=timezone.now().date().replace(day=1), calls=700)
    admin = _dashboard(MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN))

    usage = admin.get("/api/billing/usage")

    assert usage.status_code == 200, usage.content
    assert usage.json()["api_calls_used"] < 700  # this request and the usage page's own, at most


# --- telephony: the calls and messages wiped when a patient is erased -----------------------------------------


def test_erasing_a_patient_wipes_only_this_clinics_calls_and_messages_with_that_phone():
    from scheduling.tests.factories import PatientFactory
    from telephony.models import Call, Message
    from telephony.tests.factories import CallFactory, MessageFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    patient = PatientFactory(clinic=clinic, phone=SHARED_PHONE)
    PatientFactory(clinic=other, phone=SHARED_PHONE)
    own_call, own_message = CallFactory(clinic=clinic, phone_number=SHARED_PHONE), MessageFactory(
        clinic=clinic, to_phone=SHARED_PHONE)
    other_call, other_message = CallFactory(clinic=other, phone_number=SHARED_PHONE), MessageFactory(
        clinic=other, to_phone=SHARED_PHONE)

    response = _console_admin(clinic).post(f"/console/patients/{patient.hash}/erase/", {"confirm": "ERASE"})

    assert response.status_code == 302
    own_call, own_message = Call.objects.get(pk=own_call.pk), Message.objects.get(pk=own_message.pk)
    assert own_call.phone_number == "" and own_call.transcript == []
    assert SHARED_PHONE not in own_message.to_phone and "consulta" not in own_message.body
    other_call, other_message = Call.objects.get(pk=other_call.pk), Message.objects.get(pk=other_message.pk)
    assert other_call.phone_number == SHARED_PHONE and other_call.transcript and other_call.summary
    assert other_message.to_phone == SHARED_PHONE and "consulta" in other_message.body


# --- billing: the clinic's subscription -----------------------------------------------------------------------


@pytest.fixture
def local_payments(settings):
    from billing.backends.payments import PAYMENTS

    settings.PROVIDERS = {**settings.PROVIDERS, "payments": "local"}
    settings.STRIPE_WEBHOOK_SECRET = "whsec_tenancy_filters"
    settings.STRIPE_PRICE_STARTER = "price_starter_monthly"
    settings.STRIPE_PRICE_PROFESSIONAL = "price_professional_monthly"
    settings.STRIPE_PRICE_PREMIUM = "price_premium_monthly"
    PAYMENTS.reset()
    yield
    PAYMENTS.reset()


def _subscription_state(subscription):
    from billing.models import Subscription

    return Subscription.objects.filter(pk=subscription.pk).values(
        "clinic_id", "plan", "status", "stripe_customer_id", "stripe_subscription_id", "cancel_at_period_end").get()


def test_a_free_clinic_subscribes_through_checkout_without_touching_another_clinics_subscription(local_payments):
    from billing.models import Subscription
    from billing.tests.factories import SubscriptionFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    others = SubscriptionFactory(clinic=other, plan="starter", stripe_price_id="price_starter_monthly")
    before = _subscription_state(others)
    admin = _console_admin(clinic)

    checkout = admin.post("/billing/upgrade/", {"plan": "premium"})
    assert checkout.status_code == 302 and "/billing/checkout/" in checkout["Location"], checkout
    paid = admin.post("/billing/checkout/" + checkout["Location"].split("/billing/checkout/", 1)[1],
                      {"action": "pay"})

    assert paid.status_code == 302
    assert Subscription.objects.get(clinic=clinic).plan == "premium"
    assert _subscription_state(others) == before


def test_the_billing_page_lists_only_this_clinics_invoices(local_payments):
    from billing.tests.factories import InvoiceFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    InvoiceFactory(clinic=clinic, number="FD-OWN-0001")
    InvoiceFactory(clinic=other, number="FD-OTHER-0001")

    page = _console_admin(clinic).get("/billing/")

    assert page.status_code == 200
    assert "FD-OWN-0001" in page.content.decode() and "FD-OTHER-0001" not in page.content.decode()


def test_a_free_clinic_cannot_cancel_or_open_the_portal_of_another_clinics_subscription(local_payments):
    from billing.tests.factories import SubscriptionFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    others = SubscriptionFactory(clinic=other, plan="professional")
    before = _subscription_state(others)
    admin = _dashboard(MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN))

    assert admin.get("/api/billing/subscription").json().get("plan", "free") in ("free", None)
    cancel = admin.post("/api/billing/cancel", {}, format="json")
    portal = admin.post("/api/billing/portal", {}, format="json")
    change = admin.post("/api/billing/change-plan", {"new_price_id": "price_premium_monthly"}, format="json")

    assert cancel.status_code == 409 and portal.status_code == 409 and change.status_code == 409, (
        cancel.content, portal.content, change.content)
    assert _subscription_state(others) == before


# --- scheduling: the /v1 booking body, the booking service, slot search, time off -----------------------------


def _bookable(clinic, name="Dra. Filtro"):
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    service = ServiceFactory(clinic=clinic, online_bookable=True)
    professional = ProfessionalFactory(clinic=clinic, name=name, services=[service])
    return professional, service


def test_a_v1_booking_naming_another_clinics_professional_is_404_and_leaves_nothing_behind():
    from scheduling.models import Appointment, Patient

    clinic, other = ClinicFactory(), ClinicFactory()
    _own_professional, service = _bookable(clinic)
    foreign_professional, _foreign_service = _bookable(other)
    foreign_professional.services.add(service)  # even if the foreign professional "offered" this service
    starts_at = _lisbon(_next_weekday(), 10)

    response = _api(clinic).post("/v1/appointments", {
        "professionalId": str(foreign_professional.pk), "serviceId": str(service.pk),
        "startsAt": starts_at.isoformat(), "patient": {"name": "Rita Nova", "phone": "+351913333444"}},
        format="json")

    assert response.status_code == 404, response.content
    assert not Appointment.objects.filter(professional=foreign_professional).exists()
    assert not Patient.objects.filter(clinic=clinic).exists()


def test_a_v1_booking_naming_another_clinics_service_is_404_and_leaves_nothing_behind():
    from scheduling.models import Appointment, Patient

    clinic, other = ClinicFactory(), ClinicFactory()
    professional, _service = _bookable(clinic)
    _foreign_professional, foreign_service = _bookable(other)
    professional.services.add(foreign_service)  # even if this clinic's professional "offered" it

    response = _api(clinic).post("/v1/appointments", {
        "professionalId": str(professional.pk), "serviceId": str(foreign_service.pk),
        "startsAt": _lisbon(_next_weekday(), 10).isoformat(),
        "patient": {"name": "Rita Nova", "phone": "+351913333444"}}, format="json")

    assert response.status_code == 404, response.content
    assert not Appointment.objects.filter(service=foreign_service).exists()
    assert not Patient.objects.filter(clinic=clinic).exists()


def _book_service():
    """The booking use case, by its current or its style-guide name (the scheduling module is being renamed)."""
    from scheduling import services

    return getattr(services, "appointment_book", None) or services.book


def _is_not_found(error):
    return "NOT_FOUND" in str(getattr(error, "code", "")).upper() or getattr(error, "status_code", None) == 404


def test_the_booking_service_refuses_another_clinics_patient():
    from scheduling.models import Appointment
    from scheduling.tests.factories import PatientFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    professional, service = _bookable(clinic)
    foreign_patient = PatientFactory(clinic=other)

    with pytest.raises(Exception) as refused:
        _book_service()(clinic=clinic, patient=foreign_patient, professional=professional, service=service,
                        starts_at=_lisbon(_next_weekday(), 10))

    assert _is_not_found(refused.value), refused.value
    assert not Appointment.objects.exists()


def test_the_booking_service_refuses_another_clinics_professional_and_service():
    from scheduling.models import Appointment
    from scheduling.tests.factories import PatientFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    professional, service = _bookable(clinic)
    foreign_professional, foreign_service = _bookable(other)
    foreign_professional.services.add(service)
    professional.services.add(foreign_service)
    patient = PatientFactory(clinic=clinic)

    for pro, svc in ((foreign_professional, service), (professional, foreign_service)):
        with pytest.raises(Exception) as refused:
            _book_service()(clinic=clinic, patient=patient, professional=pro, service=svc,
                            starts_at=_lisbon(_next_weekday(), 10))
        assert _is_not_found(refused.value), refused.value
    assert not Appointment.objects.exists()


def _slots(clinic, service, day):
    response = Client().get(f"/booking/{clinic.slug}/slots", {
        "serviceId": str(service.pk), "from": day.isoformat(), "to": day.isoformat()})
    assert response.status_code == 200, response.content
    return response.json()["slots"]


def test_another_clinics_closure_does_not_hide_this_clinics_slots():
    from scheduling.models import AvailabilityException

    clinic, other = ClinicFactory(), ClinicFactory()
    _professional, service = _bookable(clinic)
    day = _next_weekday()
    open_slots = _slots(clinic, service, day)
    assert open_slots

    AvailabilityException.objects.create(clinic=other, professional=None, kind=AvailabilityException.Kind.TIME_OFF,
                                         starts_at=_lisbon(day, 0), ends_at=_lisbon(day + dt.timedelta(days=1), 0),
                                         reason="Feriado municipal")

    assert _slots(clinic, service, day) == open_slots


def test_another_clinics_professional_linked_to_this_service_never_gets_its_slots():
    """Only this clinic's professionals are bookable here, whatever a many-to-many row says."""
    from scheduling.tests.factories import ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    own, service = _bookable(clinic)
    foreign = ProfessionalFactory(clinic=other, services=[service])

    slots = _slots(clinic, service, _next_weekday())

    assert slots and {slot["professionalId"] for slot in slots} == {str(own.pk)}, foreign.pk


def test_this_clinics_own_closure_hides_its_slots():
    """The other half of the rule above: the closure query does read this clinic's closures."""
    from scheduling.models import AvailabilityException

    clinic = ClinicFactory()
    _professional, service = _bookable(clinic)
    day = _next_weekday()
    AvailabilityException.objects.create(clinic=clinic, professional=None, kind=AvailabilityException.Kind.TIME_OFF,
                                         starts_at=_lisbon(day, 0), ends_at=_lisbon(day + dt.timedelta(days=1), 0))

    assert _slots(clinic, service, day) == []


def test_another_clinics_professional_extra_hours_do_not_open_slots_here():
    from scheduling.models import AvailabilityException
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    service = ServiceFactory(clinic=clinic, online_bookable=True)
    ProfessionalFactory(clinic=clinic, services=[service], hours=[])  # works no regular hours
    saturday = _next_weekday(5)
    AvailabilityException.objects.create(clinic=other, professional=None,
                                         kind=AvailabilityException.Kind.EXTRA_HOURS,
                                         starts_at=_lisbon(saturday, 9), ends_at=_lisbon(saturday, 13))

    assert _slots(clinic, service, saturday) == []


def test_removing_time_off_in_the_console_never_reaches_another_clinics_time_off():
    from scheduling.models import AvailabilityException
    from scheduling.tests.factories import AvailabilityExceptionFactory, ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    starts_at = timezone.now() + dt.timedelta(days=4)
    foreign = AvailabilityExceptionFactory(professional=ProfessionalFactory(clinic=other), starts_at=starts_at,
                                           ends_at=starts_at + dt.timedelta(hours=3))
    own = AvailabilityExceptionFactory(professional=ProfessionalFactory(clinic=clinic), starts_at=starts_at,
                                       ends_at=starts_at + dt.timedelta(hours=3))
    admin = _console_admin(clinic)

    assert admin.post(f"/agenda/time-off/{foreign.pk}/remove/").status_code == 404
    assert AvailabilityException.objects.filter(pk=foreign.pk).exists()
    assert admin.post(f"/agenda/time-off/{own.pk}/remove/").status_code == 302
    assert not AvailabilityException.objects.filter(pk=own.pk).exists()


# --- seed_demo: run twice beside another clinic that holds the demo's names, phones and key name ---------------


def test_seed_demo_twice_beside_another_clinic_never_touches_it():
    from clinics.management.commands.seed_demo import DEMO_API_KEY_NAME
    from clinics.models import ApiKey, Clinic
    from scheduling import seed as scheduling_seed
    from scheduling.models import Appointment, Patient, Professional, Service
    from scheduling.tests.factories import AppointmentFactory, PatientFactory, ProfessionalFactory, ServiceFactory

    other = ClinicFactory(name="Clínica Vizinha", slug="vizinha")
    services = {fields["name"]: ServiceFactory(clinic=other, name=fields["name"])
                for fields in scheduling_seed.SERVICES}
    for fields in scheduling_seed.PROFESSIONALS:
        ProfessionalFactory(clinic=other, name=fields["name"], services=list(services.values()))
    for name, phone, email in scheduling_seed.PATIENTS:
        PatientFactory(clinic=other, name=name, phone=phone, email=email or "x@example.test")
    AppointmentFactory(professional=Professional.objects.for_clinic(other).first(),
                       starts_at=_lisbon(_next_weekday(3), 15))
    ApiKey.issue(other, DEMO_API_KEY_NAME)
    models = (Service, Professional, Patient, Appointment, ApiKey, Membership)

    def rows(clinic):
        return {model.__name__: sorted(map(str, model.objects.for_clinic(clinic).values_list("pk", flat=True)))
                for model in models}

    before = rows(other)
    call_command("seed_demo", verbosity=0)
    call_command("seed_demo", verbosity=0)

    assert rows(other) == before
    demo = Clinic.objects.get(slug="demo")
    counts = {model.__name__: model.objects.for_clinic(demo).count() for model in models}
    assert counts == {"Service": len(scheduling_seed.SERVICES), "Professional": len(scheduling_seed.PROFESSIONALS),
                      "Patient": len(scheduling_seed.PATIENTS), "Appointment": len(scheduling_seed.PATIENTS),
                      "ApiKey": 1, "Membership": 2}


# --- Rules the mutation run found unguarded (docs/testing.md, "Mutation run") ----------------------------------


def _v1_book(clinic, professional, service, starts_at):
    return _api(clinic).post("/v1/appointments", {
        "professionalId": str(professional.pk), "serviceId": str(service.pk), "startsAt": starts_at.isoformat(),
        "patient": {"name": "Rita Nova", "phone": "+351913333444"}}, format="json")


def test_a_booking_may_fill_the_working_hours_exactly_from_the_first_to_the_last_minute():
    clinic = ClinicFactory()
    professional, service = _bookable(clinic)  # Mon-Fri 09:00-18:00, 30-minute service, no buffers
    day = _next_weekday()

    assert _v1_book(clinic, professional, service, _lisbon(day, 9)).status_code == 201
    last = _lisbon(day, 17) + dt.timedelta(minutes=30)
    assert _v1_book(clinic, professional, service, last).status_code == 201
    too_late = _v1_book(clinic, professional, service, last + dt.timedelta(minutes=15))
    assert too_late.status_code == 422 and too_late.json()["error"]["code"] == "OUTSIDE_WORKING_HOURS"


def test_an_inactive_professional_cannot_be_booked():
    clinic = ClinicFactory()
    professional, service = _bookable(clinic)
    professional.active = False
    professional.save(update_fields=["active"])

    response = _v1_book(clinic, professional, service, _lisbon(_next_weekday(), 10))

    assert response.status_code == 422 and response.json()["error"]["code"] == "SERVICE_NOT_OFFERED"


@pytest.mark.parametrize("offset, code", [
    (dt.timedelta(minutes=60), None), (dt.timedelta(minutes=59), "TOO_SOON"),
    (dt.timedelta(days=90), None), (dt.timedelta(days=90, minutes=1), "TOO_FAR_AHEAD")])
def test_online_bookings_are_held_to_the_notice_and_horizon_inclusive_of_their_bounds(offset, code):
    """Defaults: at least 60 minutes ahead, at most 90 days ahead; the bounds themselves are bookable."""
    from scheduling.models import Appointment
    from scheduling.tests.factories import PatientFactory

    clinic = ClinicFactory()
    professional, service = _bookable(clinic)
    starts_at = _lisbon(_next_weekday(), 10)
    book = _book_service()
    kwargs = dict(clinic=clinic, patient=PatientFactory(clinic=clinic), professional=professional, service=service,
                  starts_at=starts_at, source=Appointment.Source.ONLINE, now=starts_at - offset)
    if code is None:
        assert book(**kwargs).starts_at == starts_at
    else:
        with pytest.raises(Exception) as refused:
            book(**kwargs)
        assert str(getattr(refused.value, "code", "")).endswith(code), refused.value


def test_time_off_closes_one_professional_and_a_closure_closes_everyone():
    from scheduling.tests.factories import ProfessionalFactory

    clinic = ClinicFactory()
    first, service = _bookable(clinic, name="Dra. Primeira")
    second = ProfessionalFactory(clinic=clinic, name="Dr. Segundo", services=[service])
    admin = _console_admin(clinic)
    day, next_day = _next_weekday(1), _next_weekday(2)

    def add(kind, professional, on):
        response = admin.post("/agenda/time-off/", {
            "kind": kind, "professional": str(professional.pk), "starts": f"{on.isoformat()}T00:00",
            "ends": f"{(on + dt.timedelta(days=1)).isoformat()}T00:00", "reason": ""})
        assert response.status_code == 302, response.content

    add("time_off", first, day)
    add("closure", first, next_day)

    assert {slot["professionalId"] for slot in _slots(clinic, service, day)} == {str(second.pk)}
    assert _slots(clinic, service, next_day) == []


def test_an_erased_call_keeps_empty_columns_not_ciphertext():
    """Empty values are stored empty: an erased number is no ciphertext at all."""
    from django.db import connection

    from scheduling.tests.factories import PatientFactory
    from telephony.models import Call
    from telephony.tests.factories import CallFactory

    clinic = ClinicFactory()
    patient = PatientFactory(clinic=clinic, phone=SHARED_PHONE)
    call = CallFactory(clinic=clinic, phone_number=SHARED_PHONE)

    _console_admin(clinic).post(f"/console/patients/{patient.hash}/erase/", {"confirm": "ERASE"})

    with connection.cursor() as cursor:
        cursor.execute(f"SELECT phone_number FROM {Call._meta.db_table} WHERE id = %s", [call.pk])
        assert cursor.fetchone() == ("",)


def _signed_stripe_post(client, settings, payload):
    import hashlib
    import hmac
    import time

    settings.STRIPE_WEBHOOK_SECRET = "whsec_tenancy_filters"
    timestamp = int(time.time())
    digest = hmac.new(b"whsec_tenancy_filters", f"{timestamp}.{payload}".encode(), hashlib.sha256).hexdigest()
    return client.generic("POST", "/api/webhooks/stripe", payload, content_type="application/json",
                          HTTP_STRIPE_SIGNATURE=f"t={timestamp},v1={digest}")


def test_a_signed_stripe_object_without_id_or_type_is_refused_with_400(settings, client):
    response = _signed_stripe_post(client, settings, '{"object": "event"}')

    assert response.status_code == 400, response.content


def test_a_signed_stripe_payload_that_is_not_a_json_object_is_refused_with_400(settings, client):
    response = _signed_stripe_post(client, settings, "[]")

    assert response.status_code == 400, response.content


def test_a_public_booking_for_a_chosen_professional_books_that_professional():
    from scheduling.models import Appointment
    from scheduling.tests.factories import ProfessionalFactory

    clinic = ClinicFactory()
    _first, service = _bookable(clinic, name="Dra. Aa Primeira")
    chosen = ProfessionalFactory(clinic=clinic, name="Dra. Zz Escolhida", services=[service])

    response = Client().post(f"/booking/{clinic.slug}", {
        "serviceId": str(service.pk), "professionalId": str(chosen.pk),
        "startsAt": _lisbon(_next_weekday(), 10).isoformat(),
        "patient": {"name": "Rita Nova", "phone": "+351913333444"}}, content_type="application/json")

    assert response.status_code == 201, response.content
    assert Appointment.objects.get().professional == chosen


@pytest.mark.parametrize("entry", [":" + "A" * 43 + "=", "k1:" + "A" * 20])
def test_an_encryption_key_without_an_id_or_of_the_wrong_length_is_refused(settings, entry):
    """Each ciphertext names its key id, so rotation can find the key: an entry needs an id and 32 bytes."""
    from django.core.exceptions import ImproperlyConfigured

    from clinics import crypto

    settings.PII_ENCRYPTION_KEYS = [entry]
    with pytest.raises(ImproperlyConfigured):
        crypto.encrypt("+351912000777")


# --- clinics: team and invitations (found by the mutation run) ------------------------------------------------


def _invite(admin, email):
    return admin.post("/api/team/invite", {"email": email, "role": "editor"}, format="json")


def test_inviting_someone_who_belongs_to_another_clinic_is_allowed():
    clinic, other = ClinicFactory(), ClinicFactory()
    elsewhere = MembershipFactory(clinic=other, role=Membership.Role.EDITOR)
    admin = _dashboard(MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN))

    response = _invite(admin, elsewhere.user.email)

    assert response.status_code in (200, 201), response.content


def test_a_clinics_invitations_neither_list_nor_replace_another_clinics_invitations():
    from clinics.models import Invitation

    clinic, other = ClinicFactory(), ClinicFactory()
    other_admin = _dashboard(MembershipFactory(clinic=other, role=Membership.Role.ADMIN))
    assert _invite(other_admin, "convidada@example.test").status_code in (200, 201)
    admin = _dashboard(MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN))

    assert "convidada@example.test" not in admin.get("/api/team/members").content.decode()
    assert _invite(admin, "convidada@example.test").status_code in (200, 201)
    assert Invitation.objects.for_clinic(other).get().revoked_at is None


def test_the_last_admin_of_a_clinic_stays_whatever_admins_other_clinics_have():
    clinic, other = ClinicFactory(), ClinicFactory()
    MembershipFactory(clinic=other, role=Membership.Role.ADMIN)
    only_admin = MembershipFactory(clinic=clinic, role=Membership.Role.ADMIN)

    response = _dashboard(only_admin).delete(f"/api/team/members/{only_admin.pk}")

    assert response.status_code == 409, response.content
    assert Membership.objects.filter(pk=only_admin.pk).exists()


def test_a_row_owned_through_its_parent_belongs_only_to_the_parents_clinic():
    """`ClinicOwned.belongs_to` follows `clinic_lookup` for rows without their own clinic key."""
    from scheduling.models import WorkingHours
    from scheduling.tests.factories import ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    hours = WorkingHours.objects.filter(professional=ProfessionalFactory(clinic=clinic)).first()

    assert hours.belongs_to(clinic) and hours.belongs_to(clinic.pk)
    assert not hours.belongs_to(other) and not hours.belongs_to(other.pk)


# --- scheduling/api/public.py: the public booking page of one clinic ------------------------------------------


def test_the_public_booking_page_lists_only_this_clinics_professionals_even_if_linked_to_its_services():
    from scheduling.tests.factories import ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    own, service = _bookable(clinic, name="Dra. Daqui")
    ProfessionalFactory(clinic=other, name="Dr. Estrangeiro", services=[service])  # a stray many-to-many row

    response = Client().get(f"/booking/{clinic.slug}", HTTP_ACCEPT="application/json")

    assert response.status_code == 200, response.content
    assert [p["id"] for p in response.json()["professionals"]] == [str(own.pk)]
    assert b"Estrangeiro" not in response.content


def _public_booking(clinic, service, professional_id):
    return Client().post(f"/booking/{clinic.slug}", {
        "serviceId": str(service.pk), "professionalId": str(professional_id),
        "startsAt": _lisbon(_next_weekday(), 10).isoformat(),
        "patient": {"name": "Rita Nova", "phone": "+351913333444"}}, content_type="application/json")


def test_a_public_booking_naming_another_clinics_professional_answers_as_an_unknown_id_and_books_nothing():
    """Another clinic's professional id is refused before the booking use case, exactly like an id that does not
    exist: the answer tells nothing about other clinics' rows."""
    import uuid

    from scheduling.models import Appointment, Patient

    clinic, other = ClinicFactory(), ClinicFactory()
    _own, service = _bookable(clinic)
    foreign, _foreign_service = _bookable(other)
    foreign.services.add(service)

    unknown = _public_booking(clinic, service, uuid.uuid4())
    response = _public_booking(clinic, service, foreign.pk)

    assert response.status_code == unknown.status_code == 404, response.content
    assert response.json() == unknown.json()
    assert not Appointment.objects.exists()
    assert not Patient.objects.exists()


def test_public_slots_for_another_clinics_professional_answer_as_an_unknown_id():
    import uuid

    clinic, other = ClinicFactory(), ClinicFactory()
    _own, service = _bookable(clinic)
    foreign, _foreign_service = _bookable(other)
    foreign.services.add(service)
    day = _next_weekday()

    def slots_of(professional_id):
        return Client().get(f"/booking/{clinic.slug}/slots", {
            "serviceId": str(service.pk), "professionalId": str(professional_id),
            "from": day.isoformat(), "to": day.isoformat()})

    unknown, response = slots_of(uuid.uuid4()), slots_of(foreign.pk)

    assert response.status_code == unknown.status_code == 404, response.content
    assert response.json() == unknown.json()
    assert str(foreign.pk) not in response.content.decode()


# --- scheduling/management/commands/export_patient.py: the RGPD export of one clinic's patient -----------------


def test_export_patient_never_exports_another_clinics_patient_by_its_hash():
    from django.core.management.base import CommandError

    from scheduling.tests.factories import PatientFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    PatientFactory(clinic=clinic, name="Rita Daqui")
    foreign = PatientFactory(clinic=other, name="Rita Estrangeira")

    with pytest.raises(CommandError, match="No patient"):
        call_command("export_patient", clinic.slug, f"--patient-hash={foreign.hash}")


def test_this_clinics_extra_hours_open_slots_only_for_its_own_professionals():
    """A clinic-wide extra opening of this clinic opens time for its professionals, never for another clinic's
    professional that a stray many-to-many row links to this service."""
    from scheduling.models import AvailabilityException
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    service = ServiceFactory(clinic=clinic, online_bookable=True)
    own = ProfessionalFactory(clinic=clinic, services=[service], hours=[])
    ProfessionalFactory(clinic=other, services=[service], hours=[])
    saturday = _next_weekday(5)
    AvailabilityException.objects.create(clinic=clinic, professional=None,
                                         kind=AvailabilityException.Kind.EXTRA_HOURS,
                                         starts_at=_lisbon(saturday, 9), ends_at=_lisbon(saturday, 13))

    slots = _slots(clinic, service, saturday)

    assert slots and {slot["professionalId"] for slot in slots} == {str(own.pk)}


# --- scheduling/api/views.py: the voice surface's schedules ----------------------------------------------------


def test_the_voice_schedules_never_show_another_clinics_clinic_wide_closure():
    from scheduling.models import AvailabilityException
    from scheduling.tests.factories import ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    ProfessionalFactory(clinic=clinic, name="Dra. Daqui")
    day = _next_weekday()
    AvailabilityException.objects.create(clinic=other, professional=None, kind=AvailabilityException.Kind.CLOSURE,
                                         starts_at=_lisbon(day, 0), ends_at=_lisbon(day + dt.timedelta(days=1), 0),
                                         reason="Feriado municipal")

    response = _api(clinic).get("/api/v1/schedules")

    assert response.status_code == 200, response.content
    entry, = response.json()["data"]
    assert entry["exceptions"] == []
    assert b"Feriado municipal" not in response.content


def test_a_public_booking_for_anyone_never_falls_to_another_clinics_professional_when_this_clinic_is_full():
    """Booking "whoever is free" chooses among this clinic's professionals only: once its one professional is
    taken, the slot is taken, even if another clinic's professional is linked to the service."""
    from scheduling.models import Appointment, AvailabilityException
    from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    service = ServiceFactory(clinic=clinic, online_bookable=True)
    own = ProfessionalFactory(clinic=clinic, name="Dra. Daqui", services=[service], hours=[])
    foreign = ProfessionalFactory(clinic=other, name="Dr. Estrangeiro", services=[service], hours=[])
    saturday = _next_weekday(5)
    AvailabilityException.objects.create(clinic=clinic, professional=None,
                                         kind=AvailabilityException.Kind.EXTRA_HOURS,
                                         starts_at=_lisbon(saturday, 9), ends_at=_lisbon(saturday, 13))

    def book(name, phone):
        return Client().post(f"/booking/{clinic.slug}", {
            "serviceId": str(service.pk), "startsAt": _lisbon(saturday, 10).isoformat(),
            "patient": {"name": name, "phone": phone}}, content_type="application/json")

    assert book("Rita Nova", "+351913333444").status_code == 201
    second = book("Ana Outra", "+351913333555")

    assert second.status_code == 409, second.content
    assert [a.professional for a in Appointment.objects.all()] == [own]
    assert not Appointment.objects.filter(professional=foreign).exists()


# --- scheduling/selectors.py appointments_for: the console home's day -------------------------------------------


def test_the_console_home_shows_only_this_clinics_appointments_of_the_day():
    from zoneinfo import ZoneInfo

    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    today = timezone.now().astimezone(ZoneInfo(clinic.timezone)).date()
    noon = dt.datetime.combine(today, dt.time(12), tzinfo=ZoneInfo(clinic.timezone))
    AppointmentFactory(professional=ProfessionalFactory(clinic=clinic, name="Dra. Daqui"), starts_at=noon)
    AppointmentFactory(professional=ProfessionalFactory(clinic=other, name="Dr. Estrangeiro"), starts_at=noon)

    page = _console_admin(clinic).get("/")

    assert page.status_code == 200
    assert b"Dra. Daqui" in page.content
    assert b"Estrangeiro" not in page.content


# --- scheduling/forms.py: the console's appointment form ------------------------------------------------------


def test_editing_an_appointment_to_another_clinics_professional_is_refused_like_an_unknown_choice():
    import uuid

    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    appointment = AppointmentFactory(professional=ProfessionalFactory(clinic=clinic),
                                     starts_at=_lisbon(_next_weekday(), 10))
    foreign = ProfessionalFactory(clinic=other, services=[appointment.service])
    admin = _console_admin(clinic)

    def edit(professional_id):
        return admin.post(f"/agenda/appointments/{appointment.pk}/", {
            "professional": str(professional_id), "date": _next_weekday().isoformat(), "time": "10:00",
            "status": appointment.status, "notes": ""})

    unknown, response = edit(uuid.uuid4()), edit(foreign.pk)

    assert response.status_code == unknown.status_code == 400
    assert list(response.context["form"].errors) == list(unknown.context["form"].errors) == ["professional"]
    appointment.refresh_from_db()
    assert appointment.professional.clinic == clinic


def test_booking_in_the_console_for_another_clinics_patient_is_refused_like_an_unknown_choice():
    import uuid

    from scheduling.models import Appointment
    from scheduling.tests.factories import PatientFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    professional, service = _bookable(clinic)
    foreign = PatientFactory(clinic=other, phone=SHARED_PHONE)
    admin = _console_admin(clinic)

    def book(patient_id):
        return admin.post("/agenda/appointments/new/", {
            "professional": str(professional.pk), "service": str(service.pk), "date": _next_weekday().isoformat(),
            "time": "10:00", "patient_phone": SHARED_PHONE, "patient": str(patient_id), "patient_name": "",
            "patient_email": "", "notes": ""})

    unknown, response = book(uuid.uuid4()), book(foreign.pk)

    assert response.status_code == unknown.status_code == 400
    assert list(response.context["form"].errors) == list(unknown.context["form"].errors)
    assert "patient" in response.context["form"].errors
    assert not Appointment.objects.exists()


def test_a_person_known_to_two_clinics_is_one_patient_in_each_and_never_the_other_clinics():
    """The second booking here finds the person among this clinic's patients (identity conflict), never the
    other clinic's row of the same person."""
    from scheduling.models import Appointment, Patient

    clinic, other = ClinicFactory(), ClinicFactory()
    _own, service = _bookable(clinic)
    _foreign_professional, foreign_service = _bookable(other)
    for owner, svc, hour in ((other, foreign_service, 10), (clinic, service, 10), (clinic, service, 11)):
        response = Client().post(f"/booking/{owner.slug}", {
            "serviceId": str(svc.pk), "startsAt": _lisbon(_next_weekday(), hour).isoformat(),
            "patient": {"name": "Rita Nova", "phone": SHARED_PHONE}}, content_type="application/json")
        assert response.status_code == 201, response.content

    assert {a.patient.clinic for a in Appointment.objects.filter(clinic=clinic)} == {clinic}
    assert Patient.objects.filter(clinic=other).count() == Patient.objects.filter(clinic=clinic).count() == 1


def test_finding_a_known_person_again_reads_this_clinics_row_even_when_another_clinics_row_comes_first():
    """The identity conflict is read back within this clinic: the other clinic's row of the same person has the
    lowest primary key (what `.first()` of an unscoped query would pick), and is never returned here."""
    import uuid

    from scheduling.models import Patient
    from scheduling.services import patient_find_or_create
    from scheduling.tests.factories import PatientFactory

    clinic, other = ClinicFactory(), ClinicFactory()
    foreign = PatientFactory(id=uuid.UUID(int=1), clinic=other, name="Rita Nova", phone=SHARED_PHONE)

    first, created = patient_find_or_create(clinic=clinic, name="Rita Nova", phone=SHARED_PHONE)
    again, created_again = patient_find_or_create(clinic=clinic, name="rita  NOVA", phone=SHARED_PHONE)

    assert created and not created_again
    assert again == first != foreign and again.clinic == clinic
    assert Patient.objects.filter(clinic=other).count() == Patient.objects.filter(clinic=clinic).count() == 1


def test_the_confirming_service_finds_no_patient_of_another_clinic(clinic, other_clinic):
    """Behind the marketing opt-in link's own check (campaigns.marketing_opt_in): `patient_consent_confirm` looks the
    patient up in the clinic it is given."""
    from clinics.errors import DomainError
    from clinics.models import AuditEvent
    from scheduling import services as scheduling_services
    from scheduling.tests.factories import PatientFactory

    asked = "2030-01-01T00:00:00+00:00"
    theirs = PatientFactory(clinic=other_clinic, consents={"marketing_pending": asked})

    for accepted in (True, False):
        with pytest.raises(DomainError) as refused:
            scheduling_services.patient_consent_confirm(clinic=clinic, patient_id=theirs.pk, kind="marketing",
                                                        asked_at=asked, accepted=accepted)
        assert refused.value.code == "PATIENT_NOT_FOUND"
    theirs.refresh_from_db()
    assert theirs.consents == {"marketing_pending": asked}
    assert not AuditEvent.objects.filter(action="patient.consent").exists()
