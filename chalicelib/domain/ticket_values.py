"""The ticket's values: its statuses, channels and event words (spelled out here once), the immutable
Ticket, Message, Event and Change, and the draft a transition works on. The transitions that make
Changes are in domain/tickets.py, which also names everything here for its callers."""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.actors import Actor
from chalicelib.domain.record import Record

# --- statuses, channels, priorities: spelled out here once -------------------------

OPEN, PENDING, RESOLVED, CLOSED = "open", "pending", "resolved", "closed"
STATUSES = (OPEN, PENDING, RESOLVED, CLOSED)
ACTIVE = (OPEN, PENDING)  # someone owes the customer an answer: counted, escalated, paged
FINISHED = (RESOLVED, CLOSED)
CHANNELS = ("sms", "voice", "webchat")
PHONE_CHANNELS = ("sms", "voice")
PRIORITIES = ("normal", "urgent")
URGENT = "urgent"

# The clock a ticket waits on (``Ticket.clock``): the tier's deadline, or an empty chat's end.
TIER_CLOCK, QUIET_CLOCK = "tier", "quiet"

REOPEN_WINDOW = timedelta(days=7)  # a customer back within this counts as a repeat contact

# --- event types (the history's words; reports and views read them) -------------------

CREATED = "created"
OWNER_CHANGED = "assigned"
MESSAGE_IN = "message_in"
MESSAGE_OUT = "message_out"
CUSTOMER_REPLIED = "customer_replied"
THANKED = "thanked"
REOPENED = "reopened"
BECAME_URGENT = "marked_urgent"
ACKNOWLEDGED = "acked"
RESOLVED_EVENT = "resolved"
PENDING_EVENT = "pending"
CLOSED_EVENT = "closed"
PASSED_UP = "passed_up"
TIER_EXPIRED = "escalated"
BREACH = "breach"
SURVEY_SENT = "survey_sent"
SURVEY_ANSWERED = "survey_answered"
SURVEY_COMMENT = "survey_comment"
CUSTOMER_TOLD = "customer_told"
NOTE = "note"  # staff only: never sent, never in the chat
LANGUAGE_SET = "language_set"  # the customer's language changed (their keyword, or staff)


class NotAllowed(Exception):
    """The transition may not happen in the ticket's present state (the API's 409)."""

    def __init__(self, message: str, code: str = "invalid_transition"):
        super().__init__(message)
        self.message, self.code = message, code


class Ticket(Record):
    id: int
    status: str
    channel: str
    owner: str
    created_at: datetime
    updated_at: datetime
    priority: str = "normal"
    tier: int = 1
    customer_name: str | None = None
    customer_contact: str | None = None  # E.164 phone, or chat session id
    customer_timezone: str | None = None  # IANA, when the customer told it (the chat page's browser)
    language: str | None = None  # what the customer is written in (API v1.2); None: the business language
    contact_key: str | None = None  # "<channel-kind>#<contact>": who the customer is
    subject: str | None = None
    tier_entered_at: datetime | None = None
    clock: str | None = None  # TIER_CLOCK | QUIET_CLOCK | None (stopped)
    tier_due_at: datetime | None = None  # when the clock runs out
    tier_remaining_seconds: int | None = None  # the time left when the clock was paused
    acked_at: datetime | None = None
    acked_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # a person id, or "automation"
    reopen_count: int = 0
    opened_by: str = "customer"  # customer | <person id>
    survey_state: str | None = None  # asked1 | asked2 | done
    survey_expires_at: datetime | None = None
    survey_answer: str | None = None  # yes | no
    survey_comment: str | None = None
    awaiting_confirmation: str | None = None  # template id of an automated answer
    page_id: str | None = None  # the page of the latest urgent episode
    pages: int = 0  # urgent episodes paged so far
    seq: int = 0  # the last history number (messages and events)
    last_author: str | None = None  # the newest message of a person, for lists (customer | agent)
    last_text: str | None = None  # its first 140 characters
    agent_at: datetime | None = None  # when a person last wrote to the customer
    version: int | None = None  # the stored version this value was read at (None: never stored)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def is_urgent(self) -> bool:
        return self.priority == URGENT

    @property
    def tier_running(self) -> bool:
        return self.clock == TIER_CLOCK


class Message(Record):
    id: str  # msg#<n>
    author: str  # customer | agent | system
    text: str
    at: datetime
    author_name: str | None = None
    channel: str | None = None
    media: tuple | None = None
    provider_id: str | None = None
    ticket_id: int | None = None  # set when read from a history


class Event(Record):
    id: str  # evt#<n> (events a sweep writes without the ticket are keyed by time: see store)
    type: str
    actor: str
    at: datetime
    data: dict | None = None
    ticket_id: int | None = None  # set when read from a history


class Change(Record):
    """A transition's result: the new ticket, and what it appends to the history."""

    ticket: Ticket
    items: tuple = ()

    @property
    def events(self) -> tuple:
        return tuple(i for i in self.items if type(i) is Event)

    def has(self, event_type: str) -> bool:
        return any(e.type == event_type for e in self.events)

    def then(self, other: Change) -> Change:
        """This change followed by `other` (made from this change's ticket)."""
        return Change(other.ticket, self.items + other.items)


class _Draft:
    """A transition's working copy: fields and appended items, made into a Change at the end."""

    __slots__ = ("fields", "items", "now")

    def __init__(self, t: Ticket, now: datetime):
        self.fields = dict(zip(t._fields, t._values(), strict=True))
        self.items: list = []
        self.now = now

    def __getattr__(self, name: str):
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, **changes) -> None:
        self.fields.update(changes)

    def _next(self) -> int:
        self.fields["seq"] += 1
        return self.fields["seq"]

    def event(self, type_: str, actor: Actor | str, **data) -> Event:
        data = {k: v for k, v in data.items() if v is not None}
        item = Event(f"evt#{self._next():09d}", type_, actor if isinstance(actor, str) else actor.id, self.now,
                     data or None)
        self.items.append(item)
        return item

    def message(self, author: str, text: str, **attrs) -> Message:
        item = Message(f"msg#{self._next():09d}", author, text, self.now, **attrs)
        self.items.append(item)
        if author != "system":  # lists show the last word of a person (the system's are in the conversation)
            self.fields.update(last_author=author, last_text=text[:140])
        if author == "agent":
            self.fields["agent_at"] = self.now
        return item

    def change(self) -> Change:
        if self.items:
            self.fields["updated_at"] = self.now
        return Change(Ticket(**self.fields), tuple(self.items))


def _require(t: Ticket, allowed: tuple[str, ...], action: str) -> None:
    if t.status not in allowed:
        raise NotAllowed(f"ticket {t.id} is {t.status}; it can be {action} only when {' or '.join(allowed)}")


def subject_of(text: str | None) -> str | None:
    """A ticket's subject: the first words of its first message."""
    if not text:
        return None
    return " ".join(text.split()[:12])[:120]
