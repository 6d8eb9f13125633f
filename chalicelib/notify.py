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

from chalicelib import config, store
from chalicelib.logs import logger, mask_phone

_OUTBOX: list[dict] = []
_LOCK = threading.Lock()
_client_cache: dict[tuple[str, str], object] = {}
# Set by the local runner to print each outbound message on the console.
echo = None


TIMEOUT_SECONDS = 10.0  # a send that hangs longer is a failed attempt, retried by the outbox
# Twilio error codes that no retry can fix: invalid or unreachable number, opted out, not SMS-capable.
PERMANENT_CODES = {21211, 21214, 21217, 21401, 21407, 21408, 21421, 21601, 21606, 21610, 21612, 21614, 21215}


class SendError(Exception):
    """The send did not happen: Twilio refused, failed, timed out or was unreachable.

    ``permanent`` says a retry cannot help (invalid number, opted out).
    """

    def __init__(self, message: str, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _client():
    key = (config.twilio_account_sid(), config.twilio_auth_token())
    if key not in _client_cache:
        from twilio.http.http_client import TwilioHttpClient
        from twilio.rest import Client  # heavy: only when really sending

        _client_cache[key] = Client(*key, http_client=TwilioHttpClient(timeout=TIMEOUT_SECONDS))
    return _client_cache[key]


def _send_error(exc: Exception, what: str, to: str) -> SendError:
    """Every exception of a send is a failed attempt: network errors and timeouts included."""
    code = getattr(exc, "code", None)
    status = getattr(exc, "status", None)
    permanent = code in PERMANENT_CODES  # anything else (5xx, 401, network) may pass on a later try
    logger.warning(f"{what} failed", extra={"to": mask_phone(to), "error_type": type(exc).__name__,
                                            "code": code, "http_status": status, "permanent": permanent})
    if status is not None:
        what = f"Twilio answered HTTP {status}" + (f" (error {code})" if code else "")
    else:
        what = f"Twilio could not be reached ({type(exc).__name__})"
    return SendError(what[:300], permanent=permanent)


def _local_only() -> None:
    """The in-memory outbox is for local stages only: a deployed stage without Twilio fails the
    attempt (the outbox retries, the alarms see it) instead of paging nobody."""
    if not config.has_local_outbox():
        raise SendError("Twilio is not configured for this stage: " + "; ".join(config.problems() or ["?"]),
                        permanent=False)


def _status_url(kind: str) -> str | None:
    base = config.public_base_url()
    return f"{base}/twilio/{kind}/status" if base else None


def send_sms(to: str, body: str, *, now: datetime, media_url: list[str] | None = None) -> str | None:
    """Sends one SMS from SUPPORT_NUMBER; returns the provider's message id.

    None when the number opted out (STOP): nothing is sent until START.
    """
    if store.get_contact(to).opted_out:
        logger.info("sms not sent: opted out", extra={"to": mask_phone(to)})
        return None
    if config.twilio_enabled():
        kwargs = {"to": to, "from_": config.support_number(), "body": body}
        if _status_url("sms"):
            kwargs["status_callback"] = _status_url("sms")
        if media_url:
            kwargs["media_url"] = media_url
        try:
            msg = _client().messages.create(**kwargs)
        except Exception as exc:  # noqa: BLE001 - ConnectionError, Timeout, TwilioRestException, ...
            raise _send_error(exc, "sms send", to) from exc
        logger.info("sms sent", extra={"to": mask_phone(to), "sid": msg.sid, "chars": len(body)})
        return msg.sid
    _local_only()
    sid = "SM" + secrets.token_hex(16)
    _record({"kind": "sms", "sid": sid, "to": to, "from": config.support_number(), "body": body,
             "media": media_url or [], "at": now.isoformat()})
    return sid


def place_call(to: str, url: str, *, now: datetime, timeout: int = 25) -> str:
    """Calls `to`; Twilio fetches TwiML from `url` when answered."""
    if config.twilio_enabled():
        kwargs = {"to": to, "from_": config.emergency_number() or config.support_number(),
                  "url": url, "timeout": timeout}
        if _status_url("voice"):
            kwargs["status_callback"] = _status_url("voice")
        try:
            call = _client().calls.create(**kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure is a failed attempt
            raise _send_error(exc, "call", to) from exc
        logger.info("call placed", extra={"to": mask_phone(to), "sid": call.sid})
        return call.sid
    _local_only()
    sid = "CA" + secrets.token_hex(16)
    _record({"kind": "call", "sid": sid, "to": to, "from": config.emergency_number(), "url": url,
             "at": now.isoformat()})
    return sid


def find_sent(kind: str, to: str, body: str | None, since: datetime) -> str | None:
    """The sid of an SMS (same body) or call to `to` created since `since`, if one exists.

    Asked before re-sending an item whose sender died mid-flight: the send may
    have gone out before the sender could record it. Reads Twilio's
    Messages/Calls list (or, locally, the local outbox). Raises SendError when
    Twilio cannot be asked (the caller then waits rather than risk a copy).
    """
    if not config.twilio_enabled():
        _local_only()
        for entry in reversed(outbox()):
            if entry["kind"] == kind and entry["to"] == to and entry.get("body") == body and \
                    datetime.fromisoformat(entry["at"]) >= since:
                return entry["sid"]
        return None
    try:
        if kind == "sms":
            found = _client().messages.list(to=to, from_=config.support_number(), limit=20)
            matches = [m for m in found if m.body == body]
        else:
            matches = list(_client().calls.list(to=to, limit=20))
    except Exception as exc:  # noqa: BLE001 - cannot tell: treat as a failed attempt
        raise _send_error(exc, "outbox check", to) from exc
    for m in matches:
        created = getattr(m, "date_created", None)
        if created is None or created >= since.replace(microsecond=0):
            return m.sid
    return None


def inbound_since(since: datetime) -> tuple[list[dict], list[dict]]:
    """Twilio's log of what reached our numbers since `since`: (messages, calls).

    Messages To SUPPORT_NUMBER and calls To EMERGENCY_NUMBER, as plain dicts
    (sid, from, to, body | status, at). Raises SendError when Twilio cannot be asked.
    """
    try:
        client = _client()
        messages = [
            {"sid": m.sid, "from": m.from_, "to": m.to, "body": m.body or "", "num_media": m.num_media,
             "at": m.date_sent or m.date_created}
            for m in client.messages.list(to=config.support_number(), date_sent_after=since, limit=500)
            if (m.direction or "inbound") == "inbound"]
        calls = [
            {"sid": c.sid, "from": getattr(c, "_from", None),  # the library names it _from on calls
             "to": c.to, "status": c.status, "at": c.start_time or c.date_created}
            for c in client.calls.list(to=config.emergency_number(), start_time_after=since, limit=500)]
    except Exception as exc:  # noqa: BLE001 - cannot read the log now: the next run tries again
        raise _send_error(exc, "reading Twilio's logs", config.support_number()) from exc
    messages = [m for m in messages if m["at"] is None or m["at"] >= since]
    calls = [c for c in calls if c["at"] is None or c["at"] >= since]
    return messages, calls


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
