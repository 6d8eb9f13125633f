"""An in-memory store: the part of chalicelib.store's interface the outbox use case needs.

Same function names and meanings (conditional writes, leases, transactions
that apply all or nothing and raise store.ConditionFailed naming what
failed), held in dicts. Use-case tests swap it in for the real store and run
with no DynamoDB at all. The models are the real classes, used as plain
data holders (building one touches no table).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from chalicelib.domain.outbox import Item
from chalicelib.domain.tickets import Ticket
from chalicelib.store._base import AlreadyDone, ConditionFailed  # noqa: F401 - the same exceptions
from chalicelib.store.delivery import _outbox, outbox_put
from chalicelib.store.models import Outbound, OutboxItem, Page, TicketItem

OUTBOX_RETENTION = timedelta(days=90)


@dataclass
class MemWrite:
    check: object  # () -> bool
    apply: object  # () -> None
    tag: str | None = None


class MemoryStore:
    ConditionFailed = ConditionFailed
    AlreadyDone = AlreadyDone
    OutboxItem = OutboxItem

    def __init__(self):
        self.outbox: dict[str, OutboxItem] = {}
        self.outbound: dict[str, Outbound] = {}
        self.tickets: dict[int, Ticket] = {}
        self.items: dict[tuple[int, str], TicketItem] = {}
        self.pages: dict[str, Page] = {}
        self.transactions = 0

    # --- transactions -------------------------------------------------------------

    def transact(self, writes: list[MemWrite]) -> None:
        failed = [w.tag for w in writes if not w.check()]
        if failed:
            raise ConditionFailed("condition failed", tags=failed)
        for w in writes:
            w.apply()
        self.transactions += 1

    # --- outbox ----------------------------------------------------------------------

    def outbox_put(self, item: Item) -> MemWrite:
        row = outbox_put(item).model  # the row the real store would write (with its due index key)
        return MemWrite(lambda: item.id not in self.outbox,
                        lambda: self.outbox.__setitem__(item.id, row), "outbox")

    def get_outbox(self, item_id: str) -> Item | None:
        item = self.outbox.get(item_id)
        return _outbox(item) if item else None

    def lease_outbox(self, item_id: str, now: datetime, lease: timedelta) -> Item | None:
        item = self.outbox.get(item_id)
        free = item is not None and (
            (item.status == "due" and item.due_at <= now)
            or (item.status == "sending" and item.lease_until <= now))
        if not free:
            return None
        item.status, item.lease_until = "sending", now + lease
        item.attempts = (item.attempts or 0) + 1
        item.due_pk, item.due_at, item.updated_at = "due", now + lease, now
        return _outbox(item)

    def _ours(self, item: Item):
        def check():
            stored = self.outbox.get(item.id)
            return stored is not None and stored.status == "sending" and stored.lease_until == item.lease_until
        return check

    def outbox_sent_writes(self, item: Item, sid: str, now: datetime) -> list[MemWrite]:
        def apply():
            stored = self.outbox[item.id]
            stored.status, stored.sid, stored.sent_at = "sent", sid, now
            stored.due_pk = stored.due_at = stored.lease_until = stored.error = None
            self.outbound[sid] = Outbound(sid=sid, kind=item.kind, created_at=now, updated_at=now,
                                          expires_at=now + OUTBOX_RETENTION, ticket_id=item.ticket_id,
                                          page_id=item.page_id, page_key=item.page_key, outbox_id=item.id)
        return [MemWrite(self._ours(item), apply, "outbox")]

    def outbox_end_writes(self, item: Item, status: str, now: datetime, error: str | None) -> list[MemWrite]:
        def apply():
            stored = self.outbox[item.id]
            stored.status, stored.error = status, (error or "")[:300] or stored.error
            stored.due_pk = stored.due_at = stored.lease_until = None
            if status == "dead":
                stored.dead_pk, stored.dead_at = "dead", now
        return [MemWrite(self._ours(item), apply, "outbox")]

    def outbox_retry_later(self, item: Item, when: datetime, now: datetime, error: str) -> None:
        if self._ours(item)():
            stored = self.outbox[item.id]
            stored.status, stored.due_pk, stored.due_at, stored.lease_until = "due", "due", when, None
            stored.error, stored.failures = error[:300], (stored.failures or 0) + 1

    def outbox_due(self, now: datetime, limit: int = 200) -> list[str]:
        due = sorted((i for i in self.outbox.values() if i.due_pk and i.due_at <= now), key=lambda i: i.due_at)
        return [i.id for i in due[:limit]]

    # --- tickets, events, pages -----------------------------------------------------

    def get_ticket(self, ticket_id: int) -> Ticket | None:
        return self.tickets.get(ticket_id)

    def loose_event_write(self, ticket_id: int, type_: str, now: datetime, **data) -> MemWrite:
        sk = f"evt#{now.strftime('%Y%m%dT%H%M%S%f')}#{len(self.items):06d}"
        item = TicketItem(ticket_id=ticket_id, sk=sk, kind="event", at=now, type=type_, actor="system",
                          data={k: v for k, v in data.items() if v is not None} or None)
        key = (item.ticket_id, item.sk)
        return MemWrite(lambda: key not in self.items, lambda: self.items.__setitem__(key, item), "item")

    def events(self, ticket_id: int) -> list[tuple[str, dict]]:
        return [(i.type, i.data or {}) for (t, _), i in sorted(self.items.items()) if t == ticket_id]

    def page_sent_write(self, page_id: str, page_key: str, sent_at: datetime, due_at: datetime) -> MemWrite:
        def check():
            page = self.pages.get(page_id)
            return page is not None and page.status == "open" and page.key == page_key

        def apply():
            page = self.pages[page_id]
            page.sent_at, page.due_at, page.due_pk = sent_at, due_at, "due"
        return MemWrite(check, apply, "page")

    def nudge_page(self, page_id: str, page_key: str | None, now: datetime) -> None:
        page = self.pages.get(page_id)
        if page is not None and page.status == "open" and page.key == page_key:
            page.due_pk, page.due_at, page.sent_at = "due", now, now
            page.failures = (page.failures or 0) + 1
