"""Structured JSON logs with customer data masked.

Phone numbers are masked to their last two digits wherever they appear, and
the values of message-body fields are replaced by their length: logs never
carry who wrote what.
"""
from __future__ import annotations

import json
import re

# Not the Chalice app's name: Powertools would otherwise duplicate Chalice's lines.
SERVICE = "friday-night-core"

# "+49 151 1234 5678", "+4915112345678", or a bare run of 8+ digits; dates and
# times (groups of at most 4 digits, no plus) are left alone.
_PHONE = r"\+\d[\d\s().-]{6,}\d|(?<![\w.])\d{8,15}(?![\w])"  # compiled on first use
# An AWS ARN's account id is 12 digits, not a phone: an ARN is kept whole (issue 33: masked, the log of an
# access-denied error named "arn:aws:iam::+***12:role/...", and nobody could tell which role).
_ARN = r"\barn:aws[\w-]*:[\w-]+:[\w-]*:\d{12}:[^\s\"',;]+"
_KEEP_KEYS = {"timestamp", "location", "sid", "xray_trace_id", "function_request_id", "cold_start"}
_BODY_KEYS = {"text", "body", "Body", "transcript", "TranscriptionText", "reason"}
_PHONE_KEYS = {"phone", "From", "To", "Caller", "Called", "contact", "customer_contact", "to", "from_"}


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    if value.startswith("+***"):
        return value  # already masked
    digits = re.sub(r"\D", "", value)
    return "+***" + digits[-2:] if len(digits) >= 4 else "***"


def mask_text(value: str) -> str:
    return re.sub(f"({_ARN})|{_PHONE}", lambda m: m.group(1) or mask_phone(m.group(0)), value)


def _scrub(value, key: str | None = None):
    if isinstance(value, dict):
        return {k: _scrub(v, k) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v) for v in value]
    if value is not None and not isinstance(value, (str, int, float, bool)):
        value = str(value)  # exceptions and other objects: masked as the text they would print as
    if isinstance(value, str):
        if key in _KEEP_KEYS:
            return value
        if key in _BODY_KEYS:
            return f"<{len(value)} chars>"
        if key in _PHONE_KEYS:
            return mask_phone(value)
        return mask_text(value)
    return value


def _serialize(record: dict) -> str:
    return json.dumps(_scrub(record), default=str, ensure_ascii=False)


class _LazyLogger:
    """Powertools' Logger, built on first use: importing the app stays light (cold start)."""

    _real = None

    def _get(self):
        if _LazyLogger._real is None:
            from aws_lambda_powertools import Logger

            _LazyLogger._real = Logger(service=SERVICE, json_serializer=_serialize)
        return _LazyLogger._real

    def __getattr__(self, name):
        return getattr(self._get(), name)


logger = _LazyLogger()
