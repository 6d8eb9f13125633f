"""Deployment configuration, read lazily from the environment.

Chalice's test client (and Lambda) set environment variables per call, so
nothing here is read at import time: every value is a function call.
"""
from __future__ import annotations

import os
import re
import threading
import time

from chalicelib import aws
from chalicelib.logs import logger

# Bodies above this are refused with 413 before any parsing (API.md).
MAX_BODY_BYTES = 64 * 1024


def _get(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def stage() -> str:
    """`local`, `dev`, `prod`, or `test`."""
    return _get("FRIDAY_STAGE", "dev")


def table_prefix() -> str:
    return _get("TABLE_PREFIX", "friday-night-dev-")


LOCAL_STAGES = ("local", "test")  # only these have the local outbox and development defaults
SECRET_MAX_AGE = 300  # seconds a warm Lambda keeps a secret read from SSM


SECRETS = ("TWILIO_AUTH_TOKEN", "ADMIN_API_KEY")  # each read from the SSM name in <NAME>_PARAM when set
_LOCK = threading.Lock()
_read: tuple[float, dict[str, str]] = (0.0, {})  # (good until, SSM name → value): kept for SECRET_MAX_AGE


def _secret(name: str) -> str:
    """A secret: from the SSM Parameter Store SecureString named by `<NAME>_PARAM`, else the plain
    variable (local mode)."""
    param = _get(f"{name}_PARAM")
    if not param:
        return _get(name)
    return str(_ssm_secrets().get(param) or "").strip()


def _ssm_secrets() -> dict[str, str]:
    """Every secret of the stage from SSM in one GetParameters call (decrypted), kept SECRET_MAX_AGE
    seconds: one round trip per cold start, not one per secret. The client is botocore's, made from
    the process's session (chalicelib.aws) as the tables' is: Powertools Parameters did the same
    with a cache, but brings boto3 and s3transfer into the cold start (≈25 ms, issue 25) for this
    one call. A name SSM does not have is logged and asked for again next time (never cached)."""
    global _read
    names = sorted({param for param in (_get(f"{n}_PARAM") for n in SECRETS) if param})
    good_until, values = _read
    if time.monotonic() < good_until and all(n in values for n in names):
        return values
    with _LOCK:
        try:
            answer = aws.client("ssm").get_parameters(Names=names, WithDecryption=True)
        except Exception:  # noqa: BLE001 - no permission, no network: configuration, reported by problems()
            logger.exception("secrets could not be read from SSM", extra={"parameters": names})
            return {}
        values = {p["Name"]: p["Value"] for p in answer.get("Parameters", [])}
        if answer.get("InvalidParameters"):  # missing: configuration, reported by problems(), never a crash
            logger.error("secret missing in SSM", extra={"parameters": answer["InvalidParameters"]})
        else:
            _read = (time.monotonic() + SECRET_MAX_AGE, values)
    return values


def admin_api_key() -> str:
    return _secret("ADMIN_API_KEY")


def twilio_account_sid() -> str:
    return _get("TWILIO_ACCOUNT_SID")


def twilio_auth_token() -> str:
    return _secret("TWILIO_AUTH_TOKEN")


def twilio_enabled() -> bool:
    """Outbound goes through Twilio only when both credentials are set."""
    return bool(twilio_account_sid() and twilio_auth_token())


def support_number() -> str:
    return _get("SUPPORT_NUMBER")


def emergency_number() -> str:
    return _get("EMERGENCY_NUMBER")


def public_base_url() -> str:
    return _get("PUBLIC_BASE_URL").rstrip("/")


def frame_ancestors() -> str:
    """Who may frame the chat page (CSP frame-ancestors): the origins in WIDGET_ORIGINS
    ("https://shop.example, https://www.shop.example"), the app itself always; unset: any site (the
    widget works wherever it is pasted). An entry that is not an origin is left out, loudly."""
    raw = _get("WIDGET_ORIGINS").strip()
    if not raw or raw == "*":
        return "*"
    origins = []
    for entry in raw.split(","):
        entry = entry.strip().rstrip("/")
        if re.fullmatch(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?", entry):
            origins.append(entry)
        elif entry:
            logger.warning("WIDGET_ORIGINS: not an origin (scheme://host[:port]), left out",
                           extra={"entry": entry[:80]})
    return " ".join(["'self'", *origins])


def customer_countries() -> frozenset[str]:
    """ISO countries we text on our own (CUSTOMER_COUNTRIES, e.g. "DE,AT,FR"); empty: every country
    (customers write from anywhere). Twilio's geo permissions should say the same."""
    return frozenset(c.strip().upper() for c in _get("CUSTOMER_COUNTRIES").split(",") if c.strip())


def default_phone_region() -> str:
    """ISO country assumed for numbers written without +country code."""
    return _get("DEFAULT_PHONE_REGION", "DE").upper()


def business_timezone() -> str:
    return _get("BUSINESS_TIMEZONE", "Europe/Berlin")


def is_local() -> bool:
    return stage() == "local"


def has_local_outbox() -> bool:
    """Outbound SMS and calls may go to the in-memory outbox only here: a deployed stage without
    Twilio refuses to run (problems()) rather than page nobody."""
    return stage() in LOCAL_STAGES


def extra_numbers() -> list[str]:
    return [n.strip() for n in _get("EXTRA_NUMBERS").split(",") if n.strip()]


def our_numbers() -> set[str]:
    return {n for n in (support_number(), emergency_number(), *extra_numbers()) if n}


_E164 = r"\+[1-9][0-9]{6,14}"


def problems() -> list[str]:
    """What a deployed stage is missing or has malformed (empty when it can run). Local stages
    run on development defaults."""
    if has_local_outbox():
        return []
    out = []
    if not re.fullmatch(r"AC[0-9a-f]{32}", twilio_account_sid()):
        out.append("TWILIO_ACCOUNT_SID (AC and 32 hex digits)")
    if not twilio_auth_token():
        out.append("TWILIO_AUTH_TOKEN (the SSM SecureString named by TWILIO_AUTH_TOKEN_PARAM)")
    if not re.fullmatch(r"https://[^/\s]+(/\S*)?", public_base_url()):
        out.append("PUBLIC_BASE_URL (https://..., the API's stage URL)")
    for name, value in (("SUPPORT_NUMBER", support_number()), ("EMERGENCY_NUMBER", emergency_number())):
        if not re.fullmatch(_E164, value):
            out.append(f"{name} (E.164: a + and the country code, no spaces)")
    return out
