"""A phone number that texts or calls us, as the rules see it: consent, the customer's current
ticket, and the budgets that keep automatic replies from flooding a number (or a bill).

One acknowledgement per burst of texts (a customer who sends five lines in a minute gets one
"thanks, this is ticket #7"), within the hour's budget of automatic replies; an urgent text is
acknowledged even inside a burst, since what the customer may expect has changed.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain import limits
from chalicelib.domain.limits import Limit
from chalicelib.domain.record import Record

BURST = timedelta(minutes=10)  # one acknowledgement per burst of texts
CONVERSATION = timedelta(hours=1)  # a reply this soon after a person wrote is a conversation, not a new burst


class Contact(Record):
    phone: str
    opted_out: bool = False
    current_ticket: int | None = None
    last_ack_at: datetime | None = None
    last_ack_ticket: int | None = None
    budgets: dict | None = None  # {"auto": [window, count], "sorry": [window, count]} (domain.limits)
    last_survey_at: datetime | None = None
    person_id: str | None = None  # set when the number is a staff member's
    language: str | None = None  # the customer's, once decided (chosen, detected, their country's)
    name: str | None = None  # what the team calls them (PATCH /contacts/{phone}; issue 38)
    timezone: str | None = None  # their zone, when staff know it
    version: int | None = None  # the stored version this value was read at (None: never stored)


def spend(c: Contact, limit: Limit, allowed: int, now: datetime) -> Contact | None:
    """The contact with one of its `limit` spent (the counts live on the contact, so the reply is
    decided in the message's own transaction); None when this window's are gone."""
    budgets = limits.spend(c.budgets, limit, allowed, now)
    return c.replace(budgets=budgets) if budgets is not None else None


def wrote_on(c: Contact, ticket_id: int, now: datetime, *, finished: bool, newly_urgent: bool,
             allowed: int, agent_at: datetime | None = None) -> tuple[Contact, bool]:
    """The customer's text went on `ticket_id` (now their current ticket): whether it gets an
    acknowledgement, and the contact after it. None for a ticket that stays `finished` (a
    thank-you or a late survey answer: nothing to acknowledge), a number that opted out, or a
    customer answering a person who wrote within CONVERSATION (`agent_at`): "thanks, this is
    ticket #7, we'll answer by Monday" in the middle of a conversation is noise, and untrue."""
    c = c.replace(current_ticket=ticket_id)
    recent = c.last_ack_ticket == ticket_id and c.last_ack_at is not None and now - c.last_ack_at < BURST
    talking = agent_at is not None and now - agent_at < CONVERSATION
    if c.opted_out or finished or ((recent or talking) and not newly_urgent):
        return c, False
    spent = spend(c, limits.AUTO_REPLIES, allowed, now)
    if spent is None:
        return c, False
    return spent.replace(last_ack_at=now, last_ack_ticket=ticket_id), True


def surveyed(c: Contact, ticket_id: int, now: datetime) -> Contact:
    """Asked a survey now (at most one per period); with no current ticket, this one is it, so the
    answer finds it."""
    return c.replace(last_survey_at=now, current_ticket=c.current_ticket if c.current_ticket is not None
                     else ticket_id)
