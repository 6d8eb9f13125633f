"""The paging chain as pure rules: who is contacted next, and how.

A page walks a chain fixed when it opens: the phone's holder, the backup,
then every lead (admin) not already in it. At each link the person gets an
SMS, then (if nobody acknowledged within the ack timeout) a screened call,
then the next link. People without a phone are skipped, never silently: the
skip is returned so the caller records it. After the last link the chain
starts again, up to ``max_rounds`` walks in all.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from chalicelib.domain.record import Record
from chalicelib.domain.words import C_, translate_ctx

OPEN, ACKED, EXHAUSTED, CANCELLED = "open", "acked", "exhausted", "cancelled"  # a page's status


class Page(Record):
    """The page of one urgent episode of a ticket: a chain walked step by step.

    Every step is committed conditional on the step it replaces (``key``) and on the page
    still being open, so two sweeps never take one step twice and an ACK is never overwritten.
    """

    id: str  # "t<ticket id>" (then "t<id>-2", ... for later episodes)
    ticket_id: int
    chain: tuple  # ({"person_id", "role"}, ...), fixed when the page opens
    created_at: datetime
    updated_at: datetime
    status: str = OPEN
    step: int = 0  # index into the chain
    attempt: str = "sms"  # sms | call: the contact made at this step
    sent: bool = False  # this step's contact is committed (in the outbox)
    sent_at: datetime | None = None  # ... and went out at (None: not yet)
    failures: int = 0
    reason: str | None = None
    text: str | None = None  # the page SMS, fixed when the page opens (in the business language)
    texts: tuple = ()  # ((language, page SMS), ...): for each language the chain's people read
    due_at: datetime | None = None  # when the next step is due (None: nothing to wait for)
    acked_by: str | None = None
    round: int = 0  # how often the whole chain has been walked
    key: str | None = None  # the current step's key; its outbox item is "page#<id>#<key>"
    noticed: bool = False  # the "nobody acknowledged" notice went to the admins
    customer: str | None = None  # the customer's phone (SMS and voice tickets), for "still trying"
    customer_told: bool = False  # they heard "still trying" (once per page)

    @property
    def is_open(self) -> bool:
        return self.status == OPEN


class Link(Record):
    person_id: str
    role: str  # holder | backup | lead


class Position(Record):
    round: int
    step: int
    attempt: str  # sms | call

    def key(self) -> str:
        return f"{self.round}.{self.step}.{self.attempt}"


class Skip(Record):
    person_id: str
    role: str
    why: str


def chain(holder: str | None, backup: str | None, admins: Sequence[str]) -> list[Link]:
    links: list[Link] = []
    if holder:
        links.append(Link(holder, "holder"))
    if backup and backup != holder:
        links.append(Link(backup, "backup"))
    seen = {link.person_id for link in links}
    for admin in admins:
        if admin not in seen:
            links.append(Link(admin, "lead"))
            seen.add(admin)
    return links


def first(links: Sequence[Link], has_phone: Callable[[str], bool],
          max_rounds: int = 1) -> tuple[Position | None, list[Skip]]:
    """The first contact of a new page (None: nobody can be reached)."""
    return _settle(Position(0, 0, "sms"), links, has_phone, max_rounds)


def after(pos: Position, links: Sequence[Link], has_phone: Callable[[str], bool],
          max_rounds: int = 1) -> tuple[Position | None, list[Skip]]:
    """The contact after `pos` went unacknowledged (or failed): call, then the next link."""
    nxt = Position(pos.round, pos.step, "call") if pos.attempt == "sms" else Position(pos.round, pos.step + 1, "sms")
    return _settle(nxt, links, has_phone, max_rounds)


def _settle(pos: Position, links: Sequence[Link], has_phone: Callable[[str], bool],
            max_rounds: int) -> tuple[Position | None, list[Skip]]:
    skipped: list[Skip] = []
    if not links:
        return None, skipped
    while True:
        if pos.step >= len(links):
            pos = Position(pos.round + 1, 0, "sms")
        if pos.round >= max_rounds:
            return None, skipped
        link = links[pos.step]
        if has_phone(link.person_id):
            return pos, skipped
        if pos.round == 0:
            skipped.append(Skip(link.person_id, link.role, "no phone number"))
        pos = Position(pos.round, pos.step + 1, "sms")


_VOICE_GIST = {"voicemail": C_("staff", "left a voicemail"),
               "call unanswered": C_("staff", "nobody answered the emergency line"),
               "missed call": C_("staff", "missed call, never reached us")}
_VOICE_NOTHING = C_("staff", "emergency line")  # a voice page with no gist of its own


STILL_TRYING_AFTER = timedelta(minutes=15)  # an urgent customer hears once that we keep trying


def in_round(text: str, round_number: int, rounds: int, lang: str | None = None) -> str:
    """A page of a later round says which: "URGENT #12 round 2/6 (sms): ..." (round 1 reads as opened)."""
    if round_number <= 1:
        return text
    said = translate_ctx(lang, "staff", "round {round}/{rounds}", round=round_number, rounds=rounds)
    return text.replace(" (", f" {said} (", 1)


def still_trying(page: Page, now: datetime) -> bool:
    """Whether the customer of an unacknowledged page should now hear, once, that we keep trying."""
    return page.is_open and not page.customer_told and page.customer is not None \
        and now - page.created_at >= STILL_TRYING_AFTER


def page_text(ticket_id: int, channel: str, subject: str | None, tier: int, reason: str | None,
              caller: str | None = None, lang: str | None = None) -> str:
    """The page SMS in the reader's language: what happened, who, the gist, and the commands (GSM-7
    only: one segment when short)."""
    words = (subject or "").split()
    gist = " ".join(words[:10]) + ("..." if len(words) > 10 else "")
    n = ticket_id
    breach = reason == "tier breach"
    if channel == "voice":
        said = gist or translate_ctx(lang, *_VOICE_GIST.get(reason or "", _VOICE_NOTHING))
        who = caller or translate_ctx(lang, "staff", "withheld number")
        if breach:
            return translate_ctx(lang, "staff", "BREACH #{ticket} tier {tier} (call {caller}): {gist}\n"
                                                "ACK {ticket} - RES {ticket} - {ticket} <text> texts the caller",
                                 ticket=n, tier=tier, caller=who, gist=said)
        return translate_ctx(lang, "staff", "URGENT #{ticket} (call {caller}): {gist}\n"
                                            "ACK {ticket} - RES {ticket} - {ticket} <text> texts the caller",
                             ticket=n, caller=who, gist=said)
    if breach:
        return translate_ctx(lang, "staff", "BREACH #{ticket} tier {tier} ({channel}): {gist}\n"
                                            "ACK {ticket} - RES {ticket} - {ticket} <text> answers the customer",
                             ticket=n, tier=tier, channel=channel, gist=gist)
    return translate_ctx(lang, "staff", "URGENT #{ticket} ({channel}): {gist}\n"
                                        "ACK {ticket} - RES {ticket} - {ticket} <text> answers the customer",
                         ticket=n, channel=channel, gist=gist)
