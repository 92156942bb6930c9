"""The weekly hours editor (per weekday: time ranges or closed, errors on their day in the reader's language) and
money in currency units in the reader's number format (typed and shown), on the console's scheduling pages."""
import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from clinics.models import Membership
from clinics.money import format_money, to_minor
from clinics.tests.factories import MembershipFactory, UserFactory
from scheduling.models import Professional, Service, WorkingHours
from scheduling.tests.factories import ProfessionalFactory, ServiceFactory

pytestmark = [pytest.mark.django_db]

CLOSED_REST = {f"hours_{day}-closed": "1" for day in ("tue", "wed", "thu", "fri", "sat", "sun")}


@pytest.fixture
def editor_client(client, clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR, user=UserFactory()).user)
    return client


def _week(professional):
    return list(WorkingHours.objects.filter(professional=professional).values_list("weekday", "start", "end"))


def test_a_day_with_a_break_and_closed_days_are_saved_through_the_service(editor_client, clinic):
    professional = ProfessionalFactory(clinic=clinic, name="Dra. Ana", hours=[(d, "08:00", "18:00") for d in range(7)])
    response = editor_client.post(reverse("scheduling:professional_edit", args=[professional.pk]), {
        "name": "Dra. Ana", "colour": "#112233", "active": "on",
        "hours_mon-start": ["09:00", "14:00", ""], "hours_mon-end": ["13:00", "18:00", ""], **CLOSED_REST,
        # A closed day's ranges are ignored even when posted.
        "hours_sun-start": "10:00", "hours_sun-end": "12:00"})
    assert response.status_code == 302
    assert _week(professional) == [(0, dt.time(9), dt.time(13)), (0, dt.time(14), dt.time(18))]
    page = editor_client.get(reverse("scheduling:professional_edit", args=[professional.pk])).content.decode()
    assert page.count('data-role="closed" checked') == 6
    assert 'name="hours_mon-start" value="14:00"' in page


@pytest.mark.parametrize("language", ["pt-pt", "fr"])
def test_an_overlap_is_shown_on_its_day_in_the_readers_language_and_nothing_changes(editor_client, clinic, language):
    from scheduling.services import parse_weekly_schedule

    professional = ProfessionalFactory(clinic=clinic, name="Dra. Ana", hours=[(0, "08:00", "18:00")])
    response = editor_client.post(reverse("scheduling:professional_edit", args=[professional.pk]), {
        "name": "Dra. Ana", "colour": "#112233", "active": "on", **CLOSED_REST,
        "hours_mon-start": ["09:00", "12:00"], "hours_mon-end": ["13:00", "18:00"],
        "hours_tue-closed": "", "hours_tue-start": "18:00", "hours_tue-end": "09:00"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 400
    assert response.wsgi_request.LANGUAGE_CODE == language
    form = response.context["form"]
    with translation.override(language):
        for day, schedule in (("mon", [["09:00", "13:00"], ["12:00", "18:00"]]), ("tue", [["18:00", "09:00"]])):
            try:
                parse_weekly_schedule({day: schedule})
            except Exception as error:  # the service's own message, in this language
                expected = error.message
            assert form.errors[f"hours_{day}"] == [expected]
    assert "hours_wed" not in form.errors
    html = response.content.decode()
    assert 'id="id_hours_mon-errors"' in html and 'aria-describedby="id_hours_mon-errors"' in html
    assert _week(professional) == [(0, dt.time(8), dt.time(18))]


def test_half_a_range_is_a_field_error_not_a_crash(editor_client, clinic):
    response = editor_client.post(reverse("scheduling:professional_new"), {
        "name": "Dr. Rui", "colour": "#112233", **CLOSED_REST, "hours_mon-start": "09:00", "hours_mon-end": ""})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["hours_mon"]
    assert not Professional.objects.filter(name="Dr. Rui").exists()


@pytest.mark.parametrize("language, typed, shown", [
    ("pt-pt", "1234,50", "1234,50"), ("pt-pt", "1\xa0234,50\xa0€", "1234,50"), ("pt-pt", "1.234,50", "1234,50"),
    ("fr", "1 234,50", "1234,50"), ("pt-br", "R$ 1.234,50", "1234,50"), ("en", "1234.50", "1234.50"),
    ("en", "€1,234.50", "1234.50")])
def test_a_price_is_typed_in_euros_in_the_readers_format_and_stored_in_cents(editor_client, clinic, language, typed,
                                                                             shown):
    """What the services list shows (clinics.money.format_money) can be typed back, and plain numbers too."""
    response = editor_client.post(reverse("scheduling:service_new"), {
        "name": "Check-up", "duration_minutes": 30, "price": typed, "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 0, "active": "on"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 302
    service = Service.objects.get(clinic=clinic, name="Check-up")
    assert service.price == 123450
    form_page = editor_client.get(reverse("scheduling:service_edit", args=[service.pk]),
                                  HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'value="{shown}"' in form_page


def test_a_price_that_is_not_an_amount_is_refused_on_the_field(editor_client, clinic):
    response = editor_client.post(reverse("scheduling:service_new"), {
        "name": "Check-up", "duration_minutes": 30, "price": "12.34,5", "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 0}, HTTP_ACCEPT_LANGUAGE="pt-pt")
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["price"]
    assert not Service.objects.filter(clinic=clinic).exists()


def test_a_price_with_more_decimals_than_the_currency_has_is_refused_on_the_field(editor_client, clinic):
    response = editor_client.post(reverse("scheduling:service_new"), {
        "name": "Check-up", "duration_minutes": 30, "price": "10.505", "currency": "EUR",
        "buffer_before_minutes": 0, "buffer_after_minutes": 0}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["price"]
    assert not Service.objects.filter(clinic=clinic).exists()


@pytest.mark.parametrize("language, shown", [("pt-pt", "1\xa0234,50\xa0€"), ("en", "€1,234.50"),
                                             ("fr", "1\xa0234,50\xa0€"), ("pt-br", "R$\xa01.234,50")])
def test_the_services_list_shows_prices_in_the_readers_format(editor_client, clinic, language, shown):
    ServiceFactory(clinic=clinic, name="Check-up", price=123450, currency="EUR" if language != "pt-br" else "BRL")
    html = editor_client.get(reverse("scheduling:services"), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    assert f'<td class="amount">{shown}</td>' in html
    assert "cents" not in html


def test_money_round_trips_by_the_currencys_minor_unit():
    assert to_minor("45.5", "EUR") == 4550 and to_minor("4550", "JPY") == 4550 and to_minor("1.234", "KWD") == 1234
    with pytest.raises(ValueError):
        to_minor("1.5", "JPY")
    assert format_money(4550, "JPY", "en") == "¥4,550"


def test_the_clinics_opening_hours_are_edited_with_the_same_grid_and_audited(editor_client, clinic):
    from clinics.models import AuditEvent
    from scheduling.selectors import opening_hours

    page = editor_client.get(reverse("scheduling:opening_hours")).content.decode()
    assert 'name="hours_mon-start"' in page
    response = editor_client.post(reverse("scheduling:opening_hours"), {
        **CLOSED_REST, "hours_mon-start": ["14:00", "09:00"], "hours_mon-end": ["19:00", "13:00"]})
    assert response.status_code == 302
    clinic.refresh_from_db()
    assert opening_hours(clinic) == {"mon": [["09:00", "13:00"], ["14:00", "19:00"]], "tue": [], "wed": [],
                                     "thu": [], "fri": [], "sat": [], "sun": []}
    assert AuditEvent.objects.filter(action="clinic.opening_hours_update", clinic=clinic).count() == 1
    # A new professional starts with them.
    assert 'name="hours_mon-start" value="14:00"' in editor_client.get(
        reverse("scheduling:professional_new")).content.decode()


def test_opening_hours_that_overlap_are_refused_on_their_day(editor_client, clinic):
    before = dict(clinic.booking_rules or {})
    response = editor_client.post(reverse("scheduling:opening_hours"), {
        **CLOSED_REST, "hours_mon-start": ["09:00", "10:00"], "hours_mon-end": ["13:00", "12:00"]})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["hours_mon"]
    clinic.refresh_from_db()
    assert (clinic.booking_rules or {}) == before


def test_a_viewer_sees_the_opening_hours_but_cannot_change_them(client, clinic):
    client.force_login(MembershipFactory(clinic=clinic, role=Membership.Role.VIEWER, user=UserFactory()).user)
    assert client.get(reverse("scheduling:opening_hours")).status_code == 200
    response = client.post(reverse("scheduling:opening_hours"), {**CLOSED_REST, "hours_mon-closed": "1"})
    assert response.status_code == 403
    clinic.refresh_from_db()
    assert "opening_hours" not in (clinic.booking_rules or {})
