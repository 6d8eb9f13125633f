"""Schemathesis hooks (schemathesis.toml loads them) for the document's two formats of its own,
which JSON Schema cannot spell out:
- `phone`: a number its country's numbering plan knows (the API checks it with phonenumbers): the
  fuzzer draws each region's example numbers, in E.164 and international notation;
- `time-zone`: an IANA zone name zoneinfo knows (Area/Location, or UTC): drawn from that list. (An
  `enum` of 430 names made the coverage phase send each one to every route with a zone: minutes.)"""
from __future__ import annotations

import phonenumbers
import schemathesis
from hypothesis import strategies as st


def _examples() -> list[str]:
    found = []
    for region in ("DE", "FR", "RO", "GB", "US", "AT", "CH", "NL", "PT", "ES"):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
                found.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL))
    return found


def _zones() -> list[str]:
    from zoneinfo import available_timezones

    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


schemathesis.openapi.format("phone", st.sampled_from(_examples()))
schemathesis.openapi.format("time-zone", st.sampled_from(_zones()))
