"""The API's answers as pydantic models: documented in the OpenAPI document (chalicelib/openapi.py,
through schemas.components) and checked against real answers by the tests. Nothing here validates a
request (chalicelib/schemas.py does); schemas.py names every model here for its callers."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chalicelib.domain.tickets import STATUSES

Channel = Literal["sms", "voice", "webchat"]
Role = Literal["admin", "agent"]


class _Base(BaseModel):
    """Every model builds its validator on first use (issue 25): a cold start that checks one
    body builds one, not all sixty (28 ms of the chat's first request)."""

    model_config = ConfigDict(defer_build=True)


# --- responses (documented; tests check real answers against them) -------------------


class _Out(_Base):
    model_config = ConfigDict(extra="allow")


class ErrorDetail(_Base):
    code: str
    message: str
    field: str | None = None


class Error(_Base):
    """Every 4xx and 5xx: {"error": {"code", "message", "field"?}}."""

    error: ErrorDetail


class TicketBrief(_Out):
    id: int
    status: Literal[STATUSES]
    subject: str | None = None
    created_at: str


class Contact(_Out):
    phone: str
    name: str | None = None
    language: str | None = None
    timezone: str | None = None
    opted_out: bool
    tickets: list[TicketBrief]


class Customer(_Out):
    name: str | None = None
    contact: str | None = None
    earlier: list[TicketBrief] | None = Field(default=None, description="v1.3: their previous tickets, newest first")
    timezone: str | None = Field(default=None, description="the zone the customer's times are told in")


class Ticket(_Out):
    id: int
    status: Literal[STATUSES]  # the ticket's statuses, spelled out once (domain.tickets)
    channel: Channel
    priority: Literal["normal", "urgent"]
    tier: int
    owner: str = Field(description="person id, or 'up-for-grabs'")
    customer: Customer
    subject: str | None = None
    language: str | None = Field(default=None, description="what the customer is written in (v1.2)")
    created_at: str
    updated_at: str
    tier_due_at: str | None = None
    acked_at: str | None = None
    resolved_at: str | None = None
    reopen_count: int = 0
    version: int | None = None
    owner_name: str | None = Field(default=None, description="the owner's name, for people to read")
    last_message: dict | None = Field(default=None, description='{"author", "text"}: the newest message, '
                                                                "its first 140 characters")


class Message(_Out):
    id: str
    author: Literal["customer", "agent", "system"]
    text: str
    at: str
    channel: str | None = None
    author_name: str | None = None
    media: list[str] | None = None


class Delivery(_Base):
    status: str = Field(description="sent | queued | failed | chat | none")
    error: str | None = None


class ReplyResult(Message):
    delivery: Delivery


class Event(_Out):
    type: str
    at: str
    actor: str | None = None


class Survey(_Out):
    state: str | None = None
    answer: str | None = None
    comment: str | None = None
    expires_at: str | None = None


class Older(_Base):
    messages: str | None = Field(description="cursor of the messages before these (null: none)")
    events: str | None = Field(description="cursor of the events before these (null: none)")


class TicketDetail(Ticket):
    messages: list[Message] = Field(description="the newest 50, oldest first")
    events: list[Event] = Field(description="the newest 50, oldest first")
    older: Older | None = None
    survey: Survey | None = None


class MessageList(_Base):
    items: list[Message]
    next: str | None


class EventList(_Base):
    items: list[Event]
    next: str | None


class TicketList(_Base):
    items: list[Ticket]
    next: str | None


class Person(_Out):
    id: str
    name: str
    phone: str | None = None
    role: Role
    tier: int
    timezone: str
    language: str | None = None
    created_at: str | None = None


class PersonCreated(Person):
    api_key: str = Field(description="shown once")


class PersonList(_Base):
    items: list[Person]
    next: str | None


class Override(_Out):
    id: str
    person_id: str
    start: str
    end: str
    created_at: str | None = None
    auto: str | None = None
    correction: bool | None = None


class Shift(_Out):
    person_id: str
    start: str
    end: str | None = None
    override: bool | None = None
    name: str | None = None
    recorded: bool | None = Field(default=None, description="GET /rota/schedule: true for a shift that happened "
                                  "(from the shift records), false for one the rota plans; shown whole")


class Rota(_Out):
    timezone: str
    handoff: dict[str, str]
    shift_days: int
    members: list[str]
    start: str
    overrides: list[Override] = []
    warnings: list[str] = []
    ics_url: str = Field(description="subscribable calendar URL (secret)")
    effective: str | None = None
    next_shifts: list[Shift] | None = None


class PersonRef(_Out):
    id: str
    name: str | None = None
    phone: str | None = None


class ShiftWindow(_Base):
    start: str
    end: str


class OnCall(_Out):
    primary: PersonRef | None
    backup: PersonRef | None
    shift: ShiftWindow
    override: bool
    at: str | None = None


class PlanStep(_Out):
    at: str
    person_id: str
    name: str | None = None
    role: str
    channel: str
    round: int


class Plan(_Out):
    at: str
    rounds: int | None = None
    steps: list[PlanStep]
    gaps: list[str]
    exhausted_at: str
    then: str | None = None


class StatsItem(_Out):
    person_id: str
    name: str | None = None
    weeks_held: float
    weekend_days_held: int
    compensation_days: int
    pages_received: int
    pages_acknowledged: int


class RotaStats(_Base):
    year: int
    items: list[StatsItem]
    planned: list[Shift]
    source: str = Field(description="shift records: what happened, never the current rota")


class ShiftRecord(_Out):
    person_id: str
    start: str
    end: str | None = None
    scheduled_id: str | None = None
    how: str = Field(description="rota | override | untaken | correction")
    override_id: str | None = None
    took_at: str | None = None
    corrected_by: str | None = None


class ShiftRecords(_Base):
    items: list[ShiftRecord]


class Schedule(_Base):
    items: list[Shift]
    next: str | None = None


class IcsToken(_Base):
    ics_url: str


class Tier(_Out):
    tier: int
    sla_hours: float
    clock: Literal["wall", "business"] = "wall"
    timezone: str | None = None


class Policy(_Out):
    tiers: list[Tier]
    ack_timeout_minutes: int | None = None
    max_page_rounds: int | None = None


class Status(_Out):
    ok: bool
    sweeps: dict[str, Any]
    outbox: dict[str, Any]
    reconciled_until: str | None = None


class ChatSession(_Out):
    session_id: str
    token: str = Field(description="shown once; Bearer for this session only")
    ticket_id: int
    expectation: str | None = None


class ChatMessageCreated(_Base):
    id: str
    at: str
    echo_id: str | None = None


class ChatMessage(_Out):
    id: str
    author: Literal["customer", "agent", "system"]
    text: str
    at: str
    author_name: str | None = None


class ChatMessages(_Base):
    messages: list[ChatMessage]
    cursor: str | None
    ticket: dict[str, Any]


class SmsCount(_Base):
    encoding: str
    characters: int
    segments: int


class Template(_Out):
    id: str
    name: str
    body: str
    category: str | None = None
    keywords: list[str] = []
    auto: bool = False
    bodies: dict[str, str] = {}
    sms: SmsCount | None = None
    created_at: str | None = None
    updated_at: str | None = None


class TemplateList(_Base):
    items: list[Template]
    next: str | None


class MonthlyReport(_Out):
    month: str
    people: list[dict[str, Any]]
    overall: dict[str, Any]
    templates: list[dict[str, Any]]
    templates_ready_to_automate: list[str | None]
    automations_failing: list[str | None]
    survey_comments: list[dict[str, Any]]
    html_url: str = Field(description="opens the HTML report in a browser for 15 minutes (signed)")


class TwilioForm(_Base):
    """Twilio's webhook parameters (form-encoded); X-Twilio-Signature required."""

    model_config = ConfigDict(extra="allow")


class CodeSent(_Out):
    sent: bool = Field(description="true for any number: nothing tells a stranger who is staff")


class SignedIn(_Out):
    person: dict
    csrf: str = Field(description="send as X-CSRF-Token with every change made with the session cookie")


class Preview(_Out):
    text: str = Field(description="the template as this ticket's customer will read it")
    segments: int


RESPONSES: tuple[type[BaseModel], ...] = (
    Contact, CodeSent, SignedIn, Preview, Error, Ticket, TicketDetail, TicketList, ReplyResult, Person, PersonCreated,
    PersonList, Rota, Override,
    OnCall, Plan, RotaStats, ShiftRecords, Schedule, IcsToken, Policy, Status, ChatSession, ChatMessageCreated,
    ChatMessages, Template, TemplateList, MonthlyReport, TwilioForm, MessageList, EventList)
