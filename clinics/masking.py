"""How personal data looks to a caller who may not read it (a viewer, a key without `pii`, a support user
without `clinics.read_pii`): names keep their initials, phones their country code and ends, e-mails their domain.
One set of masks for every surface (API, console, Django admin)."""
import re

import phonenumbers

_NAME_PARTICLES = frozenset({"da", "de", "do", "das", "dos", "e", "di", "du", "del", "van", "von", "le", "la"})


def mask_name(name: str) -> str:
    """'Maria da Silva' -> 'M. S.': initials of the words that are not particles."""
    words = [word for word in (name or "").split() if word]
    kept = [word for word in words if word.lower() not in _NAME_PARTICLES] or words
    return " ".join(f"{word[0].upper()}." for word in kept)


def mask_phone(phone: str) -> str:
    """'+351912345678' -> '+351 9•• ••• •78': the country code, the first and the last two digits."""
    if not phone:
        return ""
    try:
        number = phonenumbers.parse(phone, None)
        country, national = f"+{number.country_code}", str(number.national_number)
    except Exception:  # noqa: BLE001 — a stored number that no longer parses is still masked
        country, national = "", re.sub(r"\D", "", phone)
    if len(national) <= 3:
        return f"{country} {'•' * len(national)}".strip()
    hidden = national[0] + "•" * (len(national) - 3) + national[-2:]
    groups = [hidden[i:i + 3] for i in range(0, len(hidden), 3)]
    return f"{country} {' '.join(groups)}".strip()


def mask_email(email: str) -> str:
    """'maria@example.pt' -> 'm•••@example.pt'."""
    if not email or "@" not in email:
        return "•••" if email else ""
    local, domain = email.split("@", 1)
    return f"{local[:1]}•••@{domain}"
