"""Input checks that turn bad input into a 400 naming the field."""
from __future__ import annotations

import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from chalicelib import phones
from chalicelib.errors import BadRequest

_MISSING = object()


MAX_DEPTH = 8  # our bodies nest three levels at most; 8 leaves room and stops recursion bombs


def json_object(raw: bytes | None) -> dict:
    """The request body as a JSON object: valid JSON, nested at most MAX_DEPTH deep, no NUL and no
    lone surrogate in any string (they cannot be stored) — else a 400 naming where."""
    if not raw:
        raise BadRequest("body", "a JSON object is required", code="invalid_body")
    if _depth(raw) > MAX_DEPTH:
        raise BadRequest("body", f"is nested too deeply (at most {MAX_DEPTH} levels)", code="invalid_body")
    try:
        value = json.loads(raw, parse_float=_number)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("body", "is not valid JSON; send a JSON object", code="invalid_body") from None
    if not isinstance(value, dict):
        raise BadRequest("body", "must be a JSON object", code="invalid_body")
    _storable(value, "")
    return value


def _number(literal: str) -> int | float:
    """A JSON number as JSON Schema counts it: 3.0 and 3e0 are the integer 3 (so `"tier": 3.0`
    passes an integer field, as the document's `integer` promises); others stay floats."""
    value = float(literal)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def _depth(raw: bytes | str) -> int:
    """How deep the JSON nests, counted on the raw text (before the parser can recurse)."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    depth = deepest = 0
    in_string = escaped = False
    for c in text:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
    return deepest


_BAD_CHARS = "[\x00\ud800-\udfff]"


def _storable(value, path: str) -> None:
    if isinstance(value, str):
        if re.search(_BAD_CHARS, value):
            raise BadRequest(path or "body", "contains a NUL or an unpaired surrogate character; send valid text")
    elif isinstance(value, dict):
        for k, v in value.items():
            _storable(k, path or "body")
            _storable(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _storable(v, f"{path}[{i}]")


def unknown_fields(body: dict, allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise BadRequest(extra[0], f"is not a known field; expected one of {', '.join(sorted(allowed))}")


def text(body: dict, field: str, *, required: bool = True, max_len: int = 1600,
         default: str | None = None) -> str | None:
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(field, "is required (a non-empty string)", code="missing_field")
        return default
    if not isinstance(value, str):
        raise BadRequest(field, "must be a string")
    value = value.strip()
    if not value:
        if required:
            raise BadRequest(field, "must not be empty", code="missing_field")
        return default
    if len(value) > max_len:
        raise BadRequest(field, f"is {len(value)} characters long; at most {max_len} are allowed")
    return value


def integer(body: dict, field: str, *, required: bool = True, minimum: int | None = None,
            maximum: int | None = None, default: int | None = None) -> int | None:
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(field, "is required (an integer)", code="missing_field")
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(field, "must be an integer")
    if minimum is not None and value < minimum:
        raise BadRequest(field, f"must be at least {minimum}")
    if maximum is not None and value > maximum:
        raise BadRequest(field, f"must be at most {maximum}")
    return value


def choice(body: dict, field: str, options: tuple[str, ...], *, required: bool = True,
           default: str | None = None) -> str | None:
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(field, f"is required: one of {', '.join(options)}", code="missing_field")
        return default
    if value not in options:
        raise BadRequest(field, f"{json.dumps(value)[:40]} is not one of {', '.join(options)}")
    return value


def phone(body: dict, field: str, *, required: bool = True) -> str | None:
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(field, "is required (a phone number like +4915112345678)", code="missing_field")
        return None
    normalized = phones.normalize(value) if isinstance(value, str) else None
    if normalized is None:
        shown = json.dumps(value)[:24]
        raise BadRequest(field, f"{shown} is not a valid phone number; use E.164 like +4915112345678")
    return normalized


def timezone(body: dict, field: str, *, required: bool = True, default: str | None = None) -> str | None:
    value = body.get(field, _MISSING)
    if value is _MISSING or value is None:
        if required:
            raise BadRequest(field, "is required (an IANA time zone like Europe/Berlin)", code="missing_field")
        return default
    if not isinstance(value, str) or "/" not in value and value != "UTC":
        raise BadRequest(field, "must be an IANA time zone like Europe/Berlin")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(field, f"{value[:40]!r} is not a known IANA time zone; use one like Europe/Berlin") from None
    return value


def query_int(params: dict, field: str, *, minimum: int = 1, maximum: int = 1000) -> int | None:
    raw = params.get(field)
    if raw is None:
        return None
    if raw == "":
        raise BadRequest(field, "is empty; leave it out for the default, or send an integer")
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(field, f"must be an integer between {minimum} and {maximum}") from None
    if not minimum <= value <= maximum:
        raise BadRequest(field, f"must be an integer between {minimum} and {maximum}")
    return value


def instant(raw: str | None, field: str) -> datetime | None:
    """ISO 8601 with an offset (API.md); a naive time is ambiguous and refused. An empty value
    (`at=`) is refused too, as the document says: leave the parameter out for its default."""
    if raw is None:
        return None
    if raw == "":
        raise BadRequest(field, "is empty; leave it out for the default, or send a time like 2026-11-20T18:00:00+01:00")
    raw = raw.strip()
    if re.fullmatch(r"\S+T\S+ \d{2}:?\d{2}", raw):
        raw = raw.replace(" ", "+")  # API.md v1.1: a '+' typed unencoded in a query arrives as a space
    raw = raw.upper()  # RFC 3339 allows "t" and "z"
    raw = re.sub(r"(T\d{2}:\d{2}):60", r"\1:59", raw)  # a leap second is the second before it, here
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(field, "must be an ISO 8601 time with offset, like 2026-11-20T18:00:00+01:00") from None
    if value.tzinfo is None:
        raise BadRequest(field, "needs a UTC offset, like 2026-11-20T18:00:00+01:00")
    if not 2000 <= value.year <= 2100:
        raise BadRequest(field, "must be between the years 2000 and 2100")
    return value
