"""The one source of the API's JSON shapes: pydantic models that validate every request body at
the door and generate the OpenAPI document's schemas (chalicelib/openapi.py).

Requests are strict (a number is not a string, no unknown fields); a failure becomes the
contract's 400 naming the field's path ("tiers[0].sla_hours") and what is expected — never
pydantic's 422 shape. The use cases still check what only they know (a person exists, a zone is
real). Imported only by the staff and chat routes: the Twilio webhook path never loads pydantic.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from chalicelib.domain.tickets import STATUSES
from chalicelib.errors import BadRequest


class _Base(BaseModel):
    """Every model builds its validator on first use (issue 25): a cold start that checks one
    body builds one, not all sixty (28 ms of the chat's first request)."""

    model_config = ConfigDict(defer_build=True)


# --- request bodies ----------------------------------------------------------------


class _In(_Base):
    model_config = ConfigDict(extra="forbid", strict=True)


Phone = Annotated[str, Field(max_length=32, examples=["+4915112345678"],
                             description="E.164, or national with the default region")]
Zone = Annotated[str, Field(max_length=64, examples=["Europe/Berlin"], description="an IANA time zone")]
Instant = Annotated[str, Field(max_length=40, json_schema_extra={"format": "date-time"},
                               description="ISO 8601 with an offset, like 2026-11-20T18:00:00+01:00")]
Channel = Literal["sms", "voice", "webchat"]
Role = Literal["admin", "agent"]


def _lower(v: Any) -> Any:
    return v.lower() if isinstance(v, str) else v


Weekday = Annotated[Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"],
                    BeforeValidator(_lower)]


class PersonInput(_In):
    name: str = Field(min_length=1, max_length=100)
    phone: Phone | None = None
    role: Role | None = None
    tier: int | None = Field(default=None, ge=1, le=10)
    timezone: Zone | None = None
    language: Literal["en", "de", "fr", "ro"] | None = Field(default=None, description="v1.2: theirs")


class PersonPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    phone: Phone | None = None
    role: Role | None = None
    tier: int | None = Field(default=None, ge=1, le=10)
    timezone: Zone | None = None
    language: Literal["en", "de", "fr", "ro"] | None = Field(default=None, description="v1.2: theirs")

    @model_validator(mode="after")
    def _something(self):
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class TicketInput(_In):
    text: str = Field(min_length=1, max_length=1600)
    channel: Channel | None = None
    customer_name: str | None = Field(default=None, max_length=100)
    contact: Phone | None = None
    priority: Literal["normal", "urgent"] | None = None


class ReplyInput(_In):
    """Either `text`, or `template` (its id, or its name as staff type it: `address` or `/address`): not both."""

    text: str | None = Field(default=None, min_length=1, max_length=1600)
    template: str | None = Field(default=None, max_length=64)


class PassUpInput(_In):
    reason: str = Field(min_length=1, max_length=500)


class AssignInput(_In):
    person_id: str = Field(min_length=1, max_length=64)


_NAME = {"max_length": 40, "pattern": r"^[a-z0-9][a-z0-9_-]*$", "description": "staff type it as /name"}
_BODY = {"min_length": 1, "max_length": 1600, "description": "placeholders: {first_name} {ticket} {agent} {eta}"}


class TemplateInput(_In):
    name: str = Field(**_NAME)
    body: str = Field(**_BODY)
    category: str | None = Field(default=None, max_length=40)
    keywords: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(default=None, max_length=30)
    auto: bool | None = None
    bodies: dict[Literal["en", "de", "fr", "ro"], str] | None = Field(
        default=None, description="a body per language (v1.2); the customer's is used, else `body`")


class TemplatePatch(_In):
    name: str | None = Field(default=None, **_NAME)
    body: str | None = Field(default=None, **_BODY)
    category: str | None = Field(default=None, max_length=40)
    keywords: list[Annotated[str, Field(min_length=1, max_length=40)]] | None = Field(default=None, max_length=30)
    auto: bool | None = None
    bodies: dict[Literal["en", "de", "fr", "ro"], str] | None = Field(
        default=None, description="a body per language (v1.2); the customer's is used, else `body`")


class Handoff(_In):
    weekday: Weekday
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="local time, like 18:00")


class RotaInput(_In):
    timezone: Zone
    handoff: Handoff
    shift_days: int = Field(ge=1, le=28)
    members: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=50)
    start: str = Field(max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="a date, like 2026-11-20")
    effective: Literal["now", "next_handoff"] | None = Field(
        default=None, description="next_handoff (default): the current holder keeps the phone until then")


class OverrideInput(_In):
    """Overlapping overrides: the one created last wins. One that starts in the past corrects the
    shift records (who really held the phone)."""

    person_id: str = Field(min_length=1, max_length=64)
    start: Instant
    end: Instant


class TierInput(_In):
    tier: int = Field(ge=1, le=10)
    sla_hours: float | None = Field(default=None, gt=0, le=720)
    clock: Literal["wall", "business"] | None = None
    timezone: Zone | None = None


class PolicyInput(_In):
    tiers: list[TierInput] = Field(min_length=1, max_length=10)
    ack_timeout_minutes: int | None = Field(default=None, ge=1, le=240)
    max_page_rounds: int | None = Field(default=None, ge=1, le=48,
                                        description="an unacknowledged chain starts again, at most this many rounds")


class ChatStart(_In):
    name: str = Field(min_length=1, max_length=80)
    contact: Phone | None = None
    timezone: str | None = Field(default=None, max_length=64,
                                 description="the customer's IANA zone (the chat page sends the browser's)")
    language: str | None = Field(default=None, max_length=35,
                                 description="BCP 47 (the chat page sends the browser's); one we do not write: "
                                             "the business language")


class ChatMessageInput(_In):
    text: str = Field(min_length=1, max_length=2000)
    echo_id: str | None = Field(default=None, max_length=64, description="client id echoed back")


class CodeRequest(_In):
    phone: Phone


class SignInInput(_In):
    """A phone and the code it received, or an API key (scripts; the bootstrap admin's first set-up)."""

    phone: Phone | None = None
    code: str | None = Field(default=None, max_length=12, examples=["042917"])
    api_key: str | None = Field(default=None, max_length=200)


class SwapInput(_In):
    person_id: str = Field(max_length=64, description="the colleague asked to hold the phone (see GET /team)")
    start: str = Field(max_length=40, description="ISO 8601 with offset")
    end: str = Field(max_length=40, description="ISO 8601 with offset")


class NoteInput(_In):
    text: str = Field(min_length=1, max_length=4000, description="for staff only: never sent, never in the chat")


class LanguageInput(_In):
    language: Literal["en", "de", "fr", "ro"] = Field(description="what the customer is written in from now on")


REQUESTS: tuple[type[BaseModel], ...] = (
    PersonInput, PersonPatch, TicketInput, ReplyInput, PassUpInput, AssignInput, TemplateInput, TemplatePatch,
    RotaInput, OverrideInput, PolicyInput, ChatStart, ChatMessageInput, CodeRequest, SignInInput, NoteInput,
    LanguageInput,
    SwapInput)


def _path(loc: tuple) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def parse(model: type[_In], data: dict) -> _In:
    """`data` (a JSON object) checked against `model`; the first problem as the contract's 400."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        field, kind = _path(tuple(err["loc"])), err["type"]
        if kind == "extra_forbidden":
            known = ", ".join(model.model_fields)
            raise BadRequest(field, f"is not a known field; expected one of {known}") from None
        if kind == "missing":
            raise BadRequest(field, "is required", code="missing_field") from None
        message = err["msg"][0].lower() + err["msg"][1:]
        if message.startswith("value error, "):
            message = message[len("value error, "):]
        raise BadRequest(field, message) from None


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


class Customer(_Out):
    name: str | None = None
    contact: str | None = None
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
    CodeSent, SignedIn, Preview, Error, Ticket, TicketDetail, TicketList, ReplyResult, Person, PersonCreated,
    PersonList, Rota, Override,
    OnCall, Plan, RotaStats, ShiftRecords, Schedule, IcsToken, Policy, Status, ChatSession, ChatMessageCreated,
    ChatMessages, Template, TemplateList, MonthlyReport, TwilioForm)


def components() -> dict:
    """Every model's JSON schema, for the OpenAPI document (nested models hoisted)."""
    from pydantic.json_schema import models_json_schema

    models = [(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in RESPONSES]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    return top.get("$defs", {})
