"""The two-question survey after a resolve, over the customer's own channel.

"Did this answer your question? Reply YES or NO", then after NO "How could we
do better?" (and a NO reopens the ticket for its last owner). Answers go on
the ticket and never open a new one. At most one survey per customer per
SURVEY_PERIOD_DAYS (7); it expires after SURVEY_WINDOW_DAYS (3); none for
tickets staff opened or numbers that opted out.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

from chalicelib import notify, store, tickets
from chalicelib.logs import logger
from chalicelib.store import Ticket

Q1 = "Did this answer your question? Reply YES or NO"
Q2 = "Sorry to hear that. How could we do better? (we have reopened your ticket)"
THANKS = "Thank you for your answer!"
THANKS_COMMENT = "Thank you - we'll use this to do better."
_YES = {"YES", "Y", "YEP", "YEAH", "JA", "OUI", "SI", "👍"}
_NO = {"NO", "N", "NOPE", "NEIN", "NON", "👎"}


def window() -> timedelta:
    return timedelta(days=float(os.environ.get("SURVEY_WINDOW_DAYS", "3")))


def period() -> timedelta:
    return timedelta(days=float(os.environ.get("SURVEY_PERIOD_DAYS", "7")))


def yes_no(text: str) -> str | None:
    word = re.sub(r"[^\w👍👎]", "", (text or "").strip().upper())
    return "yes" if word in _YES else "no" if word in _NO else None


def on_resolved(ticket: Ticket, now: datetime) -> None:
    """Asks question one over the ticket's channel, if the rules allow."""
    if ticket.opened_by != "customer" or ticket.survey_state in ("asked1", "asked2"):
        return
    phone = ticket.customer_contact if ticket.channel in ("sms", "voice") else None
    if ticket.channel in ("sms", "voice"):
        if not phone:
            return
        contact = store.get_contact(phone)
        if contact.opted_out or (contact.last_survey_at and now - contact.last_survey_at < period()):
            return
    tickets.set_survey(ticket.id, now, state="asked1", expires_at=now + window(), event=("survey_sent", {}))
    if phone:
        try:
            notify.send_sms(phone, Q1, now=now)
        except notify.SendError:
            logger.warning("survey not sent", extra={"ticket": ticket.id})
        for _ in range(3):
            contact = store.get_contact(phone)
            contact.last_survey_at = now
            if contact.current_ticket is None:
                contact.current_ticket = ticket.id
            try:
                store.save_contact(contact)
                break
            except store.ConditionFailed:
                continue


def answer(ticket: Ticket | None, text: str, now: datetime) -> str | None:
    """A customer's message as a survey answer: the reply to send, or None if it is not one."""
    if ticket is None or ticket.survey_state not in ("asked1", "asked2"):
        return None
    if ticket.survey_expires_at is None or ticket.survey_expires_at <= now:
        return None
    if ticket.survey_state == "asked1":
        verdict = yes_no(text)
        if verdict == "yes":
            tickets.set_survey(ticket.id, now, state="done", answer="yes", event=("survey_answered", {"answer": "yes"}))
            return THANKS
        if verdict == "no":
            tickets.set_survey(ticket.id, now, state="asked2", answer="no", reopen=True,
                               event=("survey_answered", {"answer": "no"}))
            return Q2
        return None
    tickets.set_survey(ticket.id, now, state="done", comment=text[:1000], event=("survey_comment", {}))
    return THANKS_COMMENT


def confirm_automation(ticket: Ticket | None, text: str, now: datetime) -> str | None:
    """YES after an automated answer resolves the ticket (and counts as a satisfied answer)."""
    if ticket is None or not ticket.awaiting_confirmation or ticket.status != "open" or yes_no(text) != "yes":
        return None
    tickets.confirm_automated(ticket.id, now)
    return f"Great - glad that solved it! Ticket #{ticket.id} is resolved; just write again if you need us."
