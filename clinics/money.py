"""Money at the console's edges: amounts are stored as integer minor units plus an ISO 4217 currency (see
docs/architecture.md, Data); people type and read them in currency units, in their language's number format."""
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.utils import translation
from django.utils.formats import get_format, number_format

# ISO 4217 minor units where they are not 2.
MINOR_DIGITS = {"BHD": 3, "CLP": 0, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3,
                "PYG": 0, "TND": 3, "UGX": 0, "VND": 0, "XAF": 0, "XOF": 0}
SYMBOLS = {"EUR": "€", "GBP": "£", "USD": "US$", "BRL": "R$", "CHF": "CHF", "JPY": "¥"}
# Where the symbol goes, by language: after the amount with a space (pt-PT, fr), or before it (en, pt-BR).
SYMBOL_FIRST = {"en": "", "pt-br": "\xa0"}


def minor_digits(currency: str) -> int:
    return MINOR_DIGITS.get((currency or "").upper(), 2)


def to_units(minor: int, currency: str) -> Decimal:
    """4550 EUR cents -> Decimal("45.50")."""
    digits = minor_digits(currency)
    return (Decimal(int(minor or 0)) / (10 ** digits)).quantize(Decimal(1).scaleb(-digits))


def to_minor(units, currency: str) -> int:
    """Decimal("45.5") EUR -> 4550. ValueError when the amount has more decimals than the currency has."""
    try:
        amount = Decimal(units)
    except (InvalidOperation, TypeError):
        raise ValueError("not a number")
    scaled = amount.scaleb(minor_digits(currency))
    if scaled != scaled.to_integral_value(rounding=ROUND_HALF_UP):
        raise ValueError("too many decimals")
    return int(scaled)


def format_money(minor: int, currency: str, language: str | None = None) -> str:
    """An amount in minor units as people of `language` (default: the active one) write it: "1 234,50 €" in pt-PT
    and fr, "€1,234.50" in English, "R$ 1.234,50" in pt-BR; thousands grouped in the language's way (the space
    is a no-break space, config/formats/), and `parse_amount` reads every one of them back."""
    language = (language or translation.get_language() or "en").lower()
    digits = minor_digits(currency)
    with translation.override(language):
        number = number_format(to_units(minor, currency), decimal_pos=digits, use_l10n=True, force_grouping=True)
    symbol = SYMBOLS.get((currency or "").upper(), (currency or "").upper())
    base = language.split("-")[0]
    gap = SYMBOL_FIRST.get(language, SYMBOL_FIRST.get(base))
    if gap is not None:
        return f"{symbol}{gap}{number}" if len(symbol) == 1 or symbol.endswith("$") else f"{symbol}\xa0{number}"
    return f"{number}\xa0{symbol}"


# What may stand around the number: the symbol or code, before or after it.
_AROUND = re.compile(r"^[^\d+\-.,]+|[^\d.,]+$")


def parse_amount(text: str, language: str | None = None) -> Decimal:
    """An amount in currency units as a person of `language` (default: the active one) types it, or as
    `format_money` shows it: "1 234,50 €", "1234,50", "1.234,50" and "€1,234.50" are all 1234.50.

    Spaces of any kind (the no-break ones `format_money` writes too) and a currency symbol or code around the
    number are ignored. The language's decimal mark (",", or "." in English) is the decimal mark; the other
    mark groups thousands where it can (it comes before the decimal mark, repeats, or is followed by exactly
    three digits: "1.234" is 1234 in pt-PT) and is otherwise read as a decimal mark ("45.50" is 45.50 in pt-PT,
    "45,50" is 45.50 in English). Groups after the first must have three digits. ValueError when it is not an
    amount."""
    language = (language or translation.get_language() or "en").lower()
    with translation.override(language):
        mark = get_format("DECIMAL_SEPARATOR")
    other = "." if mark == "," else ","
    value = _AROUND.sub("", "".join(str(text).split()))
    sign = ""
    if value[:1] in "+-" and value:
        sign, value = ("-" if value[0] == "-" else ""), value[1:]
    if not value or not re.fullmatch(r"[0-9.,]+", value):
        raise ValueError("not an amount")
    if mark in value and other in value:
        decimal_mark = mark if value.rindex(mark) > value.rindex(other) else other
    elif mark in value:
        decimal_mark = mark if value.count(mark) == 1 else None
    elif other in value:
        groups_of_three = value.count(other) > 1 or len(value) - value.rindex(other) - 1 == 3
        decimal_mark = None if groups_of_three else other
    else:
        decimal_mark = None
    if decimal_mark:
        whole, _mark, fraction = value.rpartition(decimal_mark)
        group_mark = other if decimal_mark == mark else mark
    else:
        whole, fraction, group_mark = value, "", mark if mark in value else other
    groups = whole.split(group_mark) if whole else ["0"]
    if len(groups) > 1 and not (1 <= len(groups[0]) <= 3 and all(len(group) == 3 for group in groups[1:])):
        raise ValueError("thousands grouped wrongly")
    if not all(group.isdigit() for group in groups) or not (whole or fraction):
        raise ValueError("not an amount")
    return Decimal(f"{sign}{''.join(groups)}.{fraction or '0'}")


class AmountField(forms.DecimalField):
    """A form's amount in currency units, typed in the reader's number format and read by `parse_amount` (so
    whatever `format_money` shows can be typed back); shown for editing without grouping ("1234,50")."""

    def __init__(self, **kwargs):
        kwargs.setdefault("localize", True)
        super().__init__(**kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return parse_amount(str(value))
        except (ValueError, InvalidOperation):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
