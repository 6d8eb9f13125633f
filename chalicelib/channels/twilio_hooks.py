"""Twilio webhooks: signature first, then exactly-once per provider id.

Signatures are checked with twilio's RequestValidator against
PUBLIC_BASE_URL + path (API Gateway does not pass the raw URL through), over
the form parameters parsed with blank values kept (dropping them breaks the
signature). Nothing is stored before the check passes.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from chalicelib import config, store
from chalicelib.errors import BadRequest, Forbidden
from chalicelib.logs import logger

FORM = ["application/x-www-form-urlencoded"]
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
STALE = timedelta(seconds=60)  # longer than any Lambda run: a claim this old without an answer is orphaned


def verified_params(path: str, raw_body: bytes | None, signature: str | None) -> dict:
    try:
        params = dict(parse_qsl((raw_body or b"").decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Forbidden("the webhook body is not valid form data", code="invalid_signature") from None
    token = config.twilio_auth_token()
    if not token or not signature:
        raise Forbidden("missing X-Twilio-Signature", code="invalid_signature")
    from twilio.request_validator import RequestValidator

    url = config.public_base_url() + path
    if not RequestValidator(token).validate(url, params, signature):
        logger.warning("webhook signature does not match", extra={"validated_url": url})
        raise Forbidden(f"the X-Twilio-Signature does not match (checked against {url})",
                        code="invalid_signature")
    _identity(path, params)
    return params


_SIDS = {"MessageSid": "SM|MM", "SmsSid": "SM|MM", "CallSid": "CA", "RecordingSid": "RE", "TranscriptionSid": "TR"}


def _identity(path: str, params: dict) -> None:
    """The signature runs keys and values together: a replay with a shifted boundary
    (MessageSid+"T", To→o) still validates. So the account, our number and the ids' shapes are
    checked too (API.md v1.1); nothing is stored before they pass."""
    account = config.twilio_account_sid()
    if account and params.get("AccountSid") != account:
        raise Forbidden("the webhook is not from this Twilio account", code="wrong_account")
    ours = config.our_numbers()
    inbound = path in ("/twilio/sms", "/twilio/voice", "/twilio/sms/fallback", "/twilio/voice/fallback")
    if ours and (params.get("To") not in ours if inbound else not ({params.get("To"), params.get("From")} & ours)):
        raise Forbidden("the webhook is not for one of our numbers", code="wrong_number")
    for name, prefix in _SIDS.items():
        value = params.get(name)
        if value is not None and not re.fullmatch(rf"(?:{prefix})[0-9a-fA-F]{{32}}", value):
            raise BadRequest(name, "is not a Twilio id")


# --- typed parameters: a malformed field never becomes a 500 ------------------------

_NUMBER = r"[0-9]{1,9}"  # patterns compiled on first use (re's cache): cold start
_DIGITS = r"[0-9*#]{0,32}"


def number(params: dict, name: str, *, default: int = 0, maximum: int = 10**6) -> int:
    """A count or a duration Twilio sends (NumMedia, RecordingDuration, DialCallDuration). A
    malformed one is logged and taken as `default`: the caller still gets their TwiML."""
    raw = (params.get(name) or "").strip()
    if not raw:
        return default
    if not re.fullmatch(_NUMBER, raw):
        logger.warning("malformed webhook number", extra={"field": name})
        return default
    return min(int(raw), maximum)


def digits(params: dict, name: str = "Digits") -> str | None:
    """Key presses (0-9, *, #); anything else is no key press."""
    raw = params.get(name) or ""
    return raw if raw and re.fullmatch(_DIGITS, raw) else None


def choice(params: dict, name: str, allowed: set[str]) -> str | None:
    """A status or an enum of Twilio's; an unknown value is None (logged)."""
    raw = (params.get(name) or "").strip().lower()
    if raw and raw not in allowed:
        logger.warning("unknown webhook value", extra={"field": name})
        return None
    return raw or None


def require(params: dict, name: str) -> str:
    value = params.get(name)
    if not value:
        raise BadRequest(name, "is required in the webhook form")
    return value


def once(key: str, now: datetime, work: Callable[[], str], fallback: str | None = None) -> str:
    """Runs `work` once per key; a retried delivery gets the first answer back.

    When the work fails the claim is given back, so a retry can redo it, and
    the caller hears `fallback` (a phone user never gets an error page).
    """
    if not store.claim(key, now):
        state = store.claim_state(key)
        if state is None or state.result:
            return state.result if state else EMPTY_TWIML
        if state.created_at is None or now - state.created_at < STALE or not store.take_over(state, now):
            return EMPTY_TWIML  # the first delivery is still at work
        # The first delivery died half-way (Lambda timeout or crash): redo. Message writes
        # are exactly-once by provider id, so redoing can only complete what was missing.
        logger.warning("webhook taken over from a delivery that died", extra={"key": key.split("#")[0]})
    try:
        result = work()
    except Exception:
        store.release(key)
        if fallback is None:
            raise
        logger.exception("webhook failed; answered with the fallback", extra={"key": key.split("#")[0]})
        return fallback
    store.set_claim_result(key, result)
    return result


def sorry_sms() -> str:
    return messages_twiml(["Sorry, something went wrong on our side. Please send your message again in a minute."])


def sorry_call() -> str:
    from twilio.twiml.voice_response import VoiceResponse

    response = VoiceResponse()
    response.say("Sorry, something went wrong on our side. Please call again in a minute.")
    response.hangup()
    return str(response)


def messages_twiml(texts: list[str]) -> str:
    from twilio.twiml.messaging_response import MessagingResponse

    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return str(response)
