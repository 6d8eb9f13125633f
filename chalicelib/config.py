"""Deployment configuration, read lazily from the environment.

Chalice's test client (and Lambda) set environment variables per call, so
nothing here is read at import time: every value is a function call.
"""
from __future__ import annotations

import os

# Bodies above this are refused with 413 before any parsing (API.md).
MAX_BODY_BYTES = 64 * 1024


def _get(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def stage() -> str:
    """`local`, `dev`, `prod`, or `test`."""
    return _get("FRIDAY_STAGE", "dev")


def table_prefix() -> str:
    return _get("TABLE_PREFIX", "friday-night-dev-")


def admin_api_key() -> str:
    return _get("ADMIN_API_KEY")


def twilio_account_sid() -> str:
    return _get("TWILIO_ACCOUNT_SID")


def twilio_auth_token() -> str:
    return _get("TWILIO_AUTH_TOKEN")


def twilio_enabled() -> bool:
    """Outbound goes through Twilio only when both credentials are set."""
    return bool(twilio_account_sid() and twilio_auth_token())


def support_number() -> str:
    return _get("SUPPORT_NUMBER")


def emergency_number() -> str:
    return _get("EMERGENCY_NUMBER")


def public_base_url() -> str:
    return _get("PUBLIC_BASE_URL").rstrip("/")


def default_phone_region() -> str:
    """ISO country assumed for numbers written without +country code."""
    return _get("DEFAULT_PHONE_REGION", "DE").upper()


def business_timezone() -> str:
    return _get("BUSINESS_TIMEZONE", "Europe/Berlin")


def is_local() -> bool:
    return stage() == "local"
