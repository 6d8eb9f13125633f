"""The ticket repository in memory: the same functions and meanings as ``store.tickets`` (a
commit is all or nothing, conditional on the version read; a claim makes it happen once; open
counters follow the owner), held in dicts. For use-case tests that need no DynamoDB; the
contract test (tests/test_ticket_repository.py) runs the same stories against both.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.tickets import Change, Event, Message, Ticket, counter_deltas
from chalicelib.store._base import AlreadyDone, ConditionFailed


class MemoryTickets:
    AlreadyDone = AlreadyDone
    ConditionFailed = ConditionFailed

    def __init__(self) -> None:
        self.tickets: dict[int, Ticket] = {}
        self.items: dict[int, dict[str, Message | Event]] = {}
        self.claims: dict[str, str] = {}
        self.counters: dict[str, int] = {}

    def next_number(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def get_ticket(self, ticket_id: int, consistent: bool = True) -> Ticket | None:
        return self.tickets.get(ticket_id)

    def save_ticket(self, change: Change, *, before: Ticket | None, claim: str | None = None,
                    now: datetime | None = None, extra=(), claim_result: str | None = None) -> Ticket:
        if extra:
            raise NotImplementedError("the memory repository holds tickets only: no other writes")
        ticket = change.ticket
        failed = []
        if claim is not None and claim in self.claims:
            raise AlreadyDone(claim)
        stored = self.tickets.get(ticket.id)
        if (before is None and stored is not None) or (before is not None and (
                stored is None or stored.version != ticket.version)):
            failed.append("ticket")
        history = self.items.get(ticket.id, {})
        if any(i.id in history for i in change.items):
            failed.append("item")
        if failed:
            raise ConditionFailed("condition failed", tags=failed)
        if claim is not None:
            self.claims[claim] = claim_result or str(ticket.id)
        saved = ticket.replace(version=(ticket.version or 0) + 1)
        self.tickets[ticket.id] = saved
        self.items.setdefault(ticket.id, {}).update(
            {i.id: i.replace(ticket_id=ticket.id) for i in change.items})
        for person, delta in counter_deltas(before, ticket).items():
            self.counters[f"open#{person}"] = self.counters.get(f"open#{person}", 0) + delta
        return saved

    def ticket_items(self, ticket_id: int, prefix: str | None = None, after: str | None = None,
                     limit: int | None = None) -> list[Message | Event]:
        items = [i for sk, i in sorted(self.items.get(ticket_id, {}).items())
                 if (prefix is None or sk.startswith(prefix)) and (after is None or sk > after)]
        return items[:limit] if limit else items

    def ticket_items_newest(self, ticket_id: int, prefix: str, before: str | None,
                            limit: int) -> tuple[list[Message | Event], str | None]:
        rows = [i for sk, i in sorted(self.items.get(ticket_id, {}).items())
                if sk.startswith(prefix) and (before is None or sk < before)]
        older = rows[-limit].id if len(rows) > limit else None
        return rows[-limit:], older

    def open_counts(self, person_ids: list[str]) -> dict[str, int]:
        return {pid: max(0, self.counters.get(f"open#{pid}", 0)) for pid in person_ids}

    def claims_existing(self, keys: list[str]) -> set[str]:
        return {k for k in keys if k in self.claims}

    def claim_exists(self, key: str) -> bool:
        return key in self.claims
