"""Support tiers as rules: deadlines, business time, the clock's pause and resume, who gets a ticket.

A ticket sits in a tier with a deadline (entered + the tier's ``sla_hours``, in wall-clock
or business time). Pending and resolved stop the clock; a customer's reply restarts it with
the time that was left. Everything here is pure: the policy and the business hours are
values passed in (``TierRules``), and so is ``now``.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib.domain.record import Record

DEFAULT_SLA_HOURS = 20
UP_FOR_GRABS = "up-for-grabs"  # the owner while a tier has nobody in it (never no owner)


class Hours(Record):
    """Business hours: weekdays (0 = Monday), opening and closing local times, their zone."""

    days: frozenset
    opens: time
    closes: time
    zone: ZoneInfo


def _windows(start: datetime, hours: Hours, zone: ZoneInfo):
    """(open, close) instants of business hours from start's local day on (DST-correct: each
    local day's edges are converted on their own)."""
    day = start.astimezone(zone).date()
    for _ in range(3660):
        if day.weekday() in hours.days:
            yield (datetime.combine(day, hours.opens, tzinfo=zone).astimezone(start.tzinfo),
                   datetime.combine(day, hours.closes, tzinfo=zone).astimezone(start.tzinfo))
        day += timedelta(days=1)


def add_business_time(start: datetime, amount: timedelta, hours: Hours, zone: ZoneInfo | None = None) -> datetime:
    """The instant when `amount` of business time has passed since `start`."""
    left = amount
    for opens, closes in _windows(start, hours, zone or hours.zone):
        begin = max(opens, start)
        if begin >= closes:
            continue
        if begin + left <= closes:
            return begin + left
        left -= closes - begin
    raise ValueError("business hours never add up: check BUSINESS_HOURS")


def business_time_between(a: datetime, b: datetime, hours: Hours, zone: ZoneInfo | None = None) -> timedelta:
    total = timedelta()
    if b <= a:
        return total
    for opens, closes in _windows(a, hours, zone or hours.zone):
        if opens >= b:
            break
        begin, end = max(opens, a), min(closes, b)
        if end > begin:
            total += end - begin
    return total


class TierRules(Record):
    """The tier policy (``{"tiers": [{"tier", "sla_hours", "clock"?, "timezone"?}]}``) and the
    business hours its business clocks count."""

    policy: dict
    hours: Hours

    def top(self) -> int:
        return max(t["tier"] for t in self.policy["tiers"])

    def of(self, tier: int) -> dict:
        for t in self.policy["tiers"]:
            if t["tier"] == tier:
                return t
        return {"tier": tier, "sla_hours": DEFAULT_SLA_HOURS}

    def sla(self, tier: int) -> timedelta:
        return timedelta(hours=self.of(tier).get("sla_hours", DEFAULT_SLA_HOURS))

    def _zone(self, tp: dict) -> ZoneInfo:
        return ZoneInfo(tp["timezone"]) if tp.get("timezone") else self.hours.zone

    def deadline(self, tier: int, start: datetime, remaining: timedelta | None = None) -> datetime:
        """When a ticket entering `tier` at `start` (with `remaining` time, after a pause) is due."""
        tp = self.of(tier)
        amount = remaining if remaining is not None else timedelta(hours=tp.get("sla_hours", DEFAULT_SLA_HOURS))
        if tp.get("clock") == "business":
            return add_business_time(start, amount, self.hours, self._zone(tp))
        return start + amount

    def time_left(self, tier: int, now: datetime, due: datetime) -> timedelta:
        tp = self.of(tier)
        if tp.get("clock") == "business":
            return business_time_between(now, due, self.hours, self._zone(tp))
        return max(timedelta(), due - now)


def pick_owner(candidates: list[tuple[str, int]]) -> str:
    """Who gets a ticket entering a tier: the member with the fewest open tickets (ties: the
    lowest id); the placeholder when the tier is empty."""
    if not candidates:
        return UP_FOR_GRABS
    return min(candidates, key=lambda c: (c[1], c[0]))[0]
