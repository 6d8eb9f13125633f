"""Outbound SMS and calls: one interface, two back ends.

With TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN set, messages go through
Twilio's REST client (imported lazily: webhook handlers must stay light, and
importing app.py never imports twilio.rest). Otherwise they land in the local
outbox, printed and listed at GET /dev/outbox in local mode.
"""
from __future__ import annotations

import secrets
import threading
from datetime import datetime

from chalicelib import config
from chalicelib.logs import logger, mask_phone

_OUTBOX: list[dict] = []
_LOCK = threading.Lock()
_client_cache: dict[tuple[str, str], object] = {}
# Set by the local runner to print each outbound message on the console.
echo = None


class SendError(Exception):
    """Twilio refused or could not be reached; the caller keeps the work due."""


def _client():
    key = (config.twilio_account_sid(), config.twilio_auth_token())
    if key not in _client_cache:
        from twilio.rest import Client  # heavy: only when really sending

        _client_cache[key] = Client(*key)
    return _client_cache[key]


def _status_url(kind: str) -> str | None:
    base = config.public_base_url()
    return f"{base}/twilio/{kind}/status" if base else None


def send_sms(to: str, body: str, *, now: datetime, media_url: list[str] | None = None) -> str | None:
    """Sends one SMS from SUPPORT_NUMBER; returns the provider's message id.

    None when the number opted out (STOP): nothing is sent until START.
    """
    from chalicelib import store

    if store.get_contact(to).opted_out:
        logger.info("sms not sent: opted out", extra={"to": mask_phone(to)})
        return None
    if config.twilio_enabled():
        from twilio.base.exceptions import TwilioException

        kwargs = {"to": to, "from_": config.support_number(), "body": body}
        if _status_url("sms"):
            kwargs["status_callback"] = _status_url("sms")
        if media_url:
            kwargs["media_url"] = media_url
        try:
            msg = _client().messages.create(**kwargs)
        except TwilioException as exc:
            logger.warning("sms send failed", extra={"to": mask_phone(to), "error": str(exc)})
            raise SendError(str(exc)) from exc
        logger.info("sms sent", extra={"to": mask_phone(to), "sid": msg.sid, "chars": len(body)})
        return msg.sid
    sid = "SM" + secrets.token_hex(16)
    _record({"kind": "sms", "sid": sid, "to": to, "from": config.support_number(), "body": body,
             "media": media_url or [], "at": now.isoformat()})
    return sid


def place_call(to: str, url: str, *, now: datetime, timeout: int = 25) -> str:
    """Calls `to`; Twilio fetches TwiML from `url` when answered."""
    if config.twilio_enabled():
        from twilio.base.exceptions import TwilioException

        kwargs = {"to": to, "from_": config.emergency_number() or config.support_number(),
                  "url": url, "timeout": timeout}
        if _status_url("voice"):
            kwargs["status_callback"] = _status_url("voice")
        try:
            call = _client().calls.create(**kwargs)
        except TwilioException as exc:
            logger.warning("call failed", extra={"to": mask_phone(to), "error": str(exc)})
            raise SendError(str(exc)) from exc
        logger.info("call placed", extra={"to": mask_phone(to), "sid": call.sid})
        return call.sid
    sid = "CA" + secrets.token_hex(16)
    _record({"kind": "call", "sid": sid, "to": to, "from": config.emergency_number(), "url": url,
             "at": now.isoformat()})
    return sid


def _record(entry: dict) -> None:
    with _LOCK:
        _OUTBOX.append(entry)
    logger.info("outbox", extra={"kind": entry["kind"], "to": mask_phone(entry["to"]), "sid": entry["sid"]})
    if echo is not None:
        echo(entry)


def outbox() -> list[dict]:
    with _LOCK:
        return list(_OUTBOX)


def clear_outbox() -> None:
    with _LOCK:
        _OUTBOX.clear()
