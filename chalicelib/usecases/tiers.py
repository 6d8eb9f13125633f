"""Support tiers: one owner at a time, and the 20-hour rule.

A ticket sits in a tier with a deadline (entered tier + sla_hours). The
deadline lives in the sparse ``tier_due_*`` attributes, present only while
the clock runs, so the sweep queries what is due, never the whole table.
Pending and resolved stop the clock; a customer reply restarts it with the
time that was left.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib import config, expectations, settings, store
from chalicelib.settings import DEFAULT_POLICY, DEFAULT_SLA_HOURS  # noqa: F401 - re-exported

DUE_PK = "due"
QUIET_PK = "quiet"  # an empty chat: the sweep closes it when its session ends
UP_FOR_GRABS = "up-for-grabs"
policy = settings.policy


def top_tier(pol: dict | None = None) -> int:
    pol = pol or policy()
    return max(t["tier"] for t in pol["tiers"])


def tier_policy(tier: int, pol: dict | None = None) -> dict:
    pol = pol or policy()
    for t in pol["tiers"]:
        if t["tier"] == tier:
            return t
    return {"tier": tier, "sla_hours": DEFAULT_SLA_HOURS}


def sla(tier: int, pol: dict | None = None) -> timedelta:
    return timedelta(hours=tier_policy(tier, pol).get("sla_hours", DEFAULT_SLA_HOURS))


# --- business-hours clocks (DST-correct: walk local days, convert each edge) -----


def _business_windows(start: datetime, zone: ZoneInfo):
    """Yields (open, close) UTC instants of business hours from start's local day on."""
    days, opens, closes = expectations._hours()
    day = start.astimezone(zone).date()
    for _ in range(3660):
        if day.weekday() in days:
            yield (datetime.combine(day, opens, tzinfo=zone).astimezone(start.tzinfo),
                   datetime.combine(day, closes, tzinfo=zone).astimezone(start.tzinfo))
        day += timedelta(days=1)


def add_business_time(start: datetime, amount: timedelta, zone: ZoneInfo) -> datetime:
    """The instant when `amount` of business time has passed since `start`."""
    left = amount
    for opens, closes in _business_windows(start, zone):
        begin = max(opens, start)
        if begin >= closes:
            continue
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    raise ValueError("business hours never add up: check BUSINESS_HOURS")


def business_time_between(a: datetime, b: datetime, zone: ZoneInfo) -> timedelta:
    total = timedelta()
    if b <= a:
        return total
    for opens, closes in _business_windows(a, zone):
        if opens >= b:
            break
        begin, end = max(opens, a), min(closes, b)
        if end > begin:
            total += end - begin
    return total


def _zone(tp: dict) -> ZoneInfo:
    return ZoneInfo(tp.get("timezone") or config.business_timezone())


def deadline(tier: int, start: datetime, remaining: timedelta | None = None) -> datetime:
    tp = tier_policy(tier)
    amount = remaining if remaining is not None else timedelta(hours=tp.get("sla_hours", DEFAULT_SLA_HOURS))
    if tp.get("clock") == "business":
        return add_business_time(start, amount, _zone(tp))
    return start + amount


def time_left(tier: int, now: datetime, due: datetime) -> timedelta:
    tp = tier_policy(tier)
    if tp.get("clock") == "business":
        return business_time_between(now, due, _zone(tp))
    return max(timedelta(), due - now)


def pick_owner(candidates: list[tuple[str, int]]) -> str | None:
    """The candidate with the fewest open tickets; ties go to the lowest id."""
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[1], c[0]))[0]


def choose_owner(tier: int, *, priority: str, now: datetime) -> str:
    """Owner for a ticket entering `tier`: out of hours an urgent tier-1 ticket goes
    to the phone's holder; else the tier member with the fewest open tickets;
    the placeholder when the tier is empty (never no owner)."""
    if tier == 1 and priority == "urgent" and not expectations.is_business_hours(now):
        rot = settings.current_rota()
        if rot is not None:
            return rot.holder_at(now)
    members = [p.id for p in store.all_people() if (p.tier or 1) == tier]
    counts = store.open_counts(members)
    return pick_owner([(pid, counts[pid]) for pid in members]) or UP_FOR_GRABS


def enter_tier(ticket: store.Ticket, tier: int, now: datetime) -> None:
    ticket.tier = tier
    ticket.tier_entered_at = now
    ticket.tier_remaining_seconds = None
    _start(ticket, now, None)


def _start(ticket: store.Ticket, now: datetime, remaining: timedelta | None) -> None:
    ticket.tier_due_pk = DUE_PK
    ticket.tier_due_at = deadline(ticket.tier, now, remaining)


def wait_for_first_message(ticket: store.Ticket, until: datetime) -> None:
    """A chat nobody wrote in yet: no tier clock (it pages nobody); closed quietly at `until`."""
    ticket.tier_due_pk = QUIET_PK
    ticket.tier_due_at = until
    ticket.tier_remaining_seconds = None


def stop_clock(ticket: store.Ticket, now: datetime) -> None:
    ticket.tier_due_pk = None
    ticket.tier_due_at = None
    ticket.tier_remaining_seconds = None


def pause_clock(ticket: store.Ticket, now: datetime) -> None:
    if ticket.tier_due_at is not None:
        ticket.tier_remaining_seconds = int(time_left(ticket.tier, now, ticket.tier_due_at).total_seconds())
    ticket.tier_due_pk = None
    ticket.tier_due_at = None


def resume_clock(ticket: store.Ticket, now: datetime) -> None:
    if ticket.tier_remaining_seconds is not None:
        _start(ticket, now, timedelta(seconds=ticket.tier_remaining_seconds))
        ticket.tier_remaining_seconds = None
    else:
        _start(ticket, now, None)
