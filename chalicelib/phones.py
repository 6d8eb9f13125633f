"""Phone numbers: everything stored and compared as E.164."""
from __future__ import annotations

from chalicelib import config


def normalize(raw: str) -> str | None:
    """E.164 for a valid number in any common notation, else None."""
    if not isinstance(raw, str) or not raw.strip():
        return None
    import phonenumbers  # phonenumberslite's metadata: loaded on first use, not at cold start

    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else config.default_phone_region())
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
