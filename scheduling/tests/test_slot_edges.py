"""The slot engine at exact edges: intervals that touch, time off flush with opening or closing, a gap exactly as
long as the service, the horizon's last instant, open time crossing midnight (Europe/Lisbon, fixed dates)."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from clinics.tests.factories import ClinicFactory
from scheduling.models import AvailabilityException
from scheduling.selectors import availability, booking_check, free_slots, local_midnight
from scheduling.tests.factories import (
    AppointmentFactory, AvailabilityExceptionFactory, ProfessionalFactory, ServiceFactory,
)

pytestmark = pytest.mark.django_db
MONDAY = dt.date(2027, 1, 11)
TUESDAY = dt.date(2027, 1, 12)


def at(clinic, text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(clinic.timezone))


def local_starts(clinic, slots):
    zone = ZoneInfo(clinic.timezone)
    return [slot.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") for slot in slots]


def times(starts):
    return [start[-5:] for start in starts]


@pytest.fixture
def lisbon():
    return ClinicFactory(timezone="Europe/Lisbon")


@pytest.fixture
def service(lisbon):
    return ServiceFactory(clinic=lisbon, duration_minutes=30)


def search(clinic, service, first, last=None, now="2027-01-01 08:00"):
    return local_starts(clinic, free_slots(clinic, service, first, last or first, now=at(clinic, now)))


def open_time(clinic, professional, day):
    zone = ZoneInfo(clinic.timezone)
    window = (local_midnight(day, zone), local_midnight(day + dt.timedelta(days=1), zone))
    return availability(clinic, [professional.pk], *window)[professional.pk]


def test_hours_entered_as_a_morning_and_an_afternoon_that_touch_are_one_working_day(lisbon, service):
    professional = ProfessionalFactory(clinic=lisbon, services=[service], hours=[(0, "09:00", "13:00"),
                                                                                (0, "13:00", "18:00")])
    starts = times(search(lisbon, service, MONDAY))
    assert "12:45" in starts  # 12:45–13:15 spans both rows
    assert len(starts) == (9 * 60 - 30) // 15 + 1
    assert booking_check(lisbon, service, at(lisbon, "2027-01-11 12:45")).free == [professional]


def test_extra_hours_from_closing_time_extend_the_day_without_a_seam(lisbon, service):
    professional = ProfessionalFactory(clinic=lisbon, services=[service])  # Mon–Fri 09:00–18:00
    AvailabilityExceptionFactory(professional=professional, kind=AvailabilityException.Kind.EXTRA_HOURS,
                                 starts_at=at(lisbon, "2027-01-11 18:00"), ends_at=at(lisbon, "2027-01-11 20:00"))
    starts = times(search(lisbon, service, MONDAY))
    assert "17:45" in starts and starts[-1] == "19:30"
    assert len(starts) == (11 * 60 - 30) // 15 + 1
    assert booking_check(lisbon, service, at(lisbon, "2027-01-11 17:45")).free == [professional]


def test_extra_hours_inside_or_overlapping_working_hours_never_shorten_the_day(lisbon, service):
    professional = ProfessionalFactory(clinic=lisbon, services=[service])
    for start, end in (("10:00", "11:00"), ("17:00", "19:00")):
        AvailabilityExceptionFactory(professional=professional, kind=AvailabilityException.Kind.EXTRA_HOURS,
                                     starts_at=at(lisbon, f"2027-01-11 {start}"), ends_at=at(lisbon, f"2027-01-11 {end}"))
    assert open_time(lisbon, professional, MONDAY) == [(at(lisbon, "2027-01-11 09:00"), at(lisbon, "2027-01-11 19:00"))]


def test_time_off_flush_with_opening_or_closing_shortens_the_day_and_leaves_no_empty_piece(lisbon, service):
    """The open time is what the agenda shades as working; an empty piece at 09:00 or 18:00 would stretch its grid
    to hours nobody works."""
    professional = ProfessionalFactory(clinic=lisbon, services=[service])
    AvailabilityExceptionFactory(professional=professional, starts_at=at(lisbon, "2027-01-11 09:00"),
                                 ends_at=at(lisbon, "2027-01-11 10:00"))
    AvailabilityExceptionFactory(professional=professional, starts_at=at(lisbon, "2027-01-11 17:00"),
                                 ends_at=at(lisbon, "2027-01-11 18:00"))
    assert open_time(lisbon, professional, MONDAY) == [(at(lisbon, "2027-01-11 10:00"), at(lisbon, "2027-01-11 17:00"))]
    starts = times(search(lisbon, service, MONDAY))
    assert starts[0] == "10:00" and starts[-1] == "16:30"


def test_time_off_ending_as_the_day_starts_takes_nothing_from_it(lisbon, service):
    professional = ProfessionalFactory(clinic=lisbon, services=[service])
    AvailabilityExceptionFactory(professional=professional, starts_at=at(lisbon, "2027-01-11 07:00"),
                                 ends_at=at(lisbon, "2027-01-11 09:00"))
    AvailabilityExceptionFactory(professional=professional, starts_at=at(lisbon, "2027-01-11 18:00"),
                                 ends_at=at(lisbon, "2027-01-11 20:00"))
    assert open_time(lisbon, professional, MONDAY) == [(at(lisbon, "2027-01-11 09:00"), at(lisbon, "2027-01-11 18:00"))]


def test_working_hours_the_clock_skips_on_the_spring_forward_night_are_no_open_time(lisbon, service):
    # Sunday 28 March 2027: 01:00 WET is followed by 02:00 WEST, so 01:00–02:00 on the clock lasts no time.
    professional = ProfessionalFactory(clinic=lisbon, services=[service], hours=[(6, "01:00", "02:00"),
                                                                                (6, "09:00", "12:00")])
    sunday = dt.date(2027, 3, 28)
    assert open_time(lisbon, professional, sunday) == [(at(lisbon, "2027-03-28 09:00"), at(lisbon, "2027-03-28 12:00"))]
    assert times(search(lisbon, service, sunday, now="2027-03-01 08:00"))[0] == "09:00"


def test_a_gap_exactly_as_long_as_the_service_is_offered_before_after_and_between_appointments(lisbon, service):
    professional = ProfessionalFactory(clinic=lisbon, services=[service])
    for start in ("09:30", "10:30", "17:00"):
        AppointmentFactory(professional=professional, service=service, starts_at=at(lisbon, f"2027-01-11 {start}"))
    starts = times(search(lisbon, service, MONDAY))
    assert starts[:3] == ["09:00", "10:00", "11:00"]  # 09:00–09:30 and 10:00–10:30 end as the next one starts
    assert starts[-2:] == ["16:30", "17:30"]  # 17:30–18:00 ends at closing
    for start in ("09:00", "10:00", "16:30", "17:30"):
        assert booking_check(lisbon, service, at(lisbon, f"2027-01-11 {start}")).free == [professional]


def test_a_gap_exactly_as_long_as_the_service_and_its_buffers_is_offered(lisbon, service):
    professional = ProfessionalFactory(clinic=lisbon, services=[service])
    buffered = ServiceFactory(clinic=lisbon, duration_minutes=30, buffer_before_minutes=15, buffer_after_minutes=15)
    professional.services.add(buffered)
    AppointmentFactory(professional=professional, service=service, starts_at=at(lisbon, "2027-01-11 10:00"))
    AppointmentFactory(professional=professional, service=service, starts_at=at(lisbon, "2027-01-11 11:30"))
    starts = times(search(lisbon, buffered, MONDAY))
    # Occupies [start − 15 min, start + 45 min): 10:45 fills 10:30–11:30 exactly.
    assert [s for s in starts if "10:00" <= s < "12:00"] == ["10:45"]


def test_the_last_day_of_the_horizon_offers_its_slots_up_to_the_horizon(lisbon, service):
    ProfessionalFactory(clinic=lisbon, services=[service])
    lisbon.booking_rules = {"max_days_ahead": 3}
    lisbon.save()
    thursday = dt.date(2027, 1, 14)
    assert times(search(lisbon, service, thursday, now="2027-01-11 10:00")) == ["09:00", "09:15", "09:30", "09:45",
                                                                                "10:00"]
    assert search(lisbon, service, thursday + dt.timedelta(days=1), now="2027-01-11 10:00") == []


def test_a_horizon_at_midnight_still_offers_the_start_at_midnight(lisbon, service):
    ProfessionalFactory(clinic=lisbon, services=[service], hours=[(day, "00:00", "06:00") for day in range(7)])
    lisbon.booking_rules = {"max_days_ahead": 3}
    lisbon.save()
    thursday = dt.date(2027, 1, 14)
    assert search(lisbon, service, thursday, now="2027-01-11 00:00") == ["2027-01-14 00:00"]


def test_the_rest_of_a_day_inside_the_notice_has_no_slots_and_costs_no_query(lisbon, service,
                                                                             django_assert_num_queries):
    ProfessionalFactory(clinic=lisbon, services=[service], hours=[(day, "00:00", "23:45") for day in range(7)])
    with django_assert_num_queries(0):
        assert search(lisbon, service, MONDAY, now="2027-01-11 23:00") == []
    assert search(lisbon, service, MONDAY, now="2027-01-11 22:00") == ["2027-01-11 23:00", "2027-01-11 23:15"]


def test_open_time_across_midnight_gives_each_date_the_same_starts_whatever_dates_are_searched(lisbon, service):
    """A late start may end after midnight, and the grid of the night counts from its start (22:50), whether the
    search asks for Monday, Tuesday or both; the booking check accepts the same times."""
    professional = ProfessionalFactory(clinic=lisbon, services=[service], hours=[])
    AvailabilityExceptionFactory(professional=professional, kind=AvailabilityException.Kind.EXTRA_HOURS,
                                 starts_at=at(lisbon, "2027-01-11 22:50"), ends_at=at(lisbon, "2027-01-12 02:00"))
    monday, tuesday = search(lisbon, service, MONDAY), search(lisbon, service, TUESDAY)
    assert times(monday) == ["22:50", "23:05", "23:20", "23:35", "23:50"]
    assert times(tuesday) == ["00:05", "00:20", "00:35", "00:50", "01:05", "01:20"]
    assert search(lisbon, service, MONDAY, TUESDAY) == monday + tuesday
    assert booking_check(lisbon, service, at(lisbon, "2027-01-11 23:50")).free == [professional]
