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


def country(e164: str | None) -> str | None:
    """The number's country (ISO 3166 alpha-2, e.g. "DE"), or None."""
    if not e164 or not e164.startswith("+"):
        return None
    import phonenumbers

    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


_ZONES: dict[str, list[str]] | None = None


def _country_zones() -> dict[str, list[str]]:
    """Country → its time zones, from the IANA database's own zone.tab (the tzdata package that
    zoneinfo reads; the system's copy where it has none)."""
    global _ZONES
    if _ZONES is None:
        try:
            from importlib.resources import files

            text = (files("tzdata") / "zoneinfo" / "zone.tab").read_text(encoding="utf-8")
        except (ImportError, FileNotFoundError, ModuleNotFoundError):
            with open("/usr/share/zoneinfo/zone.tab", encoding="utf-8") as fh:
                text = fh.read()
        zones: dict[str, list[str]] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                cols = line.split("\t")
                zones.setdefault(cols[0], []).append(cols[2])
        _ZONES = zones
    return _ZONES


def zone_of(e164: str | None) -> str | None:
    """The time zone of a number whose country keeps one time (Germany — Büsingen keeps Berlin's
    clock —, Romania, France: yes; the US, Portugal with the Azores: no, we do not guess)."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    zones = _country_zones().get(country(e164) or "", [])
    if not zones:
        return None
    samples = [datetime(2026, m, 15, 12, tzinfo=timezone.utc) for m in (1, 4, 7, 10)]
    clocks = {tuple(s.astimezone(ZoneInfo(z)).utcoffset() for s in samples) for z in zones}
    return zones[0] if len(clocks) == 1 else None


def costly(e164: str | None) -> bool:
    """A number we never text on our own (issue 23, SMS pumping): premium-rate, shared-cost and
    unknown number types, the non-geographic global ones (satellite +870/+881, international
    premium +979), where an automatic reply is how fraudsters bill small companies, and countries
    outside CUSTOMER_COUNTRIES when it is set."""
    if not e164 or not e164.startswith("+"):
        return False
    import phonenumbers

    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return True
    kind, region = phonenumbers.number_type(number), phonenumbers.region_code_for_number(number)
    served = config.customer_countries()
    return (kind in (phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST,
                     phonenumbers.PhoneNumberType.UNKNOWN)
            or region == "001" or bool(served and region not in served))


def is_mobile(e164: str | None) -> bool:
    """Whether a number can receive an SMS: a mobile (or a number whose plan does not tell a mobile
    from a landline, as in the US); never a landline, premium or unknown number."""
    if not e164 or not e164.startswith("+"):
        return False
    import phonenumbers

    try:
        kind = phonenumbers.number_type(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False
    return kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
