"""Tickets, their messages and events, counters, contacts and idempotency claims."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone

from pynamodb.exceptions import (
    DeleteError,
    DoesNotExist,
    PutError,
    UpdateError,
)

from chalicelib.store._base import (
    AlreadyDone,
    ConditionFailed,
    Write,
    _is_condition_failure,
    transact,
)
from chalicelib.store.models import (
    Contact,
    Counter,
    IdempotencyKey,
    Ticket,
    TicketItem,
)

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
                claim: str | None = None, now: datetime | None = None, extra: Iterable[Write] = (),
                claim_result: str | None = None) -> None:
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
                                                  result=claim_result or str(ticket.id), ticket_id=ticket.id),
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


def tickets_due(now: datetime, limit: int = 500, pk: str = "due") -> list[int]:
    """Ids of tickets whose tier deadline (pk "due") or quiet end (pk "quiet") has passed
    (sparse GSI, keys only)."""
    return [t.id for t in Ticket.by_tier_due.query(pk, range_key_condition=Ticket.tier_due_at <= now,
                                                   limit=limit)]


def empty_chats_due(now: datetime, limit: int = 500) -> list[int]:
    """Chat tickets nobody wrote in whose session has ended (the same index, partition "quiet")."""
    return tickets_due(now, limit, pk="quiet")


def open_tickets_of(owner: str) -> list[int]:
    return [t.id for t in Ticket.by_owner.query(owner, filter_condition=Ticket.status.is_in("open", "pending"))]


def open_counts(person_ids: list[str]) -> dict[str, int]:
    """Open tickets per person, from counters kept in the ticket transactions: one BatchGetItem,
    however long the people's history (choosing an owner never reads tickets)."""
    keys = [f"open#{pid}" for pid in person_ids]
    out = {pid: 0 for pid in person_ids}
    if keys:
        for counter in Counter.batch_get(keys):
            out[counter.name[len("open#"):]] = max(0, int(counter.value or 0))
    return out


def open_count_write(person_id: str, delta: int) -> Write:
    return Write("update", Counter(name=f"open#{person_id}"), actions=[Counter.value.add(delta)])


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


def claim_write(key: str, now: datetime, ttl: timedelta = timedelta(days=2)) -> Write:
    """claim() as one write of a transaction (ConditionFailed tag "claim" when claimed before)."""
    return Write("put", IdempotencyKey(key=key, expires_at=now + ttl, created_at=now),
                 IdempotencyKey.key.does_not_exist(), tag="claim")


def set_claim_result(key: str, result: str) -> None:
    IdempotencyKey(key=key).update(actions=[IdempotencyKey.result.set(result)])


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


def loose_event(ticket_id: int, type_: str, now: datetime, **data) -> TicketItem:
    """An event written without the ticket (a sweep's step, a send): keyed by time, not by the
    ticket's sequence, so it needs no read of the ticket. Histories sort events by time."""
    data = {k: v for k, v in data.items() if v is not None}
    return TicketItem(ticket_id=ticket_id, sk=f"evt#{now.strftime('%Y%m%dT%H%M%S%f')}#{secrets.token_hex(3)}",
                      kind="event", at=now, type=type_, actor="system", data=data or None,
                      month=now.strftime("%Y-%m"))


def event_write(item: TicketItem) -> Write:
    return Write("put", item, TicketItem.sk.does_not_exist(), tag="item")


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


def events_between(start: datetime, end: datetime) -> list[TicketItem]:
    """Every event in [start, end): one Query per UTC month the window touches (by_month GSI, with
    a key condition on the time), no Scan. A local month reads its edge hours, not a whole month."""
    out: list[TicketItem] = []
    month = datetime(start.year, start.month, 1, tzinfo=timezone.utc)
    last = end - timedelta(microseconds=1)
    while month <= last:
        out += TicketItem.by_month.query(month.strftime("%Y-%m"), TicketItem.at.between(start, last))
        month = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=timezone.utc)
    return out


def get_tickets(ids: list[int]) -> dict[int, Ticket]:
    out: dict[int, Ticket] = {}
    for start in range(0, len(ids), 100):
        for t in Ticket.batch_get(ids[start:start + 100]):
            out[t.id] = t
    return out
