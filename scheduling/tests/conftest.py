import datetime as dt

import pytest

from scheduling.tests.factories import PatientFactory, ProfessionalFactory, ServiceFactory


@pytest.fixture
def service(clinic):
    return ServiceFactory(clinic=clinic, duration_minutes=30)


@pytest.fixture
def professional(clinic, service):
    """Works every day 00:00–23:45 so tests can book any upcoming time without depending on the clock."""
    return ProfessionalFactory(clinic=clinic, services=[service], hours=[(d, "00:00", "23:45") for d in range(7)])


@pytest.fixture
def patient(clinic):
    return PatientFactory(clinic=clinic)


def upcoming(days=2, hour=10, minute=0, clinic=None):
    """An aware datetime `days` from now at a round local time of the clinic (Europe/Lisbon by default)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(clinic.timezone if clinic else "Europe/Lisbon")
    day = (dt.datetime.now(zone) + dt.timedelta(days=days)).date()
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=zone)


def daytime_zone():
    """A time zone where it is now between 08:00 and 21:00, so "in 30 minutes" falls inside a working day
    whatever the hour the suite runs at (together these zones cover every UTC hour)."""
    from zoneinfo import ZoneInfo

    for name in ("Europe/Lisbon", "America/New_York", "Pacific/Honolulu", "Asia/Tokyo"):
        if 8 <= dt.datetime.now(ZoneInfo(name)).hour < 21:
            return name
    raise AssertionError("no daytime zone")  # unreachable: the four zones cover the clock
