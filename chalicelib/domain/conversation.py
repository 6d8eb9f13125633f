"""Which conversation a message belongs to, and what it means there (pure rules).

One conversation per customer, whatever the channel: given the customer's
current thread (their open ticket, or the last one with its survey) and a
message, `route` decides one of

  NEW      open a ticket (nothing open, nothing recent);
  APPEND   a message on the open ticket;
  SURVEY   an answer to the survey asked on that ticket (never opens one);
  CONFIRM  YES to an automated answer (resolves it);
  KEEP     a short acknowledgement after a resolve, or a late survey answer:
           stored on that ticket, which stays resolved (not a repeat contact);
  REOPEN   anything else soon after a resolve: the customer had to come back.

An urgent message is never a survey answer and never kept quietly: it pages.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from chalicelib.domain.record import Record
from chalicelib.domain.surveys import split_answer, yes_no
from chalicelib.domain.words import translate_ctx, when

NEW, APPEND, SURVEY, CONFIRM, KEEP, REOPEN = "new", "append", "survey", "confirm", "keep", "reopen"
REOPEN_WINDOW = timedelta(days=7)  # a customer back within this counts as a repeat contact

_THANKS = (r"^(ok(ay)?[,!. ]*)?(many |great,? |super,? )?(thanks?( (you|so much|a lot|a million))?|thank you|"
           r"thx|ty|cheers|danke( schön| sehr)?|merci( beaucoup)?|gracias|mul[tțţ]umesc|perfect|great|"
           r"awesome|ok(ay)?|👍|🙏|❤️)[ !.,:)🙂😊👍🙏]*$")  # compiled on first use (re's cache): cold start


class Thread(Record):
    """The customer's current ticket, as the conversation rules see it."""

    id: int
    status: str  # open | pending | resolved | closed
    resolved_at: datetime | None = None
    survey_step: str | None = None  # asked1 | asked2 | done | None
    survey_expires_at: datetime | None = None
    awaiting_confirmation: bool = False


class Route(Record):
    kind: str
    ticket_id: int | None = None

    @property
    def joins(self) -> bool:
        """The message goes on an existing ticket (as a message, not a survey answer)."""
        return self.kind in (APPEND, KEEP, REOPEN)


def is_thanks(text: str | None) -> bool:
    """A short thank-you or OK after a resolve: stored on the ticket, but not a customer who had to come back."""
    t = " ".join((text or "").split())
    return bool(t) and len(t) <= 60 and "?" not in t and bool(re.match(_THANKS, t, re.IGNORECASE))


def survey_open(thread: Thread, now: datetime) -> bool:
    return thread.survey_step in ("asked1", "asked2") and thread.survey_expires_at is not None \
        and thread.survey_expires_at > now


def route(thread: Thread | None, text: str, now: datetime, *, urgent: bool) -> Route:
    """Where a customer's message goes (see the module's doc)."""
    if thread is None:
        return Route(NEW)
    if not urgent:
        if thread.awaiting_confirmation and thread.status == "open" and yes_no(text) == "yes":
            return Route(CONFIRM, thread.id)
        if survey_open(thread, now) and (thread.survey_step == "asked2" or split_answer(text)[0] is not None):
            return Route(SURVEY, thread.id)
    if thread.status in ("open", "pending"):
        return Route(APPEND, thread.id)
    recent = thread.resolved_at is not None and now - thread.resolved_at <= REOPEN_WINDOW
    if not urgent and (is_thanks(text) or (thread.survey_step is not None and yes_no(text) is not None)):
        # "thanks", or a YES that came after its survey expired: kept, nothing reopened or opened
        if recent or thread.survey_step is not None:
            return Route(KEEP, thread.id)
    return Route(REOPEN, thread.id) if recent else Route(NEW)


def forward_line(ticket_id: int, who: str | None, text: str) -> str:
    """What the working person's phone shows: '#42 Mike: ...' (kept to two SMS segments)."""
    line = f"#{ticket_id} {who or 'Customer'}: {' '.join(text.split())}"
    return line if len(line) <= 300 else line[:297] + "..."


def digest_text(entries: list[tuple[int, int, datetime | None]], now: datetime, zone,
                lang: str | None = None) -> str:
    """The morning digest of tickets that became someone's overnight, in their language and zone
    (GSM-7, at most two segments): '3 tickets are yours: #12 tier 2, due 14:00 CET; #15 tier 1, due
    Tue 10:00 CET; #16 tier 2'."""
    today = now.astimezone(zone).date()
    parts = []
    for ticket_id, tier, due in sorted(entries, key=lambda e: (e[2] is None, e[2] or now, e[0])):
        if due is None:
            parts.append(translate_ctx(lang, "staff", "#{ticket} tier {tier}", ticket=ticket_id, tier=tier))
            continue
        local = due.astimezone(zone)
        at = (local.strftime("%H:%M %Z") if local.date() == today
              else when(local, zone, lang, date=False))
        parts.append(translate_ctx(lang, "staff", "#{ticket} tier {tier}, due {when}", ticket=ticket_id, tier=tier,
                                   when=at))

    def said(shown: list[str], more: int) -> str:
        listed = "; ".join(shown)
        if more:
            return translate_ctx(lang, "staff", "{count} tickets are yours: {list}; and {more} more",
                                 count=len(entries), list=listed, more=more)
        if len(entries) == 1:
            return translate_ctx(lang, "staff", "1 ticket is yours: {list}", list=listed)
        return translate_ctx(lang, "staff", "{count} tickets are yours: {list}", count=len(entries), list=listed)

    text = said(parts, 0)
    while len(text) > 300 and len(parts) > 1:
        parts.pop()
        text = said(parts, len(entries) - len(parts))
    return text
