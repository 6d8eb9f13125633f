"""The PynamoDB models (tables and their indexes) and table creation."""
from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    NumberSetAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.store._base import (
    _CONNECTIONS,
    _index,
    _Meta,
    clear_shared,
)

# --- models -------------------------------------------------------------------


class Counter(Model):
    Meta = _Meta("counters")
    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


class TicketsByStatus(GlobalSecondaryIndex):
    Meta = _index("by_status")
    status = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsByOwner(GlobalSecondaryIndex):
    Meta = _index("by_owner")
    owner = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsByCreated(GlobalSecondaryIndex):
    """All tickets, newest first: one partition is fine for a small team."""

    Meta = _index("by_created")
    list_pk = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsByTierDue(GlobalSecondaryIndex):
    """Sparse: ``tier_due_pk`` exists only while a tier deadline runs."""

    Meta = _index("by_tier_due", KeysOnlyProjection())
    tier_due_pk = UnicodeAttribute(hash_key=True)
    tier_due_at = UTCDateTimeAttribute(range_key=True)


class Ticket(Model):
    Meta = _Meta("tickets")
    id = NumberAttribute(hash_key=True)
    status = UnicodeAttribute()  # open | pending | resolved | closed
    channel = UnicodeAttribute()  # sms | voice | webchat
    priority = UnicodeAttribute(default="normal")  # normal | urgent
    tier = NumberAttribute(default=1)
    owner = UnicodeAttribute()  # a person id, or UP_FOR_GRABS
    customer_name = UnicodeAttribute(null=True)
    customer_contact = UnicodeAttribute(null=True)  # E.164 phone, or chat session id
    contact_key = UnicodeAttribute(null=True)  # "<channel-kind>#<contact>": who the customer is
    subject = UnicodeAttribute(null=True)
    list_pk = UnicodeAttribute(default="ticket")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    tier_entered_at = UTCDateTimeAttribute(null=True)
    tier_due_pk = UnicodeAttribute(null=True)
    tier_due_at = UTCDateTimeAttribute(null=True)
    tier_remaining_seconds = NumberAttribute(null=True)
    acked_at = UTCDateTimeAttribute(null=True)
    acked_by = UnicodeAttribute(null=True)
    resolved_at = UTCDateTimeAttribute(null=True)
    reopen_count = NumberAttribute(default=0)
    opened_by = UnicodeAttribute(default="customer")  # customer | <person id>
    survey_state = UnicodeAttribute(null=True)  # asked1 | asked2 | done
    survey_expires_at = UTCDateTimeAttribute(null=True)
    survey_answer = UnicodeAttribute(null=True)  # yes | no
    survey_comment = UnicodeAttribute(null=True)
    resolved_by = UnicodeAttribute(null=True)
    awaiting_confirmation = UnicodeAttribute(null=True)  # template id of an automated answer
    page_id = UnicodeAttribute(null=True)  # the page of the latest urgent episode
    pages = NumberAttribute(default=0)  # urgent episodes paged so far
    seq = NumberAttribute(default=0)  # last item sequence number (messages + events)
    version = VersionAttribute()

    by_status = TicketsByStatus()
    by_owner = TicketsByOwner()
    by_created = TicketsByCreated()
    by_tier_due = TicketsByTierDue()


class ItemsByMonth(GlobalSecondaryIndex):
    """Events of one month, for reports (sparse: only events carry ``month``)."""

    Meta = _index("by_month")
    month = UnicodeAttribute(hash_key=True)
    at = UTCDateTimeAttribute(range_key=True)


class TicketItem(Model):
    """A message or an event of a ticket. Append-only."""

    Meta = _Meta("ticket_items")
    ticket_id = NumberAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)  # "msg#<seq>" | "evt#<seq>": one total order per ticket
    kind = UnicodeAttribute()  # message | event
    at = UTCDateTimeAttribute()
    type = UnicodeAttribute(null=True)  # event type
    actor = UnicodeAttribute(null=True)
    author = UnicodeAttribute(null=True)  # customer | agent | system
    author_name = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)
    channel = UnicodeAttribute(null=True)
    media = ListAttribute(null=True, of=UnicodeAttribute)
    data = JSONAttribute(null=True)
    month = UnicodeAttribute(null=True)

    by_month = ItemsByMonth()


class PeopleByPhone(GlobalSecondaryIndex):
    Meta = _index("by_phone")
    phone = UnicodeAttribute(hash_key=True)


class PeopleAll(GlobalSecondaryIndex):
    Meta = _index("all_people")
    kind = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)


class Person(Model):
    Meta = _Meta("people")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="person")
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    role = UnicodeAttribute()  # admin | agent
    tier = NumberAttribute(default=1)
    timezone = UnicodeAttribute(default="Europe/Berlin")
    key_hash = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_phone = PeopleByPhone()
    all_people = PeopleAll()


class ApiKey(Model):
    Meta = _Meta("api_keys")
    key_hash = UnicodeAttribute(hash_key=True)
    person_id = UnicodeAttribute()
    role = UnicodeAttribute()  # copies of the person's role and name, kept in step by
    name = UnicodeAttribute(null=True)  # save_person(): one GetItem authenticates a request
    created_at = UTCDateTimeAttribute()


class IdempotencyKey(Model):
    Meta = _Meta("idempotency")
    key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()
    result = UnicodeAttribute(null=True)  # what the first delivery answered, replayed to retries
    ticket_id = NumberAttribute(null=True)  # the ticket the claimed message went to
    created_at = UTCDateTimeAttribute(null=True)


class Setting(Model):
    """Small named documents: the tier policy, the rota."""

    Meta = _Meta("settings")
    name = UnicodeAttribute(hash_key=True)
    data = JSONAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class Shift(Model):
    """What happened on the emergency phone: who held it from when to when (``end`` is None while
    they still hold it), whom the rota scheduled, and why (rota | override | untaken | correction).

    Written by the handoff sweep as it happens; an admin's correction of the past replaces the
    records it covers and says who made it. Stats and the report count these, never the rota.
    """

    Meta = _Meta("shifts")
    rota = UnicodeAttribute(hash_key=True)  # "rota": one timeline
    start = UTCDateTimeAttribute(range_key=True)
    end = UTCDateTimeAttribute(null=True)
    person_id = UnicodeAttribute()
    scheduled_id = UnicodeAttribute(null=True)
    how = UnicodeAttribute(default="rota")
    override_id = UnicodeAttribute(null=True)
    took_at = UTCDateTimeAttribute(null=True)  # the TAKE that confirmed it
    corrected_by = UnicodeAttribute(null=True)
    recorded_at = UTCDateTimeAttribute()


class Contact(Model):
    """A phone number that texts or calls us: consent, its current ticket, reply budgets.

    ``current_ticket`` is read with a consistent GetItem (a GSI could lag a
    write and open a second ticket for two quick texts).
    """

    Meta = _Meta("contacts")
    phone = UnicodeAttribute(hash_key=True)
    opted_out = BooleanAttribute(default=False)
    current_ticket = NumberAttribute(null=True)
    last_ack_at = UTCDateTimeAttribute(null=True)
    last_ack_ticket = NumberAttribute(null=True)
    budgets = JSONAttribute(null=True)  # {"auto": [window, count], "sorry": [window, count]}
    last_survey_at = UTCDateTimeAttribute(null=True)
    person_id = UnicodeAttribute(null=True)  # set when the number is a staff member's
    version = VersionAttribute()


class Outbound(Model):
    """An outbound SMS or call by provider id: delivery status only moves forward."""

    Meta = _Meta("outbound")
    sid = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # sms | call
    status = UnicodeAttribute(default="queued")
    rank = NumberAttribute(default=0)
    ticket_id = NumberAttribute(null=True)
    page_id = UnicodeAttribute(null=True)
    page_key = UnicodeAttribute(null=True)
    outbox_id = UnicodeAttribute(null=True)
    person_id = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class PagesDue(GlobalSecondaryIndex):
    """Sparse: ``due_pk`` exists only while the page waits for its next step."""

    Meta = _index("by_due")
    due_pk = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class Page(Model):
    """The page of one urgent episode of a ticket: a chain walked step by step.

    No version number: every step's write is conditional on the step it
    replaces (``key``) and on the page still being open, so two sweeps never
    take one step twice and an ACK is never overwritten.
    """

    Meta = _Meta("pages")
    id = UnicodeAttribute(hash_key=True)  # "t<ticket id>" (then "t<id>-2", ... for later episodes)
    ticket_id = NumberAttribute()
    status = UnicodeAttribute(default="open")  # open | acked | exhausted | cancelled
    step = NumberAttribute(default=0)  # index into the chain
    chain = JSONAttribute()  # [{"person_id", "role"}], fixed when the page opens
    attempt = UnicodeAttribute(default="sms")  # sms | call: the contact made at this step
    sent = BooleanAttribute(default=False)  # this step's contact is committed (in the outbox)
    sent_at = UTCDateTimeAttribute(null=True)  # ... and went out at (None: not yet)
    failures = NumberAttribute(default=0)
    reason = UnicodeAttribute(null=True)
    text = UnicodeAttribute(null=True)  # the page SMS, fixed when the page opens
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    due_pk = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    acked_by = UnicodeAttribute(null=True)
    round = NumberAttribute(default=0)  # how often the whole chain has been walked
    key = UnicodeAttribute(null=True)  # the current step's key; its outbox item is "page#<id>#<key>"
    noticed = BooleanAttribute(default=False)  # the "nobody acknowledged" notice went to the admins

    by_due = PagesDue()


class ChatSession(Model):
    """A web chat session: an opaque id, a token stored only as its hash, a ticket."""

    Meta = _Meta("chat_sessions")
    id = UnicodeAttribute(hash_key=True)
    token_hash = UnicodeAttribute()
    ticket_id = NumberAttribute()
    name = UnicodeAttribute(null=True)
    contact = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class Limit(Model):
    """Fixed-window rate-limit counters: one atomic ADD per request, TTL cleans up."""

    Meta = _Meta("limits")
    key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class TemplatesAll(GlobalSecondaryIndex):
    Meta = _index("all_templates")
    kind = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)


class Template(Model):
    """A canned answer with placeholders; `auto` ones answer matching first messages."""

    Meta = _Meta("templates")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="template")
    name = UnicodeAttribute()
    body = UnicodeAttribute()
    category = UnicodeAttribute(null=True)
    keywords = ListAttribute(of=UnicodeAttribute, default=list)
    auto = BooleanAttribute(default=False)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    all_templates = TemplatesAll()


class OutboxDue(GlobalSecondaryIndex):
    """Sparse: ``due_pk`` exists only while the item waits to be sent (or its lease runs)."""

    Meta = _index("outbox_due")
    due_pk = UnicodeAttribute(hash_key=True)
    due_at = UTCDateTimeAttribute(range_key=True)


class OutboxDead(GlobalSecondaryIndex):
    """Sparse: ``dead_pk`` exists only on items that died (for /status and the alarm)."""

    Meta = _index("outbox_dead", KeysOnlyProjection())
    dead_pk = UnicodeAttribute(hash_key=True)
    dead_at = UTCDateTimeAttribute(range_key=True)


class OutboxItem(Model):
    """One outbound SMS or call, written in the transaction that causes it.

    due → sending (leased) → sent | dead | cancelled. The id is chosen by the
    cause (``reply#<inbound sid>``, ``page#t7#...``), so a retried cause
    can never write a second copy.
    """

    Meta = _Meta("outbox")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # sms | call
    purpose = UnicodeAttribute()  # page | reply | survey | notice | bundle | digest
    to = UnicodeAttribute(null=True)  # E.164
    person_id = UnicodeAttribute(null=True)
    body = UnicodeAttribute(null=True)
    url = UnicodeAttribute(null=True)
    ticket_id = NumberAttribute(null=True)
    message_sk = UnicodeAttribute(null=True)
    page_id = UnicodeAttribute(null=True)
    page_key = UnicodeAttribute(null=True)  # the page step that wrote it
    status = UnicodeAttribute(default="due")
    attempts = NumberAttribute(default=0)  # leases taken
    failures = NumberAttribute(default=0)  # attempts that recorded a failure (the rest: sent, or a sender died)
    max_attempts = NumberAttribute(default=10)
    lease_until = UTCDateTimeAttribute(null=True)
    due_pk = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    role = UnicodeAttribute(null=True)  # a page's: holder | backup | lead
    ticket_ids = NumberSetAttribute(null=True)  # a digest's tickets (its text is written when it goes out)
    sid = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    delivery = UnicodeAttribute(null=True)  # the provider's latest status (forward only)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)

    dead_pk = UnicodeAttribute(null=True)
    dead_at = UTCDateTimeAttribute(null=True)

    by_due = OutboxDue()
    by_dead = OutboxDead()


MODELS: list[type[Model]] = [Counter, Ticket, TicketItem, Person, ApiKey, IdempotencyKey, Setting, Contact,
                             Outbound, Page, ChatSession, Limit, Template, OutboxItem, Shift]
TTL_ATTRIBUTES = {IdempotencyKey: "expires_at", Outbound: "expires_at", ChatSession: "expires_at",
                  Limit: "expires_at", OutboxItem: "expires_at"}


# --- tables -------------------------------------------------------------------


def create_tables() -> None:
    """Create every table the app needs; idempotent."""
    clear_shared()
    for model in MODELS:
        if not model.exists():
            # PynamoDB also enables TTL on the model's TTLAttribute.
            model.create_table(wait=True, billing_mode="PAY_PER_REQUEST")


def reset_connections() -> None:
    """Forget cached connections (tests switch endpoints and prefixes)."""
    for model in MODELS:
        model._connection = None
    _CONNECTIONS.clear()


def table_schemas() -> dict[str, dict]:
    """CreateTable-shaped schemas of every model, for the package template."""
    out = {}
    for model in MODELS:
        schema = model._get_schema()
        out[model.Meta.base] = {
            "schema": schema,
            "ttl": TTL_ATTRIBUTES.get(model),
        }
    return out
