"""Support tiers: one owner at a time, and the 20-hour rule.

A ticket sits in a tier with a deadline (entered tier + sla_hours). The
deadline lives in the sparse ``tier_due_*`` attributes, present only while
the clock runs, so the sweep queries what is due, never the whole table.
Pending and resolved stop the clock; a customer reply restarts it with the
time that was left.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import store

DEFAULT_SLA_HOURS = 20
DEFAULT_POLICY = {
    "tiers": [{"tier": 1, "sla_hours": DEFAULT_SLA_HOURS},
              {"tier": 2, "sla_hours": DEFAULT_SLA_HOURS},
              {"tier": 3, "sla_hours": DEFAULT_SLA_HOURS}],
    "ack_timeout_minutes": 10,
}
DUE_PK = "due"


def policy() -> dict:
    return store.get_setting("policy") or DEFAULT_POLICY


def top_tier(pol: dict | None = None) -> int:
    pol = pol or policy()
    return max(t["tier"] for t in pol["tiers"])


def sla(tier: int, pol: dict | None = None) -> timedelta:
    pol = pol or policy()
    for t in pol["tiers"]:
        if t["tier"] == tier:
            return timedelta(hours=t.get("sla_hours", DEFAULT_SLA_HOURS))
    return timedelta(hours=DEFAULT_SLA_HOURS)


def pick_owner(candidates: list[tuple[str, int]]) -> str | None:
    """The candidate with the fewest open tickets; ties go to the lowest id."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[1], c[0]))[0]


def choose_owner(tier: int, *, priority: str, now: datetime) -> str:
    """Owner for a ticket entering `tier`; the placeholder when nobody is there."""
    from chalicelib.tickets import UP_FOR_GRABS

    members = [p.id for p in store.all_people() if (p.tier or 1) == tier]
    candidates = [(pid, store.count_open_by_owner(pid)) for pid in members]
    return pick_owner(candidates) or UP_FOR_GRABS


def enter_tier(ticket: store.Ticket, tier: int, now: datetime) -> None:
    ticket.tier = tier
    ticket.tier_entered_at = now
    ticket.tier_remaining_seconds = None
    _start(ticket, now, sla(tier))


def _start(ticket: store.Ticket, now: datetime, remaining: timedelta) -> None:
    ticket.tier_due_pk = DUE_PK
    ticket.tier_due_at = now + remaining


def stop_clock(ticket: store.Ticket, now: datetime) -> None:
    ticket.tier_due_pk = None
    ticket.tier_due_at = None
    ticket.tier_remaining_seconds = None


def pause_clock(ticket: store.Ticket, now: datetime) -> None:
    if ticket.tier_due_at is not None:
        ticket.tier_remaining_seconds = max(0, int((ticket.tier_due_at - now).total_seconds()))
    ticket.tier_due_pk = None
    ticket.tier_due_at = None


def resume_clock(ticket: store.Ticket, now: datetime) -> None:
    if ticket.tier_remaining_seconds is not None:
        _start(ticket, now, timedelta(seconds=ticket.tier_remaining_seconds))
        ticket.tier_remaining_seconds = None
    else:
        _start(ticket, now, sla(ticket.tier))
