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
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

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
    TransactWriteError,
    UpdateError,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import config


class ConditionFailed(Exception):
    """A conditional write lost a race (someone else wrote first)."""


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
    """One page per ticket: an outbox item walked primary → backup → leads."""

    Meta = _Meta("pages")
    id = UnicodeAttribute(hash_key=True)  # "t<ticket id>"
    ticket_id = NumberAttribute()
    status = UnicodeAttribute(default="open")  # open | acked | exhausted | cancelled
    step = NumberAttribute(default=0)  # index into the chain
    chain = JSONAttribute()  # [{"person_id", "role"}], fixed when the page opens
    attempt = UnicodeAttribute(default="sms")  # sms | call: the contact made at this step
    sent = BooleanAttribute(default=False)  # this step's contact went out
    failures = NumberAttribute(default=0)
    reason = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    due_pk = UnicodeAttribute(null=True)
    due_at = UTCDateTimeAttribute(null=True)
    acked_by = UnicodeAttribute(null=True)
    version = VersionAttribute()

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


MODELS: list[type[Model]] = [Counter, Ticket, TicketItem, Person, ApiKey, IdempotencyKey, Setting, Contact,
                             Outbound, Page, ChatSession, Limit, Template]
TTL_ATTRIBUTES = {IdempotencyKey: "expires_at", Outbound: "expires_at", ChatSession: "expires_at",
                  Limit: "expires_at"}


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
                claim: str | None = None, now: datetime | None = None) -> None:
    """Writes the ticket and its new items in one transaction.

    The ticket write is conditional on its version (or on not existing yet):
    a concurrent writer makes this raise ConditionFailed, never lose data.
    With `claim` (a provider id), the same transaction claims it: a message
    Twilio delivers twice, or a retry after a crash, is written once
    (AlreadyDone); the claim remembers the ticket id.
    """
    items = list(items)
    try:
        with TransactWrite(connection=_conn(Ticket)) as tx:
            if claim is not None:  # first in the transaction: its cancellation reason is index 0
                tx.save(IdempotencyKey(key=claim, expires_at=(now or ticket.updated_at) + timedelta(days=2),
                                       created_at=now or ticket.updated_at, result=str(ticket.id)),
                        condition=IdempotencyKey.key.does_not_exist())
            if new:
                tx.save(ticket, condition=Ticket.id.does_not_exist())
            else:
                tx.save(ticket)
            for item in items:
                tx.save(item, condition=TicketItem.sk.does_not_exist())
    except TransactWriteError as exc:
        reasons = getattr(exc, "cancellation_reasons", None) or []
        if claim is not None and reasons and reasons[0] is not None and reasons[0].code == "ConditionalCheckFailed":
            raise AlreadyDone(claim) from exc
        if _is_condition_failure(exc):
            raise ConditionFailed(str(exc)) from exc
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
    with TransactWrite(connection=_conn(Person)) as tx:
        tx.save(person, condition=Person.id.does_not_exist())
        tx.save(key, condition=ApiKey.key_hash.does_not_exist())


def save_person(person: Person, key: ApiKey | None = None) -> None:
    """Conditional on the person's version; keeps the key's role in step."""
    _UNIT.pop("people", None)
    try:
        with TransactWrite(connection=_conn(Person)) as tx:
            tx.save(person)
            if key is not None:
                tx.save(key)
    except TransactWriteError as exc:
        if _is_condition_failure(exc):
            raise ConditionFailed(str(exc)) from exc
        raise


def delete_person(person: Person) -> None:
    _UNIT.pop("people", None)
    with TransactWrite(connection=_conn(Person)) as tx:
        tx.delete(person)
        if person.key_hash:
            tx.delete(ApiKey(key_hash=person.key_hash))


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


def get_page(page_id: str) -> Page | None:
    try:
        return Page.get(page_id, consistent_read=True)
    except DoesNotExist:
        return None


def create_page(page: Page) -> bool:
    """One page per ticket: False when the ticket already has one."""
    try:
        page.save(condition=Page.id.does_not_exist())
        return True
    except PutError as exc:
        if _is_condition_failure(exc):
            return False
        raise


def save_page(page: Page) -> None:
    """Conditional on the page's version: two sweeps never both take a step."""
    try:
        page.save()
    except PutError as exc:
        if _is_condition_failure(exc):
            raise ConditionFailed(str(exc)) from exc
        raise


def due_pages(now: datetime, limit: int = 100) -> list[Page]:
    """Pages whose next step is due: a Query on the sparse due-time GSI, no Scan."""
    return list(Page.by_due.query("due", range_key_condition=Page.due_at <= now, limit=limit))


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


