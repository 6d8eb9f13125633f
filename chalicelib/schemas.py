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

from chalicelib.answers import (  # noqa: F401 - the answers' models, named here for their callers
    RESPONSES,
    Channel,
    ChatMessage,
    ChatMessageCreated,
    ChatMessages,
    ChatSession,
    CodeSent,
    Customer,
    Delivery,
    Error,
    ErrorDetail,
    Event,
    EventList,
    IcsToken,
    Message,
    MessageList,
    MonthlyReport,
    Older,
    OnCall,
    Override,
    Person,
    PersonCreated,
    PersonList,
    PersonRef,
    Plan,
    PlanStep,
    Policy,
    Preview,
    ReplyResult,
    Role,
    Rota,
    RotaStats,
    Schedule,
    Shift,
    ShiftRecord,
    ShiftRecords,
    ShiftWindow,
    SignedIn,
    SmsCount,
    StatsItem,
    Status,
    Survey,
    Template,
    TemplateList,
    Ticket,
    TicketDetail,
    TicketList,
    Tier,
    TwilioForm,
    _Base,
    _Out,
)
from chalicelib.errors import BadRequest

# --- request bodies ----------------------------------------------------------------


class _In(_Base):
    model_config = ConfigDict(extra="forbid", strict=True)


Phone = Annotated[str, Field(max_length=32, examples=["+4915112345678"], json_schema_extra={"format": "phone"},
                             description="a number its country's plan knows (checked with phonenumbers): E.164, "
                                         "or national with the default region")]
Zone = Annotated[str, Field(max_length=64, examples=["Europe/Berlin"], json_schema_extra={"format": "time-zone"},
                            description="an IANA time zone name (Area/Location, or UTC) that zoneinfo knows")]
# RFC 3339 in the years the API accepts (validate.instant): the document's date-time, drawable.
INSTANT_PATTERN = (r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]"
                   r":[0-5][0-9](\.[0-9]{1,6})?([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$")
Instant = Annotated[str, Field(max_length=40, json_schema_extra={"format": "date-time", "pattern": INSTANT_PATTERN},
                               description="ISO 8601 with an offset, like 2026-11-20T18:00:00+01:00, "
                                           "in the years 2000-2100")]


def _absent(**kw: Any) -> Any:
    """An optional field that is left out, never sent as null: the validation refuses null, and the
    document says so (the type without `null`, no default; components() drops pydantic's)."""
    return Field(default=None, **kw)


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
    model_config = ConfigDict(json_schema_extra={"minProperties": 1})  # at least one field to change

    name: str = _absent(min_length=1, max_length=100)
    phone: Phone = _absent()
    role: Role = _absent()
    tier: int = _absent(ge=1, le=10)
    timezone: Zone = _absent()
    language: Literal["en", "de", "fr", "ro"] = _absent(description="v1.2: theirs")

    @model_validator(mode="after")
    def _something(self):
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class ContactPatch(_In):
    """A customer as the team knows them (issue 38): each field optional, at least one."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: str | None = _absent(max_length=100, description="what they are called; null or empty: forget it")
    language: Literal["en", "de", "fr", "ro"] | None = _absent()
    timezone: Zone | None = _absent()

    @model_validator(mode="after")
    def _something(self):
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        return self


class TicketInput(_In):
    """`contact` is required unless the channel is webchat (the default channel is sms)."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"required": ["contact"]}, {"required": ["channel"], "properties": {"channel": {"const": "webchat"}}}]})

    text: str = Field(min_length=1, max_length=1600)
    channel: Channel | None = None
    customer_name: str | None = Field(default=None, max_length=100)
    contact: Phone = _absent()
    priority: Literal["normal", "urgent"] | None = None


class ReplyInput(_In):
    """Either `text`, or `template` (its id, or its name as staff type it: `address` or `/address`): not both."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["text"]}, {"required": ["template"]}]})

    text: str = _absent(min_length=1, max_length=1600)
    template: str = _absent(min_length=1, max_length=64)


class PassUpInput(_In):
    reason: str = Field(min_length=1, max_length=500)


class AssignInput(_In):
    person_id: str = Field(min_length=1, max_length=64)


_NAME = {"max_length": 40, "pattern": r"^[a-z0-9][a-z0-9_-]*$", "description": "staff type it as /name"}
# A template's body as the use case checks it (string.Formatter): text, {{ and }} for braces, the four
# placeholders, and at least one character that is not white space. (The use case words the 400.)
_PART = r"[^{}\x00]|\{\{|\}\}|\{(?:first_name|ticket|agent|eta)\}"
_SOLID_PART = r"[^{}\x00\s\x1c-\x1f\x85]|\{\{|\}\}|\{(?:first_name|ticket|agent|eta)\}"
_BODY = {"min_length": 1, "max_length": 1600, "description": "placeholders: {first_name} {ticket} {agent} {eta}",
         "json_schema_extra": {"pattern": f"^(?:{_PART})*(?:{_SOLID_PART})(?:{_PART})*$"}}


class TemplateInput(_In):
    """An automatic template (`auto: true`) needs keywords to match first messages."""

    model_config = ConfigDict(json_schema_extra={"anyOf": [
        {"not": {"required": ["auto"]}}, {"properties": {"auto": {"const": False}}},
        {"required": ["keywords"], "properties": {"keywords": {"minItems": 1}}}]})

    name: str = Field(**_NAME)
    body: str = Field(**_BODY)
    category: str | None = Field(default=None, max_length=40)
    keywords: list[Annotated[str, Field(min_length=1, max_length=40)]] = _absent(max_length=30)
    auto: bool = _absent()
    bodies: dict[Literal["en", "de", "fr", "ro"], Annotated[str, Field(**_BODY)]] | None = Field(
        default=None, min_length=1, description="a body per language (v1.2); the customer's is used, else `body`")


class TemplatePatch(_In):
    name: str = _absent(**_NAME)
    body: str = _absent(**_BODY)
    category: str | None = Field(default=None, max_length=40)
    keywords: list[Annotated[str, Field(min_length=1, max_length=40)]] = _absent(max_length=30)
    auto: bool = _absent()
    bodies: dict[Literal["en", "de", "fr", "ro"], Annotated[str, Field(**_BODY)]] | None = Field(
        default=None, min_length=1, description="a body per language (v1.2); the customer's is used, else `body`")


class Handoff(_In):
    weekday: Weekday
    time: str = Field(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$", description="local time, like 18:00")


class RotaInput(_In):
    timezone: Zone
    handoff: Handoff
    shift_days: int = Field(ge=1, le=28)
    members: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=50)
    start: str = Field(max_length=10, pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="a date, like 2026-11-20")
    effective: Literal["now", "next_handoff"] = _absent(
        description="next_handoff (default): the current holder keeps the phone until then")


class OverrideInput(_In):
    """Overlapping overrides: the one created last wins. One that starts in the past corrects the
    shift records (who really held the phone)."""

    person_id: str = Field(min_length=1, max_length=64)
    start: Instant
    end: Instant


class TierInput(_In):
    tier: int = Field(ge=1, le=10)
    sla_hours: float = _absent(gt=0, le=720)
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
    timezone: Zone | None = Field(default=None, description="the customer's IANA zone (the chat page sends the "
                                                           "browser's)")
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

    model_config = ConfigDict(json_schema_extra={"anyOf": [{"required": ["phone", "code"]},
                                                           {"required": ["api_key"]}]})

    phone: Phone = _absent()
    code: str = _absent(min_length=1, max_length=12, examples=["042917"])
    api_key: str = _absent(min_length=1, max_length=200)


class SwapInput(_In):
    person_id: str = Field(max_length=64, description="the colleague asked to hold the phone (see GET /team)")
    start: Instant
    end: Instant


class NoteInput(_In):
    text: str = Field(min_length=1, max_length=4000, description="for staff only: never sent, never in the chat")


class LanguageInput(_In):
    language: Literal["en", "de", "fr", "ro"] = Field(description="what the customer is written in from now on")


REQUESTS: tuple[type[BaseModel], ...] = (
    PersonInput, PersonPatch, TicketInput, ReplyInput, PassUpInput, AssignInput, TemplateInput, TemplatePatch,
    RotaInput, OverrideInput, PolicyInput, ChatStart, ChatMessageInput, CodeRequest, SignInInput, NoteInput,
    LanguageInput,
    SwapInput, ContactPatch)


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


# What the use cases refuse in any text (validate.text): a NUL, and in a required one, nothing but
# white space (str.strip's, which is the pattern's \s). An unpaired surrogate is refused too, but
# no valid UTF-8 carries one (only a \ud800 escape does), and a pattern naming it is one fuzzers
# drop, so the pattern leaves it out.
TEXT_PATTERN = r"^[^\x00]*$"
SOLID_PATTERN = r"^[^\x00]*[^\x00\s\x1c-\x1f\x85][^\x00]*$"  # \x1c-\x1f, \x85: str.strip's, not ECMA's \s


def _finish(node: Any) -> None:
    """Request schemas say what the use cases check beyond pydantic: texts without NUL, required
    ones not blank; a field left out is never null."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            node[i] = _finish(item)
        return node
    if not isinstance(node, dict):
        return node
    for key, value in list(node.items()):
        node[key] = _finish(value)
    for name, prop in node.get("properties", {}).items() if node.get("type") == "object" else ():
        required = name in node.get("required", ())
        for schema in [prop, *prop.get("anyOf", ())]:
            for text in (schema, schema.get("items", {}), schema.get("additionalProperties") or {}):
                if text.get("type") == "string" and not {"enum", "const", "format", "pattern"} & text.keys():
                    solid = (required and text is schema) or text.get("minLength", 0) >= 1
                    text["pattern"] = SOLID_PATTERN if solid else TEXT_PATTERN
    for prop in node.get("properties", {}).values() if node.get("type") == "object" else ():
        nullable = prop.get("type") == "null" or any(a.get("type") == "null" for a in prop.get("anyOf", ()))
        if "default" in prop and prop["default"] is None and not nullable:
            del prop["default"]  # _absent: left out, never null
    return node


def components() -> dict:
    """Every model's JSON schema, for the OpenAPI document (nested models hoisted)."""
    from pydantic.json_schema import models_json_schema

    models = [(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in RESPONSES]
    _, top = models_json_schema(models, ref_template="#/components/schemas/{model}")
    defs = top.get("$defs", {})
    requests = {m.__name__ for m in REQUESTS} | {"Handoff", "TierInput"}
    for name in requests & defs.keys():
        defs[name] = _finish(defs[name])
    return defs
