"""The PynamoDB models a webhook touches (tables and their indexes).

The tables no Twilio webhook touches (API keys, chat sessions, shift records) are in
``rare_models``, so a webhook's cold start does not build their classes (PynamoDB's
metaclass inspects every model class: ~1.8 M instructions each); ``tables`` lists them all.
"""
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

from chalicelib.store._base import (
    Table,
    _index,
    _Meta,
)

# --- models -------------------------------------------------------------------


class Counter(Table):
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


class TicketsByContact(GlobalSecondaryIndex):
    """A customer's tickets, newest first (their earlier tickets, GET /contacts/{phone}; issue 38)."""

    Meta = _index("by_contact")
    contact_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class TicketsByTierDue(GlobalSecondaryIndex):
    """Sparse: ``tier_due_pk`` exists only while a tier deadline runs."""

    Meta = _index("by_tier_due", KeysOnlyProjection())
    tier_due_pk = UnicodeAttribute(hash_key=True)
    tier_due_at = UTCDateTimeAttribute(range_key=True)


class Ticket(Table):
    Meta = _Meta("tickets")
    id = NumberAttribute(hash_key=True)
    status = UnicodeAttribute()  # open | pending | resolved | closed
    channel = UnicodeAttribute()  # sms | voice | webchat
    priority = UnicodeAttribute(default="normal")  # normal | urgent
    tier = NumberAttribute(default=1)
    owner = UnicodeAttribute()  # a person id, or UP_FOR_GRABS
    customer_name = UnicodeAttribute(null=True)
    customer_contact = UnicodeAttribute(null=True)  # E.164 phone, or chat session id
    customer_timezone = UnicodeAttribute(null=True)  # IANA, when the customer told it
    language = UnicodeAttribute(null=True)  # the customer's (API v1.2): what their texts are written in
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
    last_author = UnicodeAttribute(null=True)  # the newest message, for lists
    last_text = UnicodeAttribute(null=True)
    agent_at = UTCDateTimeAttribute(null=True)  # when a person last wrote to the customer
    version = VersionAttribute()

    by_status = TicketsByStatus()
    by_owner = TicketsByOwner()
    by_created = TicketsByCreated()
    by_tier_due = TicketsByTierDue()
    by_contact = TicketsByContact()


class ItemsByMonth(GlobalSecondaryIndex):
    """Events of one month, for reports (sparse: only events carry ``month``)."""

    Meta = _index("by_month")
    month = UnicodeAttribute(hash_key=True)
    at = UTCDateTimeAttribute(range_key=True)


class TicketItem(Table):
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


class Person(Table):
    Meta = _Meta("people")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="person")
    name = UnicodeAttribute()
    phone = UnicodeAttribute(null=True)
    role = UnicodeAttribute()  # admin | agent
    tier = NumberAttribute(default=1)
    timezone = UnicodeAttribute(default="Europe/Berlin")
    language = UnicodeAttribute(null=True)
    key_hash = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_phone = PeopleByPhone()
    all_people = PeopleAll()


class IdempotencyKey(Table):
    Meta = _Meta("idempotency")
    key = UnicodeAttribute(hash_key=True)
    expires_at = TTLAttribute()
    result = UnicodeAttribute(null=True)  # what the first delivery answered, replayed to retries
    ticket_id = NumberAttribute(null=True)  # the ticket the claimed message went to
    created_at = UTCDateTimeAttribute(null=True)


class Setting(Table):
    """Small named documents: the tier policy, the rota."""

    Meta = _Meta("settings")
    name = UnicodeAttribute(hash_key=True)
    data = JSONAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


class Contact(Table):
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
    language = UnicodeAttribute(null=True)  # the customer's language, once decided (API v1.2)
    name = UnicodeAttribute(null=True)  # what the team calls them (issue 38)
    timezone = UnicodeAttribute(null=True)
    version = VersionAttribute()


class Outbound(Table):
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


class Page(Table):
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
    texts = JSONAttribute(null=True)  # [[language, page SMS], ...]: one per language its chain reads
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    due_pk = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    acked_by = UnicodeAttribute(null=True)
    round = NumberAttribute(default=0)  # how often the whole chain has been walked
    key = UnicodeAttribute(null=True)  # the current step's key; its outbox item is "page#<id>#<key>"
    noticed = BooleanAttribute(default=False)  # the "nobody acknowledged" notice went to the admins
    customer = UnicodeAttribute(null=True)  # the customer's phone (SMS and voice tickets)
    customer_told = BooleanAttribute(default=False)  # ... who heard "still trying" once

    by_due = PagesDue()


class Limit(Table):
    """Fixed-window rate-limit counters: one atomic ADD per request, TTL cleans up."""

    Meta = _Meta("limits")
    key = UnicodeAttribute(hash_key=True)
    count = NumberAttribute(default=0)
    expires_at = TTLAttribute()


class TemplatesAll(GlobalSecondaryIndex):
    Meta = _index("all_templates")
    kind = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute(range_key=True)


class Template(Table):
    """A canned answer with placeholders; `auto` ones answer matching first messages."""

    Meta = _Meta("templates")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="template")
    name = UnicodeAttribute()
    body = UnicodeAttribute()
    category = UnicodeAttribute(null=True)
    keywords = ListAttribute(of=UnicodeAttribute, default=list)
    auto = BooleanAttribute(default=False)
    bodies = JSONAttribute(null=True)  # a body per language (API v1.2)
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


class OutboxItem(Table):
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
