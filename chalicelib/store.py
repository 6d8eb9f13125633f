"""Persistence: the PynamoDB models and the only code that talks to DynamoDB.

Tables (names are TABLE_PREFIX + base name, bound lazily so tests and stages
can use their own prefixes):

- ``counters``     atomic counters (short sequential ticket numbers)
- ``tickets``      one item per ticket, optimistic locking by ``version``
- ``ticket_items`` append-only messages and events of a ticket (same
                   partition, sort key by time), never a list in the ticket
- ``people``       staff; GSI by phone (who is texting us?)
- ``api_keys``     bearer keys, stored as SHA-256 hashes only
- ``idempotency``  provider ids / request keys claimed with a conditional put;
                   TTL removes them

Every racing write is conditional; no Scan anywhere (lists use GSIs).
"""
from __future__ import annotations

import base64
import json
import logging
import random
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    PutError,
    PynamoDBException,
    TransactWriteError,
    UpdateError,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import config


class ConditionFailed(Exception):
    """A conditional write lost a race (someone else wrote first).

    ``tags`` names the writes of a transaction whose condition failed, so a
    caller can tell "the message was stored before" from "the ticket moved".
    """

    def __init__(self, message: str = "", tags=()):
        super().__init__(message)
        self.tags = set(tags)


class AlreadyDone(Exception):
    """The write's idempotency claim exists: an earlier delivery already made it."""


# --- lazy table names ---------------------------------------------------------


class _Meta:
    """Model.Meta whose table name follows TABLE_PREFIX at call time."""

    billing_mode = "PAY_PER_REQUEST"

    def __init__(self, base: str):
        self.base = base

    @property
    def table_name(self) -> str:
        return config.table_prefix() + self.base


class _IndexMeta:
    def __init__(self, name: str, projection=None):
        self.index_name = name
        self.projection = projection or AllProjection()


def _index(name: str, projection=None):
    return _IndexMeta(name, projection)


# --- models -------------------------------------------------------------------


class Counter(Model):
    Meta = _Meta("counters")
    name = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(default=0)


class TicketsByContact(GlobalSecondaryIndex):
    Meta = _index("by_contact")
    contact_key = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


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
    contact_key = UnicodeAttribute(null=True)  # "<channel-kind>#<contact>" for by_contact
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

    by_contact = TicketsByContact()
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
    created_at = UTCDateTimeAttribute(null=True)


class Setting(Model):
    """Small named documents: the tier policy, the rota."""

    Meta = _Meta("settings")
    name = UnicodeAttribute(hash_key=True)
    data = JSONAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()


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


class OutboxItem(Model):
    """One outbound SMS or call, written in the transaction that causes it.

    due → sending (leased) → sent | dead | cancelled. The id is chosen by the
    cause (``reply#<inbound sid>``, ``page#t7#...``), so a retried cause
    can never write a second copy.
    """

    Meta = _Meta("outbox")
    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()  # sms | call
    purpose = UnicodeAttribute()  # page | reply | survey | notice | bundle
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
    sid = UnicodeAttribute(null=True)
    sent_at = UTCDateTimeAttribute(null=True)
    delivery = UnicodeAttribute(null=True)  # the provider's latest status (forward only)
    error = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute(null=True)

    by_due = OutboxDue()


MODELS: list[type[Model]] = [Counter, Ticket, TicketItem, Person, ApiKey, IdempotencyKey, Setting, Contact,
                             Outbound, Page, ChatSession, Limit, Template, OutboxItem]
TTL_ATTRIBUTES = {IdempotencyKey: "expires_at", Outbound: "expires_at", ChatSession: "expires_at",
                  Limit: "expires_at", OutboxItem: "expires_at"}


# --- request-scoped cache -------------------------------------------------------
# Settings (policy, rota) and the team list are read several times while one
# request or sweep runs; they are cached for that unit of work only. Entry
# points call begin_unit() (the middleware and every schedule handler).

class _Unit(threading.local):
    def __init__(self):
        self.cache: dict = {}


_LOCAL = _Unit()


def begin_unit() -> None:
    _LOCAL.cache = {}


class _UnitProxy:
    """Dict-like view of the current thread's cache (one unit of work per thread)."""

    def __contains__(self, key):
        return key in _LOCAL.cache

    def __getitem__(self, key):
        return _LOCAL.cache[key]

    def __setitem__(self, key, value):
        _LOCAL.cache[key] = value

    def pop(self, key, default=None):
        return _LOCAL.cache.pop(key, default)


_UNIT = _UnitProxy()


# --- tables -------------------------------------------------------------------


def create_tables() -> None:
    """Create every table the app needs; idempotent."""
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


# --- cursors ------------------------------------------------------------------


def encode_cursor(last_key: dict | None) -> str | None:
    if not last_key:
        return None
    return base64.urlsafe_b64encode(json.dumps(last_key, sort_keys=True).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict | None:
    """Returns the LastEvaluatedKey, or raises ValueError for a forged cursor."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:  # noqa: BLE001 - any decoding problem is the caller's input
        raise ValueError("not a cursor returned by this API") from exc
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        raise ValueError("not a cursor returned by this API")
    return value


# --- counters -----------------------------------------------------------------


def next_number(name: str) -> int:
    """Atomically increments and returns the counter (ADD is race-free)."""
    counter = Counter(name=name)
    counter.update(actions=[Counter.value.add(1)])
    return int(counter.value)


# --- tickets ------------------------------------------------------------------


def get_ticket(ticket_id: int, consistent: bool = True) -> Ticket | None:
    try:
        return Ticket.get(ticket_id, consistent_read=consistent)
    except DoesNotExist:
        return None


def save_ticket(ticket: Ticket, items: Iterable[TicketItem] = (), new: bool = False,
                claim: str | None = None, now: datetime | None = None, extra: Iterable[Write] = ()) -> None:
    """Writes the ticket, its new items and `extra` writes in one transaction.

    The ticket write is conditional on its version (or on not existing yet):
    a concurrent writer makes this raise ConditionFailed, never lose data.
    With `claim` (a provider id), the same transaction claims it: a message
    Twilio delivers twice, or a retry after a crash, is written once
    (AlreadyDone); the claim remembers the ticket id. `extra` carries the
    effects of the change (outbox items, the page, the contact): they commit
    together or not at all.
    """
    writes: list[Write] = []
    if claim is not None:
        stamp = now or ticket.updated_at
        writes.append(Write("put", IdempotencyKey(key=claim, expires_at=stamp + timedelta(days=2), created_at=stamp,
                                                  result=str(ticket.id)),
                            IdempotencyKey.key.does_not_exist(), tag="claim"))
    writes.append(Write("put", ticket, Ticket.id.does_not_exist() if new else None, tag="ticket"))
    writes += [Write("put", item, TicketItem.sk.does_not_exist(), tag="item") for item in items]
    writes += list(extra)
    try:
        transact(writes)
    except ConditionFailed as exc:
        if "claim" in exc.tags:
            raise AlreadyDone(claim) from exc
        raise


# --- transactions ---------------------------------------------------------------

_log = logging.getLogger(__name__)
_RETRY_CODES = {"TransactionConflictException", "TransactionInProgressException", "ThrottlingException",
                "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError",
                "ServiceUnavailable"}
_RETRY_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
ATTEMPTS = 6


@dataclass
class Write:
    """One write of a transaction: put | update | delete | check, with its condition.

    ``tag`` names it in ConditionFailed.tags when its condition is what failed.
    """

    op: str
    model: Any
    condition: Any = None
    actions: list | None = None
    tag: str | None = None
    add_version_condition: bool = True


def transact(writes: list[Write]) -> None:
    """TransactWriteItems with retries on TransactionConflict and throttling (jittered).

    A failed condition is not retried: it is a fact for the caller (ConditionFailed).
    """
    # PynamoDB sends checks, deletes, puts, updates in that order: map reasons back to writes.
    order = [w for op in ("check", "delete", "put", "update") for w in writes if w.op == op]
    for attempt in range(ATTEMPTS):
        try:
            with TransactWrite(connection=_conn(Ticket)) as tx:
                for w in writes:
                    if w.op == "put":
                        tx.save(w.model, condition=w.condition)
                    elif w.op == "update":
                        tx.update(w.model, w.actions, condition=w.condition,
                                  add_version_condition=w.add_version_condition)
                    elif w.op == "delete":
                        tx.delete(w.model, condition=w.condition, add_version_condition=w.add_version_condition)
                    else:
                        model_cls = type(w.model)
                        tx.condition_check(model_cls, getattr(w.model, model_cls._hash_keyname),
                                           condition=w.condition)
            return
        except TransactWriteError as exc:
            reasons = list(getattr(exc, "cancellation_reasons", None) or [])
            failed = [order[i].tag for i, r in enumerate(reasons)
                      if r is not None and r.code == "ConditionalCheckFailed" and i < len(order)]
            if failed or _is_condition_failure(exc):
                raise ConditionFailed(str(exc), tags=failed) from exc
            if retryable(exc) and attempt < ATTEMPTS - 1:
                backoff(attempt)
                continue
            raise


def retryable(exc: Exception) -> bool:
    """TransactionConflict, throttling, a DynamoDB hiccup: the same write may simply be tried again."""
    code = getattr(exc, "cause_response_code", None)
    if code in _RETRY_CODES:
        return True
    if code == "TransactionCanceledException":
        reasons = [r for r in (getattr(exc, "cancellation_reasons", None) or []) if r is not None]
        return bool(reasons) and all(r.code in _RETRY_REASONS for r in reasons)
    return False


def backoff(attempt: int) -> None:
    """Full jitter, capped: 0–25 ms, 0–50 ms, ... (a Lambda has no time to lose)."""
    time.sleep(random.uniform(0, min(0.4, 0.025 * 2 ** attempt)))


def retrying(fn, *args, **kwargs):
    """Runs one single-item call, retrying conflicts and throttling."""
    for attempt in range(ATTEMPTS):
        try:
            return fn(*args, **kwargs)
        except PynamoDBException as exc:
            if retryable(exc) and attempt < ATTEMPTS - 1:
                backoff(attempt)
                continue
            raise


def ticket_items(ticket_id: int, prefix: str | None = None, after: str | None = None,
                 limit: int | None = None) -> list[TicketItem]:
    """Items of one ticket in sort-key order; one Query (paged by PynamoDB)."""
    cond = None
    if after is not None:
        cond = TicketItem.sk > after
        if prefix:
            cond = TicketItem.sk.between(after + "\x00", prefix + "\uffff")
    elif prefix:
        cond = TicketItem.sk.startswith(prefix)
    return list(TicketItem.query(ticket_id, range_key_condition=cond, limit=limit,
                                 consistent_read=True))


def query_tickets(*, status: str | None = None, owner: str | None = None,
                  tier: int | None = None, channel: str | None = None,
                  limit: int = 50, cursor: dict | None = None) -> tuple[list[Ticket], dict | None]:
    """Newest first, through the most selective GSI; other filters server-side."""
    filters = []
    if owner is not None:
        index, key = Ticket.by_owner, owner
        if status is not None:
            filters.append(Ticket.status == status)
    elif status is not None:
        index, key = Ticket.by_status, status
    else:
        index, key = Ticket.by_created, "ticket"
    if tier is not None:
        filters.append(Ticket.tier == tier)
    if channel is not None:
        filters.append(Ticket.channel == channel)
    cond = None
    for f in filters:
        cond = f if cond is None else cond & f
    result = index.query(key, filter_condition=cond, scan_index_forward=False,
                         limit=limit, last_evaluated_key=cursor)
    items = list(result)
    return items, result.last_evaluated_key


def latest_ticket_for_contact(contact_key: str) -> Ticket | None:
    """The newest ticket of a customer contact (GSI; may lag a write by ms)."""
    for t in Ticket.by_contact.query(contact_key, scan_index_forward=False, limit=1):
        return get_ticket(t.id)
    return None


def tickets_due(now: datetime, limit: int = 500) -> list[int]:
    """Ids of tickets whose tier deadline has passed (sparse GSI, keys only)."""
    return [t.id for t in Ticket.by_tier_due.query("due", range_key_condition=Ticket.tier_due_at <= now,
                                                   limit=limit)]


def open_tickets_of(owner: str) -> list[int]:
    return [t.id for t in Ticket.by_owner.query(owner, filter_condition=Ticket.status.is_in("open", "pending"))]


def count_open_by_owner(owner: str) -> int:
    return Ticket.by_owner.count(owner, filter_condition=Ticket.status.is_in("open", "pending"))


# --- people and keys ----------------------------------------------------------


def _key_ok(key: str) -> bool:
    """DynamoDB refuses empty or over-long key strings: such ids simply do not exist."""
    return isinstance(key, str) and 0 < len(key.encode()) <= 512


def get_person(person_id: str) -> Person | None:
    if not _key_ok(person_id):
        return None
    try:
        return Person.get(person_id, consistent_read=True)
    except DoesNotExist:
        return None


def person_by_phone(phone: str | None) -> Person | None:
    if not _key_ok(phone):
        return None
    for p in Person.by_phone.query(phone, limit=1):
        return p
    return None


def list_people(limit: int = 100, cursor: dict | None = None) -> tuple[list[Person], dict | None]:
    result = Person.all_people.query("person", limit=limit, last_evaluated_key=cursor)
    return list(result), result.last_evaluated_key


def all_people() -> list[Person]:
    if "people" not in _UNIT:
        _UNIT["people"] = list(Person.all_people.query("person"))
    return _UNIT["people"]


def create_person(person: Person, key: ApiKey) -> None:
    _UNIT.pop("people", None)
    transact([Write("put", person, Person.id.does_not_exist()), Write("put", key, ApiKey.key_hash.does_not_exist())])


def save_person(person: Person, key: ApiKey | None = None) -> None:
    """Conditional on the person's version; keeps the key's role in step."""
    _UNIT.pop("people", None)
    transact([Write("put", person)] + ([Write("put", key)] if key is not None else []))


def delete_person(person: Person) -> None:
    _UNIT.pop("people", None)
    transact([Write("delete", person)] + ([Write("delete", ApiKey(key_hash=person.key_hash))]
                                          if person.key_hash else []))


def get_api_key(key_hash: str) -> ApiKey | None:
    try:
        return ApiKey.get(key_hash)
    except DoesNotExist:
        return None


# --- settings -----------------------------------------------------------------


def get_setting(name: str) -> dict | None:
    key = f"setting#{name}"
    if key not in _UNIT:
        try:
            _UNIT[key] = Setting.get(name, consistent_read=True).data
        except DoesNotExist:
            _UNIT[key] = None
    return _UNIT[key]


def put_setting(name: str, data: dict, now: datetime) -> None:
    """Last writer wins for whole documents (admins replace policy/rota as a unit)."""
    Setting(name=name, data=data, updated_at=now).save(add_version_condition=False)
    _UNIT[f"setting#{name}"] = data


def change_setting(name: str, change, now: datetime, retries: int = 5) -> dict:
    """Read-modify-write of a setting, conditional on its version: concurrent
    changes (two admins adding overrides) both land."""
    for _ in range(retries):
        try:
            item = Setting.get(name, consistent_read=True)
        except DoesNotExist:
            item = Setting(name=name, data={}, updated_at=now)
        item.data = change(dict(item.data or {}))
        item.updated_at = now
        try:
            item.save()
            _UNIT[f"setting#{name}"] = item.data
            return item.data
        except PutError as exc:
            if not _is_condition_failure(exc):
                raise
    raise ConditionFailed(f"setting {name} is being changed by someone else")


# --- idempotency --------------------------------------------------------------


def claim(key: str, now: datetime, ttl: timedelta = timedelta(days=2)) -> bool:
    """Claims `key` once: True for the first caller, False for every retry."""
    item = IdempotencyKey(key=key, expires_at=now + ttl, created_at=now)
    try:
        item.save(condition=IdempotencyKey.key.does_not_exist())
        return True
    except PutError as exc:
        if _is_condition_failure(exc):
            return False
        raise


def set_claim_result(key: str, result: str) -> None:
    IdempotencyKey(key=key).update(actions=[IdempotencyKey.result.set(result)])


def claim_result(key: str) -> str | None:
    try:
        return IdempotencyKey.get(key, consistent_read=True).result
    except DoesNotExist:
        return None


def claim_state(key: str) -> IdempotencyKey | None:
    try:
        return IdempotencyKey.get(key, consistent_read=True)
    except DoesNotExist:
        return None


def take_over(item: IdempotencyKey, now: datetime) -> bool:
    """Takes over a claim whose holder died (conditional: one retry wins)."""
    try:
        item.update(actions=[IdempotencyKey.created_at.set(now)],
                    condition=(IdempotencyKey.created_at == item.created_at) & IdempotencyKey.result.does_not_exist())
        return True
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return False
        raise


def claim_exists(key: str) -> bool:
    try:
        IdempotencyKey.get(key, consistent_read=True)
        return True
    except DoesNotExist:
        return False


def release(key: str) -> None:
    """Gives a claim back (the work it guarded failed and may be retried)."""
    try:
        IdempotencyKey(key=key).delete()
    except DeleteError:
        pass


# --- contacts ------------------------------------------------------------------


def get_contact(phone: str) -> Contact:
    """The contact item (consistent read); a fresh unsaved one for a new number."""
    try:
        return Contact.get(phone, consistent_read=True)
    except DoesNotExist:
        return Contact(phone=phone)


def save_contact(contact: Contact) -> None:
    try:
        contact.save()
    except PutError as exc:
        if _is_condition_failure(exc):
            raise ConditionFailed(str(exc)) from exc
        raise


# --- outbound delivery status -------------------------------------------------

STATUS_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2, "receiving": 2, "received": 3,
               "delivered": 3, "read": 4, "undelivered": 5, "failed": 5, "canceled": 5}


def record_outbound(sid: str, kind: str, now: datetime, **refs) -> None:
    Outbound(sid=sid, kind=kind, created_at=now, updated_at=now, expires_at=now + timedelta(days=90),
             **{k: v for k, v in refs.items() if v is not None}).save()


def advance_outbound(sid: str, status: str, now: datetime) -> Outbound | None:
    """Moves the status forward only; returns the item if it moved, else None.

    A late 'sent' after 'failed' (multi-part SMS callbacks arrive out of order)
    is ignored by the condition, not by luck.
    """
    rank = STATUS_RANK.get(status)
    if rank is None:
        return None
    item = Outbound(sid=sid)
    try:
        item.update(actions=[Outbound.status.set(status), Outbound.rank.set(rank), Outbound.updated_at.set(now)],
                    condition=Outbound.sid.exists() & (Outbound.rank < rank))
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return None
        raise
    return item


# --- pages --------------------------------------------------------------------


def get_page(page_id: str | None) -> Page | None:
    if not page_id or not _key_ok(page_id):
        return None
    try:
        return Page.get(page_id, consistent_read=True)
    except DoesNotExist:
        return None


def page_open_write(page: Page) -> Write:
    return Write("put", page, Page.id.does_not_exist(), tag="page")


def page_step_write(page: Page, old_key: str | None) -> Write:
    """The page's next step, only if nobody took a step or acknowledged meanwhile."""
    cond = (Page.status == "open") & (Page.key == old_key if old_key else Page.key.does_not_exist())
    return Write("put", page, cond, tag="page")


def ticket_still_paging(ticket_id: int, since: datetime) -> Write:
    """A check in the step's transaction: the ticket is open and nobody acknowledged since `since`."""
    return Write("check", Ticket(id=ticket_id), tag="ticket",
                 condition=Ticket.status.is_in("open", "pending")
                 & (Ticket.acked_at.does_not_exist() | (Ticket.acked_at < since)))


def page_sent_write(page_id: str, page_key: str, sent_at: datetime, due_at: datetime) -> Write:
    """The step's contact went out: its acknowledgement clock starts now."""
    return Write("update", Page(id=page_id), (Page.status == "open") & (Page.key == page_key), tag="page",
                 actions=[Page.sent_at.set(sent_at), Page.due_at.set(due_at), Page.due_pk.set("due"),
                          Page.updated_at.set(sent_at)])


def update_page(page_id: str, actions: list, condition) -> bool:
    """One conditional change to a page; False when the condition no longer holds."""
    try:
        retrying(Page(id=page_id).update, actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return False
        raise


def end_page(page_id: str | None, status: str, now: datetime, acked_by: str | None = None) -> bool:
    """acked | cancelled | exhausted: out of the due index (only from open)."""
    if not page_id:
        return False
    actions = [Page.status.set(status), Page.due_pk.remove(), Page.due_at.remove(), Page.updated_at.set(now)]
    if acked_by:
        actions.append(Page.acked_by.set(acked_by))
    return update_page(page_id, actions, Page.id.exists() & (Page.status == "open"))


def nudge_page(page_id: str, page_key: str | None, now: datetime) -> None:
    """The current step of the page failed for good: make it due now (only if still current)."""
    update_page(page_id, [Page.due_pk.set("due"), Page.due_at.set(now), Page.failures.add(1),
                          Page.sent_at.set(now), Page.updated_at.set(now)],
                Page.id.exists() & (Page.status == "open") & (Page.key == page_key))


def postpone_page(page_id: str, page_key: str, until: datetime, now: datetime) -> None:
    update_page(page_id, [Page.due_at.set(until), Page.updated_at.set(now)],
                Page.id.exists() & (Page.status == "open") & (Page.key == page_key))


def budget_write(key: str, limit: int, now: datetime, window: timedelta) -> Write:
    """One unit of a fixed-window budget, inside a transaction (tag "budget" when it is spent)."""
    seconds = int(window.total_seconds())
    slot = int(now.timestamp()) // seconds
    return Write("update", Limit(key=f"{key}#{slot}"), Limit.count.does_not_exist() | (Limit.count < limit),
                 actions=[Limit.count.add(1), Limit.expires_at.set(now + 2 * window)], tag="budget")


def loose_event(ticket_id: int, type_: str, now: datetime, **data) -> TicketItem:
    """An event written without the ticket (a sweep's step, a send): keyed by time, not by the
    ticket's sequence, so it needs no read of the ticket. Histories sort events by time."""
    data = {k: v for k, v in data.items() if v is not None}
    return TicketItem(ticket_id=ticket_id, sk=f"evt#{now.strftime('%Y%m%dT%H%M%S%f')}#{secrets.token_hex(3)}",
                      kind="event", at=now, type=type_, actor="system", data=data or None,
                      month=now.strftime("%Y-%m"))


def event_write(item: TicketItem) -> Write:
    return Write("put", item, TicketItem.sk.does_not_exist(), tag="item")


def due_pages(now: datetime, limit: int = 100) -> list[Page]:
    """Pages whose next step is due: a Query on the sparse due-time GSI, no Scan."""
    return list(Page.by_due.query("due", range_key_condition=Page.due_at <= now, limit=limit))


# --- outbox -------------------------------------------------------------------

OUTBOX_RETENTION = timedelta(days=90)


def outbox_put(item: OutboxItem) -> Write:
    """The write that adds an outbox item to a transaction (once per id)."""
    item.due_pk = item.due_pk or "due"
    return Write("put", item, OutboxItem.id.does_not_exist(), tag="outbox")


def get_outbox(item_id: str) -> OutboxItem | None:
    if not _key_ok(item_id):
        return None
    try:
        return OutboxItem.get(item_id, consistent_read=True)
    except DoesNotExist:
        return None


def lease_outbox(item_id: str, now: datetime, lease: timedelta) -> OutboxItem | None:
    """Claims a due item (or one whose lease ran out) for one sender; None when it is not ours."""
    item = OutboxItem(id=item_id)
    free = (((OutboxItem.status == "due") & (OutboxItem.due_at <= now))
            | ((OutboxItem.status == "sending") & (OutboxItem.lease_until <= now)))
    try:
        retrying(item.update, actions=[
            OutboxItem.status.set("sending"), OutboxItem.lease_until.set(now + lease),
            OutboxItem.attempts.add(1), OutboxItem.due_pk.set("due"), OutboxItem.due_at.set(now + lease),
            OutboxItem.updated_at.set(now)], condition=OutboxItem.id.exists() & free)
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return None
        raise
    return item


def _ours(item: OutboxItem):
    return (OutboxItem.status == "sending") & (OutboxItem.lease_until == item.lease_until)


def outbox_sent_writes(item: OutboxItem, sid: str, now: datetime) -> list[Write]:
    """The item went out: its sid, and the sid → item mapping status callbacks use."""
    return [
        Write("update", item, _ours(item), tag="outbox", actions=[
            OutboxItem.status.set("sent"), OutboxItem.sid.set(sid), OutboxItem.sent_at.set(now),
            OutboxItem.due_pk.remove(), OutboxItem.due_at.remove(), OutboxItem.lease_until.remove(),
            OutboxItem.error.remove(), OutboxItem.updated_at.set(now),
            OutboxItem.expires_at.set(now + OUTBOX_RETENTION)]),
        Write("put", Outbound(sid=sid, kind=item.kind, created_at=now, updated_at=now,
                              expires_at=now + OUTBOX_RETENTION, ticket_id=item.ticket_id, page_id=item.page_id,
                              page_key=item.page_key, outbox_id=item.id, person_id=item.person_id)),
    ]


def outbox_end_writes(item: OutboxItem, status: str, now: datetime, error: str | None) -> list[Write]:
    """dead or cancelled: out of the due index, kept for the record until TTL."""
    actions = [OutboxItem.status.set(status), OutboxItem.due_pk.remove(), OutboxItem.due_at.remove(),
               OutboxItem.lease_until.remove(), OutboxItem.updated_at.set(now),
               OutboxItem.expires_at.set(now + OUTBOX_RETENTION)]
    if error:
        actions.append(OutboxItem.error.set(error[:300]))
    return [Write("update", item, _ours(item), tag="outbox", actions=actions)]


def outbox_retry_later(item: OutboxItem, when: datetime, now: datetime, error: str) -> None:
    """A failed attempt: due again at `when` (the lease is given back)."""
    try:
        retrying(item.update, actions=[
            OutboxItem.status.set("due"), OutboxItem.due_pk.set("due"), OutboxItem.due_at.set(when),
            OutboxItem.lease_until.remove(), OutboxItem.error.set(error[:300]), OutboxItem.updated_at.set(now),
            OutboxItem.failures.add(1)],
            condition=_ours(item))
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise


def outbox_due(now: datetime, limit: int = 200) -> list[str]:
    """Ids of items to send now (due, or leased by a sender that died): one Query, no Scan."""
    return [i.id for i in OutboxItem.by_due.query("due", range_key_condition=OutboxItem.due_at <= now,
                                                  limit=limit)]


def new_item(ticket: Ticket, kind: str, now: datetime, **attrs) -> TicketItem:
    """The ticket's next message or event (sequence number under the ticket's version)."""
    ticket.seq = (ticket.seq or 0) + 1
    prefix = "msg" if kind == "message" else "evt"
    item = TicketItem(ticket_id=ticket.id, sk=f"{prefix}#{ticket.seq:09d}", kind=kind, at=now, **attrs)
    if kind == "event":
        item.month = now.strftime("%Y-%m")
    return item


def new_event(ticket: Ticket, type_: str, actor_id: str, now: datetime, **data) -> TicketItem:
    data = {k: v for k, v in data.items() if v is not None}
    return new_item(ticket, "event", now, type=type_, actor=actor_id, data=data or None)


def commit_with_ticket(ticket_id: int, now: datetime, build, attempts: int = 5) -> Ticket | None:
    """Re-reads the ticket and commits `build(ticket) -> (items, writes)` with it, retrying
    when the ticket moved meanwhile. None when the ticket is gone. A failed condition on
    any other write (tag other than "ticket") is raised to the caller."""
    for _ in range(attempts):
        ticket = get_ticket(ticket_id)
        if ticket is None:
            return None
        items, writes = build(ticket)
        ticket.updated_at = now
        try:
            save_ticket(ticket, items, extra=writes)
            return ticket
        except ConditionFailed as exc:
            if exc.tags - {"ticket"}:
                raise
    raise ConditionFailed(f"ticket {ticket_id} kept changing", tags={"ticket"})


# --- chat sessions and rate limits --------------------------------------------


def create_chat_session(session: ChatSession) -> None:
    session.save(condition=ChatSession.id.does_not_exist())


def get_chat_session(session_id: str, now: datetime) -> ChatSession | None:
    """The session, unless missing or expired (TTL deletes lazily: filter on read)."""
    if not _key_ok(session_id):
        return None
    try:
        session = ChatSession.get(session_id, consistent_read=True)
    except DoesNotExist:
        return None
    return session if session.expires_at > now else None


def spend(key: str, limit: int, now: datetime, window: timedelta) -> bool:
    """Takes one unit of `key`'s budget for the current window; False when it is gone."""
    seconds = int(window.total_seconds())
    slot = int(now.timestamp()) // seconds
    item = Limit(key=f"{key}#{slot}")
    try:
        item.update(actions=[Limit.count.add(1), Limit.expires_at.set(now + 2 * window)],
                    condition=Limit.count.does_not_exist() | (Limit.count < limit))
        return True
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return False
        raise


# --- templates ------------------------------------------------------------------


def all_templates() -> list[Template]:
    if "templates" not in _UNIT:
        _UNIT["templates"] = list(Template.all_templates.query("template"))
    return _UNIT["templates"]


def get_template(template_id: str) -> Template | None:
    if not _key_ok(template_id):
        return None
    try:
        return Template.get(template_id, consistent_read=True)
    except DoesNotExist:
        return None


def save_template(template: Template, new: bool = False) -> None:
    _UNIT.pop("templates", None)
    try:
        template.save(condition=Template.id.does_not_exist() if new else None)
    except PutError as exc:
        if _is_condition_failure(exc):
            raise ConditionFailed(str(exc)) from exc
        raise


def delete_template(template: Template) -> None:
    _UNIT.pop("templates", None)
    template.delete()


def month_events(month: str) -> list[TicketItem]:
    """Every event of a month, in time order: Queries on the by_month GSI, no Scan."""
    return list(TicketItem.by_month.query(month))


def get_tickets(ids: list[int]) -> dict[int, Ticket]:
    out: dict[int, Ticket] = {}
    for start in range(0, len(ids), 100):
        for t in Ticket.batch_get(ids[start:start + 100]):
            out[t.id] = t
    return out


# --- helpers ------------------------------------------------------------------


_CONNECTIONS: dict[tuple, Connection] = {}


def _conn(model: type[Model]) -> Connection:
    """One cached Connection (and botocore client) per endpoint, for transactions."""
    key = (model.Meta.region, model.Meta.host)
    if key not in _CONNECTIONS:
        _CONNECTIONS[key] = Connection(region=model.Meta.region, host=model.Meta.host)
    return _CONNECTIONS[key]


def _is_condition_failure(exc: Exception) -> bool:
    code = getattr(exc, "cause_response_code", None)
    if code in ("ConditionalCheckFailedException",):
        return True
    if code == "TransactionCanceledException":
        reasons = getattr(exc, "cancellation_reasons", None) or []
        return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)
    return False


