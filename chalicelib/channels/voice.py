"""The emergency phone line: every call reaches a person or a voicemail.

A call opens (or, per CallSid, rejoins) an urgent voice ticket, then:
  greet → <Dial> holder (screened: "press 1 to accept", so a voicemail
  answering the holder's phone is not a connection, goalert#921) → backup →
  <Record> voicemail with an explicit action, a maximum length and a
  transcription callback → the voicemail goes on the ticket and pages.
Nobody on call: straight to voicemail. Never a dead end, never a loop.
Webhook URLs carry state in the path (API Gateway drops query strings).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import config, expectations, phones, store
from chalicelib.channels import twilio_hooks
from chalicelib.domain import words
from chalicelib.domain.words import C_, translate_ctx
from chalicelib.usecases import calls, intake

# What Twilio's <Say> speaks each of our languages with (its text-to-speech language codes).
SPEECH = {"en": "en-US", "de": "de-DE", "fr": "fr-FR", "ro": "ro-RO"}

DIAL_TIMEOUT = 20  # seconds of ringing per person
SCREEN_TIMEOUT = 8  # seconds the callee has to press 1
VOICEMAIL_SECONDS = 120


def _url(path: str) -> str:
    return config.public_base_url() + path


def _vr():
    from twilio.twiml.voice_response import VoiceResponse

    return VoiceResponse()


# --- the webhooks: each once per provider id (a retried delivery gets the first answer) -----


def call_webhook(params: dict, now: datetime) -> str:
    sid = twilio_hooks.require(params, "CallSid")
    return twilio_hooks.once(f"call#{sid}", now, lambda: incoming(params, now), fallback=twilio_hooks.sorry_call())


def accept_webhook(ticket_id: int, step: int, params: dict, now: datetime) -> str:
    sid = twilio_hooks.require(params, "CallSid")
    return twilio_hooks.once(f"accept#{sid}#{step}", now, lambda: accept(ticket_id, step, params, now))


def dialed_webhook(ticket_id: int, step: int, params: dict, now: datetime) -> str:
    sid = twilio_hooks.require(params, "CallSid")
    return twilio_hooks.once(f"dialed#{sid}#{step}", now, lambda: dialed(ticket_id, step, params, now))


def recorded_webhook(ticket_id: int, params: dict, now: datetime) -> str:
    key = params.get("RecordingSid") or twilio_hooks.require(params, "CallSid")
    return twilio_hooks.once(f"recording#{key}", now, lambda: recorded(ticket_id, params, now))


def transcript_webhook(ticket_id: int, params: dict, now: datetime) -> str:
    key = params.get("TranscriptionSid") or twilio_hooks.require(params, "RecordingSid")

    def work() -> str:
        transcript(ticket_id, params, now)
        return twilio_hooks.EMPTY_TWIML

    return twilio_hooks.once(f"transcript#{key}", now, work)


# --- the call ---------------------------------------------------------------------------


def incoming(params: dict, now: datetime) -> str:
    """A call to EMERGENCY_NUMBER: open (or join) the urgent voice ticket, start ringing."""
    ticket = intake.call(phones.normalize(params.get("From", "")), params.get("CallSid"), now)
    response = _vr()
    _say(response, expectations.language(ticket),
         C_("voice", "You have reached the emergency line. We are connecting you to the person on call."))
    return _ring(response, ticket.id, 0, now)


def _say(response, lang: str, said: tuple[str, str], **values) -> None:
    """Words to the caller (C_("voice", …)) in their language (issue 24: the ticket's), or to staff
    (C_("staff voice", …)) in theirs, spoken as it."""
    response.say(translate_ctx(lang, *said, **values), language=SPEECH.get(lang, "en-US"))


def _caller_language(ticket_id: int) -> str:
    return expectations.language(store.get_ticket(ticket_id))


def _ring(response, ticket_id: int, step: int, now: datetime, *, unanswered: dict | None = None) -> str:
    """Dials the next person of the chain; with nobody left, the voicemail (the ticket paged)."""
    found = calls.next_to_ring(step, now)
    if found is None:
        calls.nobody_answered(ticket_id, now, unanswered)
        return _voicemail(response, ticket_id)
    step, phone = found
    dial = response.dial(timeout=DIAL_TIMEOUT, action=_url(f"/twilio/voice/dialed/{ticket_id}/{step}"),
                         method="POST", caller_id=config.emergency_number() or None)
    dial.number(phone, url=_url(f"/twilio/voice/screen/{ticket_id}/{step}"), method="POST")
    calls.unanswered(ticket_id, now, unanswered)
    return str(response)


def _voicemail(response, ticket_id: int) -> str:
    lang = _caller_language(ticket_id)
    _say(response, lang, C_("voice", "Nobody could take your call right now. Please leave a message after the "
                                     "tone; the on-call team is paged at once."))
    response.record(action=_url(f"/twilio/voice/recorded/{ticket_id}"), method="POST",
                    max_length=VOICEMAIL_SECONDS, play_beep=True, timeout=5,
                    transcribe=True, transcribe_callback=_url(f"/twilio/voice/transcript/{ticket_id}"))
    # Reached only when nothing was recorded (a recording goes to the action's answer instead): true
    # either way, so the caller never hears two stories (issue 34).
    _say(response, lang, C_("voice", "The on-call team has been paged. Goodbye."))
    response.hangup()
    return str(response)


def screen(ticket_id: int, step: int, params: dict | None = None) -> str:
    """Played to the person we rang, before connecting: press 1 to accept (in their language)."""
    response = _vr()
    lang = _staff_language(params or {})
    gather = response.gather(num_digits=1, timeout=SCREEN_TIMEOUT, method="POST",
                             action=_url(f"/twilio/voice/accept/{ticket_id}/{step}"))
    _say(gather, lang, C_("staff voice", "Friday Night emergency line, ticket {ticket}. Press 1 to take the call."),
         ticket=ticket_id)
    response.hangup()  # no key pressed: a voicemail or a pocket; not a connection
    return str(response)


def _staff_language(params: dict) -> str:
    """The language of the staff member a call rings (the number called), else the business's."""
    person = store.person_by_phone(_callee(params)) if _callee(params) else None
    return words.supported(person.language if person is not None else None) or words.business()


def _callee(params: dict) -> str | None:
    return phones.normalize(params.get("To") or params.get("Called") or "")


def accept(ticket_id: int, step: int, params: dict, now: datetime) -> str:
    response = _vr()
    if params.get("Digits") != "1":
        response.hangup()
        return str(response)
    calls.accepted(ticket_id, step, _callee(params), now)  # one transaction
    _say(response, _staff_language(params), C_("staff voice", "Connecting you now."))
    return str(response)  # ending the screening TwiML bridges the two calls


def dialed(ticket_id: int, step: int, params: dict, now: datetime) -> str:
    """The <Dial> ended: answered and accepted → done; otherwise the next person."""
    response = _vr()
    if calls.was_accepted(ticket_id, step) and params.get("DialCallStatus") == "completed":
        calls.completed(ticket_id, step, twilio_hooks.number(params, "DialCallDuration"), now)
        response.hangup()
        return str(response)
    return _ring(response, ticket_id, step + 1, now,
                 unanswered={"step": step, "status": params.get("DialCallStatus") or "unknown"})


def recorded(ticket_id: int, params: dict, now: datetime) -> str:
    """The voicemail: on the ticket, and the chain is paged."""
    calls.voicemail(ticket_id, params.get("RecordingUrl"), params.get("RecordingSid"),
                    twilio_hooks.number(params, "RecordingDuration"), now)
    response = _vr()
    _say(response, _caller_language(ticket_id),
         C_("voice", "Thank you. We have your message and the on-call team has been paged. Goodbye."))
    response.hangup()
    return str(response)


def transcript(ticket_id: int, params: dict, now: datetime) -> None:
    text = (params.get("TranscriptionText") or "").strip()
    done = params.get("TranscriptionStatus", "completed") == "completed"
    calls.transcript(ticket_id, text if text and done else None, now)


def page_call(ticket_id: int, params: dict | None = None) -> str:
    """TwiML for the paging call to a staff phone (second attempt after the SMS), in their language."""
    response = _vr()
    lang = _staff_language(params or {})
    gather = response.gather(num_digits=1, timeout=10, method="POST",
                             action=_url(f"/twilio/voice/page/{ticket_id}/ack"))
    _say(gather, lang, C_("staff voice", "Friday Night page. Urgent ticket {ticket}: {gist}. Press 1 to accept it."),
         ticket=ticket_id, gist=calls.gist(ticket_id))
    _say(response, lang, C_("staff voice", "Not acknowledged. We will try the next person. Goodbye."))
    response.hangup()
    return str(response)


def page_call_ack(ticket_id: int, params: dict, now: datetime) -> str:
    response = _vr()
    lang = _staff_language(params)
    # Same screening as the emergency line: only a human pressing 1 on a staff phone counts.
    if params.get("Digits") == "1" and calls.page_answered(ticket_id, _callee(params), now):
        _say(response, lang, C_("staff voice", "Acknowledged. Ticket {ticket} is yours. Reply to the page by text "
                                               "to answer the customer."), ticket=ticket_id)
    else:
        _say(response, lang, C_("staff voice", "Not acknowledged. Goodbye."))
    response.hangup()
    return str(response)
