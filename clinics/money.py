"""Money at the console's edges: amounts are stored as integer minor units plus an ISO 4217 currency (see
docs/architecture.md, Data); people type and read them in currency units, in their language's number format."""
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils import translation
from django.utils.formats import number_format

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
    """An amount in minor units as people of `language` (default: the active one) write it: "45,50 €" in pt-PT
    and fr, "€45.50" in English, "R$ 45,50" in pt-BR; thousands grouped in the language's way."""
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
