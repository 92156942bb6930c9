"""Money in the reader's language, both ways: `format_money` shows an amount as people of pt-PT, pt-BR, fr and en
write it, and `parse_amount` (the console's money inputs) reads back what it shows and what people type."""
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import formats, translation

from clinics.money import AmountField, format_money, parse_amount, to_minor

NBSP = "\xa0"


@pytest.mark.parametrize("language, currency, shown", [
    ("pt-pt", "EUR", f"1{NBSP}234,50{NBSP}€"),
    ("pt-pt", "BRL", f"1{NBSP}234,50{NBSP}R$"),
    ("fr", "EUR", f"1{NBSP}234,50{NBSP}€"),
    ("fr", "BRL", f"1{NBSP}234,50{NBSP}R$"),
    ("pt-br", "BRL", f"R${NBSP}1.234,50"),
    ("pt-br", "EUR", f"€{NBSP}1.234,50"),
    ("en", "EUR", "€1,234.50"),
    ("en", "BRL", "R$1,234.50"),
])
def test_an_amount_is_shown_as_the_reader_writes_it_and_read_back(language, currency, shown):
    assert format_money(123450, currency, language) == shown
    assert to_minor(parse_amount(shown, language), currency) == 123450


def test_a_million_is_grouped_with_the_same_space_in_pt_pt_and_fr():
    assert format_money(123456789, "EUR", "pt-pt") == format_money(123456789, "EUR", "fr") == \
        f"1{NBSP}234{NBSP}567,89{NBSP}€"
    assert format_money(4550, "EUR", "pt-pt") == f"45,50{NBSP}€"  # no group below a thousand


@pytest.mark.parametrize("language, typed", [
    # pt-PT and fr: a comma marks the decimals; thousands with any space, or with dots as Brazil and older
    # Portuguese prices write them; a dot alone before other than three digits is a decimal mark (a keypad's).
    *[(language, typed) for language in ("pt-pt", "fr") for typed in (
        "1234,50", "1 234,50", f"1{NBSP}234,50", "1\u202f234,50", "1.234,50", "1234.50", " 1 234,50 € ",
        "EUR 1234,5", "1,234.50")],
    # pt-BR: the same marks, the symbol first.
    *[("pt-br", typed) for typed in ("1234,50", "1.234,50", "R$ 1.234,50", f"R${NBSP}1.234,50", "1 234,50")],
    # en: a dot marks the decimals, commas group; a comma before two digits is read as a decimal mark.
    *[("en", typed) for typed in ("1234.50", "1,234.50", "€1,234.50", "1 234.50", "1234,50", "€ 1,234.5")],
])
def test_what_people_type_in_their_language_is_read_as_the_same_amount(language, typed):
    assert parse_amount(typed, language) == Decimal("1234.50")


@pytest.mark.parametrize("language, typed, amount", [
    ("pt-pt", "1.234", "1234"), ("pt-pt", "45.5", "45.5"), ("pt-pt", "45", "45"), ("pt-pt", ",5", "0.5"),
    ("pt-pt", "1.234.567", "1234567"), ("fr", "1 234 567,8", "1234567.8"), ("en", "1,234", "1234"),
    ("en", "1.234", "1.234"), ("pt-br", "1,234", "1.234"), ("en", "0", "0"),
])
def test_an_ambiguous_mark_is_read_the_way_the_language_writes_it(language, typed, amount):
    assert parse_amount(typed, language) == Decimal(amount)


@pytest.mark.parametrize("language, typed", [
    ("pt-pt", ""), ("pt-pt", "€"), ("pt-pt", "abc"), ("pt-pt", "1,2,3"), ("pt-pt", "12.34,5"), ("en", "1,23.5"),
    ("en", "12345,678.9"), ("fr", "1,234,5"), ("en", "1.2.3"), ("pt-pt", "4 5 6,7,8"), ("en", "1e3"),
    ("en", "\u0661\u0662"), ("pt-pt", ","), ("en", "NaN"), ("en", "Infinity"), ("pt-pt", "1,234.567,89"),
])
def test_what_is_not_an_amount_is_refused(language, typed):
    with pytest.raises(ValueError):
        parse_amount(typed, language)


def test_the_active_language_is_the_default():
    with translation.override("pt-pt"):
        assert parse_amount("1.234,50") == Decimal("1234.50")
        assert format_money(123450, "EUR") == f"1{NBSP}234,50{NBSP}€"
    with translation.override("en"):
        assert parse_amount("1,234.50") == Decimal("1234.50")


def test_the_console_s_other_numbers_follow_the_same_grouping():
    """config/formats/ is Django's FORMAT_MODULE_PATH: every localised number of the console groups the same way."""
    for language, grouped in (("pt-pt", f"1{NBSP}234,5"), ("fr", f"1{NBSP}234,5"), ("pt-br", "1.234,5"),
                              ("en", "1,234.5")):
        with translation.override(language):
            assert formats.number_format(Decimal("1234.5"), use_l10n=True, force_grouping=True) == grouped


@pytest.mark.parametrize("language, typed", [("pt-pt", f"1{NBSP}234,50"), ("fr", "1 234,50"),
                                             ("pt-br", "1.234,50"), ("en", "1,234.50")])
def test_the_amount_field_takes_what_is_shown_and_shows_it_back_for_editing(language, typed):
    with translation.override(language):
        field = AmountField(min_value=0, required=False)
        assert field.clean(typed) == Decimal("1234.50")
        assert field.clean("") is None
        shown = field.widget.format_value(field.prepare_value(Decimal("1234.50")))
        assert field.clean(shown) == Decimal("1234.50")
        with pytest.raises(ValidationError) as error:
            field.clean("1,2,3,4")
        assert error.value.code == "invalid"
