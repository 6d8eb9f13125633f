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

from chalicelib.domain.claims import Claim
from chalicelib.domain.tickets import ACTIVE, QUIET_CLOCK, TIER_CLOCK, Change, Event, Message, counter_deltas
from chalicelib.domain.tickets import Ticket as DomainTicket
from chalicelib.store._base import (
    AlreadyDone,
    ConditionFailed,
    Write,
    _is_condition_failure,
    _key_ok,
    transact,
)
from chalicelib.store.models import (
    Counter,
    IdempotencyKey,
    Ticket,
    TicketItem,
)

# --- tickets: the domain's Ticket in, the domain's Ticket out ------------------------

# The domain's clock → the sparse due-time index's partition (absent: the clock is stopped).
_DUE_PK = {TIER_CLOCK: "due", QUIET_CLOCK: "quiet"}
_CLOCK = {v: k for k, v in _DUE_PK.items()}
_SAME = ("id", "status", "channel", "priority", "tier", "owner", "customer_name", "customer_contact",
         "customer_timezone", "language",
         "contact_key", "subject", "created_at", "updated_at", "tier_entered_at", "tier_due_at",
         "acked_at", "acked_by", "resolved_at", "resolved_by", "opened_by", "survey_state",
         "survey_expires_at", "survey_answer", "survey_comment", "awaiting_confirmation", "page_id",
         "last_author", "last_text", "agent_at")
_COUNTS = ("tier", "reopen_count", "pages", "seq", "tier_remaining_seconds", "version")


def _ticket(m: Ticket) -> DomainTicket:
    values = {f: getattr(m, f) for f in _SAME}
    for f in _COUNTS:
        v = getattr(m, f)
        values[f] = int(v) if v is not None else None
    values["reopen_count"] = values["reopen_count"] or 0
    values["pages"] = values["pages"] or 0
    values["seq"] = values["seq"] or 0
    values["clock"] = _CLOCK.get(m.tier_due_pk)
    return DomainTicket(**values)


def _ticket_model(t: DomainTicket) -> Ticket:
    m = Ticket(**{f: getattr(t, f) for f in _SAME}, reopen_count=t.reopen_count, pages=t.pages, seq=t.seq,
               tier_remaining_seconds=t.tier_remaining_seconds, tier_due_pk=_DUE_PK.get(t.clock))
    if t.version is not None:
        m.version = t.version  # the save is conditional on it (PynamoDB's VersionAttribute)
    return m


def _item(m: TicketItem) -> Message | Event:
    if m.kind == "message":
        return Message(m.sk, m.author, m.text or "", m.at, author_name=m.author_name, channel=m.channel,
                       media=tuple(m.media) if m.media else None,
                       provider_id=(m.data or {}).get("provider_id"), ticket_id=int(m.ticket_id))
    return Event(m.sk, m.type, m.actor, m.at, data=m.data, ticket_id=int(m.ticket_id))


def _item_model(ticket_id: int, i: Message | Event) -> TicketItem:
    if type(i) is Message:
        return TicketItem(ticket_id=ticket_id, sk=i.id, kind="message", at=i.at, author=i.author,
                          author_name=i.author_name, text=i.text, channel=i.channel,
                          media=list(i.media) if i.media else None,
                          data={"provider_id": i.provider_id} if i.provider_id else None)
    return TicketItem(ticket_id=ticket_id, sk=i.id, kind="event", at=i.at, type=i.type, actor=i.actor,
                      data=i.data or None, month=i.at.strftime("%Y-%m"))


def next_number(name: str) -> int:
    """Atomically increments and returns the counter (ADD is race-free)."""
    counter = Counter(name=name)
    counter.update(actions=[Counter.value.add(1)])
    return int(counter.value)


def get_ticket(ticket_id: int, consistent: bool = True) -> DomainTicket | None:
    try:
        return _ticket(Ticket.get(ticket_id, consistent_read=consistent))
    except DoesNotExist:
        return None


def change_writes(change: Change, *, before: DomainTicket | None) -> list[Write]:
    """A ticket's change as writes for a caller's transaction (a sweep's step): the ticket,
    conditional on the version `before` was read at, its new items and the owners' counters."""
    ticket = change.ticket
    writes = [Write("put", _ticket_model(ticket), Ticket.id.does_not_exist() if before is None else None, tag="ticket")]
    writes += [Write("put", _item_model(ticket.id, i), TicketItem.sk.does_not_exist(), tag="item")
               for i in change.items]
    writes += [open_count_write(pid, d) for pid, d in counter_deltas(before, ticket).items()]
    return writes


def save_ticket(change: Change, *, before: DomainTicket | None, claim: str | None = None,
                now: datetime | None = None, extra: Iterable[Write] = (),
                claim_result: str | None = None) -> DomainTicket:
    """Commits a ticket's change — the ticket, its new history items, the owners' open-ticket
    counters and `extra` writes (the change's effects: outbox items, the page, the contact) — in
    one transaction, and returns the ticket as stored (its new version).

    The ticket write is conditional on the version it was read at (or, with no `before`, on not
    existing yet): a concurrent writer makes this raise ConditionFailed, never lose data. With
    `claim` (a provider id), the same transaction claims it: a message Twilio delivers twice, or a
    retry after a crash, is written once (AlreadyDone); the claim remembers the ticket id.
    """
    ticket = change.ticket
    writes: list[Write] = []
    if claim is not None:
        stamp = now or ticket.updated_at
        writes.append(Write("put", IdempotencyKey(key=claim, expires_at=stamp + timedelta(days=2), created_at=stamp,
                                                  result=claim_result or str(ticket.id), ticket_id=ticket.id),
                            IdempotencyKey.key.does_not_exist(), tag="claim"))
    writes += change_writes(change, before=before)
    writes += list(extra)
    try:
        transact(writes)
    except ConditionFailed as exc:
        if "claim" in exc.tags:
            raise AlreadyDone(claim) from exc
        raise
    return ticket.replace(version=(ticket.version or 0) + 1)


def ticket_items(ticket_id: int, prefix: str | None = None, after: str | None = None,
                 limit: int | None = None) -> list[Message | Event]:
    """Items of one ticket in sort-key order; one Query (paged by PynamoDB)."""
    cond = None
    if after is not None:
        cond = TicketItem.sk > after
        if prefix:
            cond = TicketItem.sk.between(after + "\x00", prefix + "\uffff")
    elif prefix:
        cond = TicketItem.sk.startswith(prefix)
    return [_item(m) for m in TicketItem.query(ticket_id, range_key_condition=cond, limit=limit,
                                               consistent_read=True)]


def ticket_items_newest(ticket_id: int, prefix: str, before: str | None,
                        limit: int) -> tuple[list[Message | Event], str | None]:
    """The newest `limit` items under `prefix` older than the sort key `before` (all when None), in
    sort-key order, and the sort key to page on when older ones remain (else None); one Query."""
    cond = TicketItem.sk.between(prefix, before) if before else TicketItem.sk.startswith(prefix)
    rows = [m for m in TicketItem.query(ticket_id, range_key_condition=cond, scan_index_forward=False,
                                        limit=limit + 2, consistent_read=True) if m.sk != before][:limit + 1]
    older = rows[limit - 1].sk if len(rows) > limit else None
    return [_item(m) for m in reversed(rows[:limit])], older


def query_tickets(*, status: str | None = None, owner: str | None = None,
                  tier: int | None = None, channel: str | None = None, priority: str | None = None,
                  limit: int = 50, cursor: dict | None = None) -> tuple[list[DomainTicket], dict | None]:
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
    if priority is not None:
        filters.append(Ticket.priority == priority)
    cond = None
    for f in filters:
        cond = f if cond is None else cond & f
    result = index.query(key, filter_condition=cond, scan_index_forward=False,
                         limit=limit, last_evaluated_key=cursor)
    items = [_ticket(m) for m in result]
    return items, result.last_evaluated_key


def tickets_of(contact_key: str, limit: int = 11) -> list[DomainTicket]:
    """A customer's tickets, newest first (the by_contact GSI: their history, never the table's)."""
    return [_ticket(m) for m in Ticket.by_contact.query(contact_key, scan_index_forward=False, limit=limit)]


def tickets_due(now: datetime, limit: int = 500, pk: str = "due") -> list[int]:
    """Ids of tickets whose tier deadline (pk "due") or quiet end (pk "quiet") has passed
    (sparse GSI, keys only)."""
    return [t.id for t in Ticket.by_tier_due.query(pk, range_key_condition=Ticket.tier_due_at <= now,
                                                   limit=limit)]


def empty_chats_due(now: datetime, limit: int = 500) -> list[int]:
    """Chat tickets nobody wrote in whose session has ended (the same index, partition "quiet")."""
    return tickets_due(now, limit, pk="quiet")


def open_tickets_of(owner: str) -> list[int]:
    return [t.id for t in Ticket.by_owner.query(owner, filter_condition=Ticket.status.is_in(*ACTIVE))]


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


def claim_result_write(key: str, result: str) -> Write:
    """set_claim_result() as one write of a transaction: the answer committed with the change it answers
    (a delivery that dies after the commit is replayed it, never redone)."""
    return Write("update", IdempotencyKey(key=key), tag="claim", actions=[IdempotencyKey.result.set(result)])


def set_claim_result(key: str, result: str, *, told: tuple[int, str, str] | None = None) -> None:
    """The answer a retry of this delivery gets. With `told` (ticket id, message id, text), the
    system message that answer carries is corrected in the same transaction: the conversation
    keeps the words the customer really read."""
    if told is None:
        IdempotencyKey(key=key).update(actions=[IdempotencyKey.result.set(result)])
        return
    ticket_id, message_id, text = told
    transact([Write("update", IdempotencyKey(key=key), tag="claim", actions=[IdempotencyKey.result.set(result)]),
              Write("update", TicketItem(ticket_id=ticket_id, sk=message_id), TicketItem.sk.exists(), tag="item",
                    actions=[TicketItem.text.set(text)])])


def claim_state(key: str) -> Claim | None:
    try:
        m = IdempotencyKey.get(key, consistent_read=True)
    except DoesNotExist:
        return None
    return Claim(m.key, m.created_at, m.result, int(m.ticket_id) if m.ticket_id is not None else None)


def take_over(item: Claim, now: datetime) -> bool:
    """Takes over a claim whose holder died (conditional: one retry wins)."""
    try:
        IdempotencyKey(key=item.key).update(actions=[IdempotencyKey.created_at.set(now)],
                    condition=(IdempotencyKey.created_at == item.created_at) & IdempotencyKey.result.does_not_exist())
        return True
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return False
        raise


def claims_existing(keys: list[str]) -> set[str]:
    """Which of `keys` are claimed: BatchGetItem, 100 keys a call, consistent (PynamoDB asks again
    for keys DynamoDB leaves unprocessed). A reconcile run over 285 sids: 3 calls, not 285."""
    keys = sorted({k for k in keys if _key_ok(k)})
    found: set[str] = set()
    for start in range(0, len(keys), 100):
        found |= {m.key for m in IdempotencyKey.batch_get(keys[start:start + 100], consistent_read=True,
                                                          attributes_to_get=["key"])}
    return found


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


def loose_event_write(ticket_id: int, type_: str, now: datetime, **data) -> Write:
    """An event written without the ticket (a sweep's step, a send): keyed by time, not by the
    ticket's sequence, so it needs no read of the ticket. Histories sort events by time."""
    data = {k: v for k, v in data.items() if v is not None}
    item = TicketItem(ticket_id=ticket_id, sk=f"evt#{now.strftime('%Y%m%dT%H%M%S%f')}#{secrets.token_hex(3)}",
                      kind="event", at=now, type=type_, actor="system", data=data or None,
                      month=now.strftime("%Y-%m"))
    return Write("put", item, TicketItem.sk.does_not_exist(), tag="item")


def events_between(start: datetime, end: datetime) -> list[Event]:
    """Every event in [start, end): one Query per UTC month the window touches (by_month GSI, with
    a key condition on the time), no Scan. A local month reads its edge hours, not a whole month."""
    out: list[TicketItem] = []
    month = datetime(start.year, start.month, 1, tzinfo=timezone.utc)
    last = end - timedelta(microseconds=1)
    while month <= last:
        out += [_item(m) for m in TicketItem.by_month.query(month.strftime("%Y-%m"),
                                                            TicketItem.at.between(start, last))]
        month = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=timezone.utc)
    return out


def get_tickets(ids: list[int]) -> dict[int, DomainTicket]:
    out: dict[int, DomainTicket] = {}
    for start in range(0, len(ids), 100):
        for m in Ticket.batch_get(ids[start:start + 100]):
            out[int(m.id)] = _ticket(m)
    return out
