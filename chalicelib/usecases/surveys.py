"""The two-question survey after a resolve, over the customer's own channel.

"Did this answer your question? Reply YES or NO", then after NO "How could we
do better?" (and a NO reopens the ticket for its last owner). Answers go on
the ticket and never open a new one. At most one survey per customer per
SURVEY_PERIOD_DAYS (7); it expires after SURVEY_WINDOW_DAYS (3); none for
tickets staff opened or numbers that opted out.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import NamedTuple

from chalicelib import expectations, store
from chalicelib.domain import conversation, texts
from chalicelib.domain import surveys as survey_rules
from chalicelib.domain import tickets as rules
from chalicelib.domain.actors import CUSTOMER
from chalicelib.domain.surveys import period, q1, q2, should_ask, split_answer, thanks, thanks_comment, window, yes_no  # noqa: F401 - the rules, re-exported for callers
from chalicelib.domain.tickets import Change, Ticket
from chalicelib.effects import Effects
from chalicelib.usecases import tickets, tiers
from chalicelib.usecases.tickets import _forward, _tell_owner, first_message, mutate


def expects_answer(ticket: Ticket | None, text: str, now: datetime) -> bool:
    """Whether `text` answers the ticket's survey or its automated answer (no writes).

    The conversation rules decide (domain.conversation.route): urgency always wins, an URGENT
    text is a message, never a survey comment."""
    kind = conversation.route(tickets.thread(ticket), text, now, urgent=expectations.is_urgent(text)).kind
    return kind in (conversation.SURVEY, conversation.CONFIRM)


class Claim(NamedTuple):
    """The webhook's delivery (its claim key) and how its answer is rendered (TwiML): both written in
    the answer's own transaction, so a delivery that dies after the commit is replayed the answer it
    stored, never re-read as a new message (issue 34's fault story)."""

    key: str
    render: Callable[[str], str]


def _claimed(claim: Claim | None, said: list[str]) -> dict:
    """The delivery's answer as a write of the change's own transaction (the claim itself was taken
    when the delivery began)."""
    return {"extra": lambda t: [store.claim_result_write(claim.key, claim.render(said[0]))]} if claim else {}


def answer(ticket: Ticket | None, text: str, now: datetime, *, say: bool = True,
           claim: Claim | None = None) -> str | None:
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
        return survey_answer(ticket.id, now, yes=verdict == "yes", comment=comment or None,
                             say=say, claim=claim)[1]  # a NO reopens it
    return survey_comment(ticket.id, now, text, say=say, claim=claim)[1]


def confirm_automation(ticket: Ticket | None, text: str, now: datetime, *, say: bool = True,
                       claim: Claim | None = None) -> str | None:
    """YES after an automated answer resolves the ticket (and counts as a satisfied answer)."""
    if ticket is None or not ticket.awaiting_confirmation or ticket.status != rules.OPEN or yes_no(text) != "yes":
        return None
    return confirm_automated(ticket.id, now, say=say, claim=claim)[1]


# --- the survey's transitions, committed with what they cause ----------------------------------------


def confirm_automated(ticket_id: int, now: datetime, *, say: bool = True,
                      claim: Claim | None = None) -> tuple[Ticket, str]:
    """The customer said YES to an automated answer: resolved by the automation. The customer's
    closing text (`say`: they can be texted) is stored with it, as the system's message."""
    said = [""]

    def decide(t: Ticket) -> Change:
        said[0] = text = texts.automation_confirmed(ticket_id, expectations.language(t))
        change = rules.resolve(t, CUSTOMER, now, automation=t.awaiting_confirmation)
        return change.then(rules.told(change.ticket, text, now)) if say and change.items else change

    return mutate(ticket_id, now, decide, **_claimed(claim, said))[0], said[0]


def survey_answer(ticket_id: int, now: datetime, *, yes: bool, comment: str | None = None,
                  say: bool = True, claim: Claim | None = None) -> tuple[Ticket, str]:
    """The survey's YES or NO. A NO reopens the ticket for its last owner, who hears it (now at work,
    else in the morning digest): never a silent reopen. What the customer is answered (thanks, or
    the second question) is stored with it. A `comment` written with the answer ("NEIN die Seite ist
    schon wieder weiss") is the survey's comment and a customer message, forwarded like any other:
    the second question is not asked, the customer hears the sorry (or thanks) at once."""
    tier_rules = tiers.rules()
    fx = Effects()
    said = [""]

    def decide(t: Ticket) -> Change:
        lang = expectations.language(t)
        if comment:
            text = survey_rules.thanks(lang) if yes else survey_rules.sorry_comment(lang)
        else:
            text = survey_rules.thanks(lang) if yes else survey_rules.q2(lang)
        said[0] = text
        change = rules.survey_answered(t, now, tier_rules, yes=yes)
        if comment:
            change = change.then(rules.survey_commented(change.ticket, now, comment))
        if change.has(rules.REOPENED):
            change = change.then(_tell_owner(change.ticket, CUSTOMER, now, fx, new=True))
        if comment:
            change = change.then(_forward(change.ticket, first_message(change), comment, now, fx))
        return change.then(rules.told(change.ticket, text, now)) if say else change

    ticket, _ = mutate(ticket_id, now, decide, fx=fx, **_claimed(claim, said))
    fx.dispatch(now)
    return ticket, said[0]


def survey_comment(ticket_id: int, now: datetime, comment: str, *, say: bool = True,
                   claim: Claim | None = None) -> tuple[Ticket, str]:
    """How we could do better: a customer message, forwarded like any other to whoever works it;
    the thank-you is stored with it."""
    fx = Effects()
    said = [""]

    def decide(t: Ticket) -> Change:
        said[0] = text = survey_rules.thanks_comment(expectations.language(t))
        change = rules.survey_commented(t, now, comment)
        change = change.then(_forward(change.ticket, first_message(change), comment, now, fx))
        return change.then(rules.told(change.ticket, text, now)) if say else change

    ticket, _ = mutate(ticket_id, now, decide, fx=fx, **_claimed(claim, said))
    fx.dispatch(now)
    return ticket, said[0]
