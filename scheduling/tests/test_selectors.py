"""The slot engine: working hours − exceptions − appointments − buffers, in the clinic's zone."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from clinics.tests.factories import ClinicFactory
from scheduling.models import AvailabilityException
from scheduling.selectors import booking_check, free_slots
from scheduling.tests.factories import (
    AppointmentFactory, AvailabilityExceptionFactory, ProfessionalFactory, ServiceFactory,
)

pytestmark = pytest.mark.django_db
UTC = dt.timezone.utc


def at(clinic, text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(clinic.timezone))


def local_starts(clinic, slots):
    zone = ZoneInfo(clinic.timezone)
    return [slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") for slot in slots]


@pytest.fixture
def lisbon():
    return ClinicFactory(timezone="Europe/Lisbon")


@pytest.fixture
def setup(lisbon):
    service = ServiceFactory(clinic=lisbon, duration_minutes=30)
    professional = ProfessionalFactory(clinic=lisbon, services=[service])
    return lisbon, service, professional


def test_a_working_day_offers_every_grid_start_whose_appointment_ends_by_closing(setup):
    clinic, service, _professional = setup
    day = dt.date(2027, 1, 11)  # a Monday
    slots = free_slots(clinic, service, day, day, now=at(clinic, "2027-01-01 08:00"))
    starts = local_starts(clinic, slots)
    assert starts[0] == "2027-01-11 09:00"
    assert starts[-1] == "2027-01-11 17:30"
    assert len(starts) == (9 * 60 - 30) // 15 + 1
    assert all(slot.ends_at - slot.starts_at == dt.timedelta(minutes=30) for slot in slots)


def test_weekend_without_working_hours_has_no_slots(setup):
    clinic, service, _professional = setup
    saturday = dt.date(2027, 1, 9)
    assert free_slots(clinic, service, saturday, saturday + dt.timedelta(days=1),
                      now=at(clinic, "2027-01-01 08:00")) == []


def test_buffers_keep_the_time_around_an_appointment_free(setup):
    clinic, service, professional = setup
    service.buffer_after_minutes = 15
    service.save()
    AppointmentFactory(professional=professional, service=service, starts_at=at(clinic, "2027-01-11 10:00"))
    starts = local_starts(clinic, free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                                             now=at(clinic, "2027-01-01 08:00")))
    # Existing occupies 10:00–10:45; a new one occupies [start, start + 45 min).
    assert "2027-01-11 09:15" in starts
    for taken in ("09:30", "09:45", "10:00", "10:15", "10:30"):
        assert f"2027-01-11 {taken}" not in starts
    assert "2027-01-11 10:45" in starts


def test_buffer_before_of_the_new_service_counts_against_the_previous_appointment(setup):
    clinic, service, professional = setup
    other = ServiceFactory(clinic=clinic, duration_minutes=30, buffer_before_minutes=15)
    professional.services.add(other)
    AppointmentFactory(professional=professional, service=service, starts_at=at(clinic, "2027-01-11 10:00"))
    starts = local_starts(clinic, free_slots(clinic, other, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                                             now=at(clinic, "2027-01-01 08:00")))
    assert "2027-01-11 10:30" not in starts
    assert "2027-01-11 10:45" in starts
    assert "2027-01-11 09:30" in starts  # occupies 09:15–10:00, touching is not overlapping


def test_cancelled_appointments_free_their_time(setup):
    clinic, service, professional = setup
    AppointmentFactory(professional=professional, service=service, starts_at=at(clinic, "2027-01-11 10:00"),
                       status="cancelled")
    starts = local_starts(clinic, free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                                             now=at(clinic, "2027-01-01 08:00")))
    assert "2027-01-11 10:00" in starts


def test_time_off_removes_slots_that_would_touch_it(setup):
    clinic, service, professional = setup
    AvailabilityExceptionFactory(professional=professional, starts_at=at(clinic, "2027-01-11 14:00"),
                                 ends_at=at(clinic, "2027-01-11 16:00"))
    starts = local_starts(clinic, free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                                             now=at(clinic, "2027-01-01 08:00")))
    assert "2027-01-11 13:30" in starts
    assert not [s for s in starts if "13:45" <= s[-5:] < "16:00"]
    assert "2027-01-11 16:00" in starts


def test_clinic_wide_closure_removes_every_professional(setup):
    clinic, service, _professional = setup
    ProfessionalFactory(clinic=clinic, services=[service])
    AvailabilityExceptionFactory(professional=None, clinic=clinic, kind=AvailabilityException.Kind.CLOSURE,
                                 starts_at=at(clinic, "2027-01-11 00:00"), ends_at=at(clinic, "2027-01-12 00:00"))
    now = at(clinic, "2027-01-01 08:00")
    assert free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11), now=now) == []
    assert len(free_slots(clinic, service, dt.date(2027, 1, 12), dt.date(2027, 1, 12), now=now)) == 2 * 35


def test_extra_hours_open_a_day_off(setup):
    clinic, service, professional = setup
    AvailabilityExceptionFactory(professional=professional, kind=AvailabilityException.Kind.EXTRA_HOURS,
                                 starts_at=at(clinic, "2027-01-09 10:00"), ends_at=at(clinic, "2027-01-09 12:00"))
    starts = local_starts(clinic, free_slots(clinic, service, dt.date(2027, 1, 9), dt.date(2027, 1, 9),
                                             now=at(clinic, "2027-01-01 08:00")))
    assert starts[0] == "2027-01-09 10:00" and starts[-1] == "2027-01-09 11:30"


def test_an_appointment_never_spans_the_lunch_break(lisbon):
    service = ServiceFactory(clinic=lisbon, duration_minutes=60)
    ProfessionalFactory(clinic=lisbon, services=[service], hours=[(0, "09:00", "13:00"), (0, "14:00", "18:00")])
    starts = local_starts(lisbon, free_slots(lisbon, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                                             now=at(lisbon, "2027-01-01 08:00")))
    assert "2027-01-11 12:00" in starts
    assert not [s for s in starts if "12:15" <= s[-5:] < "14:00"]
    assert "2027-01-11 14:00" in starts and starts[-1] == "2027-01-11 17:00"


def test_lisbon_spring_forward_keeps_wall_clock_hours(setup):
    clinic, service, _professional = setup
    now = at(clinic, "2027-03-01 08:00")
    friday = free_slots(clinic, service, dt.date(2027, 3, 26), dt.date(2027, 3, 26), now=now)
    monday = free_slots(clinic, service, dt.date(2027, 3, 29), dt.date(2027, 3, 29), now=now)
    # Winter time (UTC+0) before Sunday 28 March, summer time (UTC+1) after.
    assert friday[0].starts_at == dt.datetime(2027, 3, 26, 9, 0, tzinfo=UTC)
    assert monday[0].starts_at == dt.datetime(2027, 3, 29, 8, 0, tzinfo=UTC)
    assert len(friday) == len(monday) == 35


def test_lisbon_night_of_the_change_has_one_hour_less(lisbon):
    service = ServiceFactory(clinic=lisbon, duration_minutes=60)
    ProfessionalFactory(clinic=lisbon, services=[service], hours=[(6, "00:00", "04:00")])
    now = at(lisbon, "2027-03-01 08:00")
    slots = free_slots(lisbon, service, dt.date(2027, 3, 28), dt.date(2027, 3, 28), now=now)
    # 00:00–04:00 on the clock is three real hours: 01:00 WET jumps to 02:00 WEST.
    assert slots[0].starts_at == dt.datetime(2027, 3, 28, 0, 0, tzinfo=UTC)
    assert slots[-1].ends_at == dt.datetime(2027, 3, 28, 3, 0, tzinfo=UTC)
    assert not [s for s in local_starts(lisbon, slots) if s.endswith(("01:00", "01:15", "01:30", "01:45"))]
    autumn = free_slots(lisbon, service, dt.date(2027, 10, 31), dt.date(2027, 10, 31), now=now.replace(month=10))
    # ...and on the autumn night the same clock hours are five real hours.
    assert autumn[-1].ends_at - autumn[0].starts_at == dt.timedelta(hours=5)


def test_sao_paulo_dst_start_shifts_utc_but_not_the_clock():
    clinic = ClinicFactory(timezone="America/Sao_Paulo", locale="pt-br")
    service = ServiceFactory(clinic=clinic, duration_minutes=30)
    ProfessionalFactory(clinic=clinic, services=[service])
    now = at(clinic, "2018-10-25 08:00")
    # Brazil's clocks went from UTC-3 to UTC-2 at midnight on Sunday 4 November 2018.
    friday = free_slots(clinic, service, dt.date(2018, 11, 2), dt.date(2018, 11, 2), now=now)
    monday = free_slots(clinic, service, dt.date(2018, 11, 5), dt.date(2018, 11, 5), now=now)
    assert friday[0].starts_at == dt.datetime(2018, 11, 2, 12, 0, tzinfo=UTC)
    assert monday[0].starts_at == dt.datetime(2018, 11, 5, 11, 0, tzinfo=UTC)
    assert local_starts(clinic, monday)[0] == "2018-11-05 09:00"
    # Since 2019 Sao Paulo stays on UTC-3 all year.
    later = free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11), now=at(clinic, "2027-01-01 08:00"))
    assert later[0].starts_at == dt.datetime(2027, 1, 11, 12, 0, tzinfo=UTC)


def test_minimum_notice_hides_slots_too_close_to_now(setup):
    clinic, service, _professional = setup
    clinic.booking_rules = {"min_notice_minutes": 90}
    clinic.save()
    starts = local_starts(clinic, free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                                             now=at(clinic, "2027-01-11 09:05")))
    assert starts[0] == "2027-01-11 10:45"


def test_default_minimum_notice_is_one_hour(setup):
    clinic, service, _professional = setup
    starts = local_starts(clinic, free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                                             now=at(clinic, "2027-01-11 09:00")))
    assert starts[0] == "2027-01-11 10:00"


def test_horizon_hides_days_beyond_max_days_ahead(setup):
    clinic, service, _professional = setup
    clinic.booking_rules = {"max_days_ahead": 3}
    clinic.save()
    slots = free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 22),
                       now=at(clinic, "2027-01-11 10:00"))
    days = {s[:10] for s in local_starts(clinic, slots)}
    assert days == {"2027-01-11", "2027-01-12", "2027-01-13", "2027-01-14"}
    assert max(slot.starts_at for slot in slots) == at(clinic, "2027-01-14 10:00")


def test_only_professionals_offering_the_service_are_searched(setup):
    clinic, service, professional = setup
    ProfessionalFactory(clinic=clinic)
    ProfessionalFactory(clinic=clinic, services=[service], active=False)
    slots = free_slots(clinic, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11),
                       now=at(clinic, "2027-01-01 08:00"))
    assert {slot.professional_id for slot in slots} == {professional.pk}


def test_query_count_does_not_grow_with_days_professionals_or_appointments(
        lisbon, django_assert_num_queries):
    service = ServiceFactory(clinic=lisbon)
    first = ProfessionalFactory(clinic=lisbon, services=[service])
    now = at(lisbon, "2027-01-01 08:00")
    with django_assert_num_queries(4):
        small = free_slots(lisbon, service, dt.date(2027, 1, 11), dt.date(2027, 1, 11), now=now)
    for _ in range(9):
        ProfessionalFactory(clinic=lisbon, services=[service], hours=[(d, "08:00", "12:00") for d in range(7)])
    AvailabilityExceptionFactory(professional=first, starts_at=at(lisbon, "2027-01-20 09:00"),
                                 ends_at=at(lisbon, "2027-01-20 12:00"))
    for day in range(11, 31):
        AppointmentFactory(professional=first, service=service, starts_at=at(lisbon, f"2027-01-{day} 10:00"))
    with django_assert_num_queries(4):
        large = free_slots(lisbon, service, dt.date(2027, 1, 11), dt.date(2027, 2, 9), now=now)
    assert len(large) > 10 * len(small)


def test_the_booking_check_accepts_exactly_the_times_the_slot_search_offers(setup):
    """The booking and the search judge a time on the same open time: across a spring-forward night with extra
    hours in it, a closure, time off, and an appointment with its buffer, every 15 minutes of three days."""
    clinic, service, professional = setup
    service.buffer_after_minutes = 15
    service.save()
    AppointmentFactory(professional=professional, service=service, starts_at=at(clinic, "2027-03-26 10:00"))
    AvailabilityExceptionFactory(professional=None, clinic=clinic, kind=AvailabilityException.Kind.CLOSURE,
                                 starts_at=at(clinic, "2027-03-26 16:00"), ends_at=at(clinic, "2027-03-26 17:00"))
    AvailabilityExceptionFactory(professional=professional, kind=AvailabilityException.Kind.EXTRA_HOURS,
                                 starts_at=at(clinic, "2027-03-28 00:30"), ends_at=at(clinic, "2027-03-28 04:00"))
    AvailabilityExceptionFactory(professional=professional, starts_at=at(clinic, "2027-03-29 14:00"),
                                 ends_at=at(clinic, "2027-03-29 15:00"))
    now = at(clinic, "2027-03-01 08:00")
    offered = {slot.starts_at for slot in free_slots(clinic, service, dt.date(2027, 3, 26), dt.date(2027, 3, 29),
                                                     now=now)}
    assert at(clinic, "2027-03-28 00:30") in offered and at(clinic, "2027-03-28 03:30") in offered  # 01:00 → 02:00
    instant = at(clinic, "2027-03-26 00:00").astimezone(UTC)  # steps of 15 real minutes, through the gap
    accepted = set()
    while instant < at(clinic, "2027-03-30 00:00"):
        if booking_check(clinic, service, instant).free == [professional]:
            accepted.add(instant)
        instant += dt.timedelta(minutes=15)
    assert accepted == offered
