"""The two-question survey after a resolve, over the customer's own channel.

"Did this answer your question? Reply YES or NO", then after NO "How could we
do better?" (and a NO reopens the ticket for its last owner). Answers go on
the ticket and never open a new one. At most one survey per customer per
SURVEY_PERIOD_DAYS (7); it expires after SURVEY_WINDOW_DAYS (3); none for
tickets staff opened or numbers that opted out.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import expectations
from chalicelib.domain import conversation
from chalicelib.domain import tickets as rules
from chalicelib.domain.surveys import period, q1, q2, should_ask, split_answer, thanks, thanks_comment, window, yes_no  # noqa: F401 - the rules, re-exported for callers
from chalicelib.domain.tickets import Ticket
from chalicelib.usecases import tickets


def expects_answer(ticket: Ticket | None, text: str, now: datetime) -> bool:
    """Whether `text` answers the ticket's survey or its automated answer (no writes).

    The conversation rules decide (domain.conversation.route): urgency always wins, an URGENT
    text is a message, never a survey comment."""
    kind = conversation.route(tickets.thread(ticket), text, now, urgent=expectations.is_urgent(text)).kind
    return kind in (conversation.SURVEY, conversation.CONFIRM)


def answer(ticket: Ticket | None, text: str, now: datetime, *, say: bool = True) -> str | None:
    """A customer's message as a survey answer: the reply to send (stored on the ticket as the
    system's message when `say`), or None if it is not one."""
    if ticket is None or ticket.survey_state not in ("asked1", "asked2"):
        return None
    if ticket.survey_expires_at is None or ticket.survey_expires_at <= now:
        return None
    if ticket.survey_state == "asked1":
        verdict, comment = split_answer(text)  # "NEIN die Seite ist schon wieder weiss": both at once
        if verdict is None:
            return None
        return tickets.survey_answer(ticket.id, now, yes=verdict == "yes", comment=comment or None,
                                     say=say)[1]  # a NO reopens it
    return tickets.survey_comment(ticket.id, now, text, say=say)[1]


def confirm_automation(ticket: Ticket | None, text: str, now: datetime, *, say: bool = True) -> str | None:
    """YES after an automated answer resolves the ticket (and counts as a satisfied answer)."""
    if ticket is None or not ticket.awaiting_confirmation or ticket.status != rules.OPEN or yes_no(text) != "yes":
        return None
    return tickets.confirm_automated(ticket.id, now, say=say)[1]
