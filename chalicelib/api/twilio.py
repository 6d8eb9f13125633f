"""Twilio's webhooks: SMS, calls and their callbacks (signed, form-encoded, TwiML out)."""
from __future__ import annotations

import re

from chalice import Blueprint, Response

from chalicelib import clock, lazy
from chalicelib.api.edge import _STORED_LATER, FORM, ticket_number
from chalicelib.errors import ApiError, BadRequest
from chalicelib.logs import logger

sms = lazy.module("chalicelib.channels.sms")
status = lazy.module("chalicelib.usecases.delivery")
twilio_hooks = lazy.module("chalicelib.channels.twilio_hooks")
voice = lazy.module("chalicelib.channels.voice")

bp = Blueprint(__name__)


def twilio_params(path: str) -> dict:
    request = bp.current_request
    return twilio_hooks.verified_params(path, request.raw_body, request.headers.get("x-twilio-signature"))


def twiml(xml: str) -> Response:
    return Response(xml, headers={"Content-Type": "text/xml"})


@bp.route("/twilio/sms", methods=["POST"], content_types=FORM)
def twilio_sms():
    params = twilio_params("/twilio/sms")
    return twiml(sms.webhook(params, twilio_hooks.require(params, "MessageSid"), clock.now()))


@bp.route("/twilio/sms/fallback", methods=["POST"], content_types=FORM)
def twilio_sms_fallback():
    """Twilio's SmsFallbackUrl: the main webhook failed. Try once more (it is idempotent per
    MessageSid); if that fails too, the text is in Twilio's log and the reconcile sweep stores it."""
    params = twilio_params("/twilio/sms/fallback")
    try:
        return twiml(sms.webhook(params, twilio_hooks.require(params, "MessageSid"), clock.now()))
    except ApiError as err:
        if err.status < 409:
            raise
        logger.warning("sms fallback could not finish: the reconcile sweep will store the message")
        return twiml(twilio_hooks.messages_twiml([_STORED_LATER]))
    except Exception:  # noqa: BLE001 - the customer still gets the truth
        logger.exception("sms fallback failed too: the reconcile sweep will store the message")
        return twiml(twilio_hooks.messages_twiml([_STORED_LATER]))


@bp.route("/twilio/voice/fallback", methods=["POST"], content_types=FORM)
def twilio_voice_fallback():
    """Twilio's VoiceFallbackUrl: the main webhook failed; try once more, else an apology (the
    missed call is in Twilio's log: the reconcile sweep opens its ticket and pages)."""
    params = twilio_params("/twilio/voice/fallback")
    now = clock.now()
    try:
        return twiml(voice.call_webhook(params, now))
    except ApiError:
        raise
    except Exception:  # noqa: BLE001
        logger.exception("voice fallback failed too: the reconcile sweep will page for the missed call")
        return twiml(twilio_hooks.sorry_call())


@bp.route("/twilio/sms/status", methods=["POST"], content_types=FORM)
def twilio_sms_status():
    params = twilio_params("/twilio/sms/status")
    status.message_status(twilio_hooks.require(params, "MessageSid"),
                          twilio_hooks.require(params, "MessageStatus"), clock.now())
    return twiml(twilio_hooks.EMPTY_TWIML)


@bp.route("/twilio/voice", methods=["POST"], content_types=FORM)
def twilio_voice():
    return twiml(voice.call_webhook(twilio_params("/twilio/voice"), clock.now()))


@bp.route("/twilio/voice/status", methods=["POST"], content_types=FORM)
def twilio_voice_status():
    params = twilio_params("/twilio/voice/status")
    status.call_status(twilio_hooks.require(params, "CallSid"), twilio_hooks.require(params, "CallStatus"),
                       clock.now())
    return twiml(twilio_hooks.EMPTY_TWIML)


@bp.route("/twilio/voice/screen/{ticket_id}/{step}", methods=["POST"], content_types=FORM)
def twilio_voice_screen(ticket_id, step):
    params = twilio_params(f"/twilio/voice/screen/{ticket_id}/{step}")
    return twiml(voice.screen(ticket_number(ticket_id), step_number(step), params))


@bp.route("/twilio/voice/accept/{ticket_id}/{step}", methods=["POST"], content_types=FORM)
def twilio_voice_accept(ticket_id, step):
    params = twilio_params(f"/twilio/voice/accept/{ticket_id}/{step}")
    return twiml(voice.accept_webhook(ticket_number(ticket_id), step_number(step), params, clock.now()))


@bp.route("/twilio/voice/dialed/{ticket_id}/{step}", methods=["POST"], content_types=FORM)
def twilio_voice_dialed(ticket_id, step):
    params = twilio_params(f"/twilio/voice/dialed/{ticket_id}/{step}")
    return twiml(voice.dialed_webhook(ticket_number(ticket_id), step_number(step), params, clock.now()))


@bp.route("/twilio/voice/recorded/{ticket_id}", methods=["POST"], content_types=FORM)
def twilio_voice_recorded(ticket_id):
    params = twilio_params(f"/twilio/voice/recorded/{ticket_id}")
    return twiml(voice.recorded_webhook(ticket_number(ticket_id), params, clock.now()))


@bp.route("/twilio/voice/transcript/{ticket_id}", methods=["POST"], content_types=FORM)
def twilio_voice_transcript(ticket_id):
    params = twilio_params(f"/twilio/voice/transcript/{ticket_id}")
    return twiml(voice.transcript_webhook(ticket_number(ticket_id), params, clock.now()))


@bp.route("/twilio/voice/page/{ticket_id}", methods=["POST"], content_types=FORM)
def twilio_voice_page(ticket_id):
    params = twilio_params(f"/twilio/voice/page/{ticket_id}")
    return twiml(voice.page_call(ticket_number(ticket_id), params))


@bp.route("/twilio/voice/page/{ticket_id}/ack", methods=["POST"], content_types=FORM)
def twilio_voice_page_ack(ticket_id):
    params = twilio_params(f"/twilio/voice/page/{ticket_id}/ack")
    return twiml(voice.page_call_ack(ticket_number(ticket_id), params, clock.now()))


def step_number(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", raw):
        raise BadRequest("step", "must be a small number")
    return int(raw)
