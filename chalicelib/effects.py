"""Effects gathered while a change is decided, committed with it, dispatched after.

A use case collects the outbox items (and other writes) a change causes in
an Effects; the ticket transaction commits them together with the change;
after the commit `dispatch()` tries to deliver at once. What does not go out
now stays due in the outbox for the sweep.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from chalicelib import outbox, store
from chalicelib.domain.outbox import Item
from chalicelib.logs import logger


class Effects:
    """A plain slotted class, not a dataclass: every webhook builds one (cold start)."""

    __slots__ = ("writes", "outbox_ids", "after_commit", "results", "paged", "newly_urgent", "reply_id",
                 "budget_person", "suppress", "told")

    def __init__(self) -> None:
        self.writes: list[store.Write] = []
        self.outbox_ids: list[str] = []
        self.after_commit: list[Callable[[datetime], None]] = []
        self.results: dict = {}
        self.paged = False  # the change opened a page (committed with it)
        self.newly_urgent = False
        self.reply_id: str | None = None  # the outbox item of a staff reply, if the channel sends one
        self.budget_person: str | None = None  # whose page budget the planned page spends
        self.suppress: set[str] = set()  # people whose page budget is spent (kept across retries)
        self.told: list[str] = []  # ids of the system messages this change stored (what the customer read)

    def reset(self) -> None:
        """A lost race: the change is decided again on fresh data, with fresh effects."""
        self.writes.clear()
        self.outbox_ids.clear()
        self.after_commit.clear()
        self.paged = False
        self.newly_urgent = False
        self.reply_id = None
        self.budget_person = None
        self.told = []

    def send(self, item: Item) -> str:
        self.writes.append(store.outbox_put(item))
        self.outbox_ids.append(item.id)
        return item.id

    def paged_now(self) -> bool:
        """True when a page contact of this change really went out (not merely queued)."""
        return any(r.status == "sent" and r.id.startswith("page#") for r in self.results.values())

    def dispatch(self, now: datetime) -> dict[str, outbox.Result]:
        for hook in list(self.after_commit):
            try:
                self.results.update(hook(now) or {})
            except Exception:  # noqa: BLE001 - a follow-up never undoes the committed change
                logger.exception("follow-up after commit failed")
        self.results.update(outbox.dispatch(list(self.outbox_ids), now))
        return self.results
