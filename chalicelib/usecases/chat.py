"""Web chat: sessions, messages with a gap-free cursor, and the customer's page.

A session is a webchat ticket. Its token (256 random bits) is shown once and
stored only as a hash; it opens its own session only — another session's id,
like an unknown one, is a 404 (nothing to enumerate). Messages are polled
with a cursor that is the last seen item's sort key: items get strictly
increasing sequence numbers under the ticket's version condition, so a poll
never skips or repeats a message, even when two share a timestamp.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

from chalicelib import expectations, limits, store, validate
from chalicelib.domain import limits as rate
from chalicelib.domain import words
from chalicelib.domain.chat import Session
from chalicelib.domain.tickets import CLOSED
from chalicelib.effects import Effects
from chalicelib.errors import BadRequest, NotFound, TooManyRequests, Unauthorized
from chalicelib.usecases import intake, surveys, tickets

SESSION_TTL = rate.CHAT_SESSION.per  # the per-session limit counts in one window as long
_CURSOR = re.compile(r"\d{1,9}")  # the sequence number of the last message seen: URL-safe


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(body: dict, client_ip: str, now: datetime) -> dict:
    validate.unknown_fields(body, {"name", "contact", "timezone", "language"})
    name = validate.text(body, "name", max_len=80)
    contact = validate.phone(body, "contact", required=False)
    zone = validate.timezone(body, "timezone", required=False)
    lang = validate.text(body, "language", required=False, max_len=35)  # BCP 47: the browser's, or chosen
    lang = words.supported(lang)  # one we do not write: the business language
    if not limits.take(rate.CHAT_STARTS, client_ip, now):
        raise TooManyRequests("too many chats from this address; try again within the hour")
    session_id = "cs_" + secrets.token_urlsafe(12)
    token = secrets.token_urlsafe(32)
    # The first words the customer reads (their expectation, in their zone) are the conversation's first.
    ticket = tickets.open_ticket(channel="webchat", now=now, contact=contact, contact_key=f"chat#{session_id}",
                                 customer_name=name, quiet_until=now + SESSION_TTL, customer_timezone=zone,
                                 language=lang,
                                 told=lambda t: [intake.expectation(t, now)])
    store.create_chat_session(Session(id=session_id, token_hash=_hash(token), ticket_id=ticket.id, name=name,
                                      contact=contact, created_at=now, expires_at=now + SESSION_TTL))
    return {"session_id": session_id, "token": token, "ticket_id": ticket.id,
            "expectation": intake.expectation(ticket, now)}


def open_session(session_id: str, authorization: str | None, now: datetime) -> Session:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <chat token>'", code="missing_credentials")
    session = store.get_chat_session(session_id, now) if len(session_id) < 64 else None
    if session is None or not hmac.compare_digest(session.token_hash, _hash(token.strip())):
        raise NotFound("no such chat session", code="session_not_found")
    return session


def post(session: Session, body: dict, now: datetime) -> dict:
    validate.unknown_fields(body, {"text", "echo_id"})
    text = validate.text(body, "text", max_len=2000)
    validate.text(body, "echo_id", required=False, max_len=64)
    spent = limits.take_together((rate.CHAT_MESSAGES, session.id, now),
                                 (rate.CHAT_SESSION, session.id, session.created_at))
    if spent is rate.CHAT_SESSION:
        raise TooManyRequests("this conversation is as long as a chat may be; please start a new chat")
    if spent is not None:
        raise TooManyRequests("you are sending messages very fast; wait a moment and try again")
    before = store.get_ticket(session.ticket_id)
    closing = None
    if surveys.expects_answer(before, text, now):  # the conversation rules: urgency always wins
        closing = surveys.confirm_automation(before, text, now) or surveys.answer(before, text, now)
    if closing is not None:
        # A survey answer (or YES to an automated answer): on the ticket, not a new conversation; the
        # closing words are the ticket's newest message (stored with the answer).
        after = store.get_ticket(session.ticket_id)
        return {"id": f"msg#{after.seq:09d}", "at": now.isoformat(), "echo_id": body.get("echo_id")}
    first = before is not None and before.subject is None
    fx = Effects()
    ticket, message = tickets.customer_message(session.ticket_id, text, now, channel="webchat", fx=fx)
    fx.dispatch(now)  # the page, committed with the message
    if fx.newly_urgent:
        # The expectation changed: the same words SMS customers get, as a system message in the chat.
        ticket, _ = tickets.reply(ticket.id, intake.expectation(ticket, now, paged=fx.paged_now()),
                                  tickets.SYSTEM, now, automated=True, deliver=False)
    elif first:
        intake.automate(ticket, text, now)
    return {"id": message.id, "at": now.isoformat(), "echo_id": body.get("echo_id")}


def poll(session: Session, after: str | None, now: datetime) -> dict:
    if after is not None and not _CURSOR.fullmatch(after):
        raise BadRequest("after", "must be a cursor returned by this API (digits, like 12)")
    items = store.ticket_items(session.ticket_id, prefix="msg#",
                               after=f"msg#{int(after):09d}" if after is not None else None)
    messages = [{"id": m.id, "author": m.author, "text": m.text, "at": m.at.isoformat(),
                 **({"author_name": m.author_name} if m.author_name else {})} for m in items]
    ticket = store.get_ticket(session.ticket_id)
    return {"messages": messages, "cursor": str(int(items[-1].id.split("#")[1])) if items else after,
            "ticket": {"id": session.ticket_id, "status": ticket.status if ticket else CLOSED,
                       "survey": ticket.survey_state if ticket else None,
                       "expectation": expectations.chat_status(ticket, now)}}
