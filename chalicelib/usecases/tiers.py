"""Support tiers, as this deployment configures them: the rules of ``domain.tiers`` fed with the
policy document and the business hours, and who gets a ticket entering a tier (which needs the
team and their open-ticket counters).

The deadline lives on the ticket (``domain.tickets``); the store keeps it in a sparse index,
present only while the clock runs, so the sweep queries what is due, never the whole table.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib import expectations, settings, store
from chalicelib.domain import tiers as rules_
from chalicelib.domain import words
from chalicelib.domain.tiers import UP_FOR_GRABS, Hours, TierRules  # noqa: F401 - re-exported
from chalicelib.settings import DEFAULT_POLICY, DEFAULT_SLA_HOURS  # noqa: F401 - re-exported

policy = settings.policy


def hours() -> Hours:
    days, opens, closes = expectations._hours()
    return Hours(frozenset(days), opens, closes, expectations.zone())


def rules(pol: dict | None = None) -> TierRules:
    """The tier rules in force (the policy is cached per unit of work by settings)."""
    return TierRules(pol or policy(), hours())


def top_tier(pol: dict | None = None) -> int:
    return rules(pol).top()


def deadline(tier: int, start: datetime, remaining: timedelta | None = None) -> datetime:
    return rules().deadline(tier, start, remaining)


def business_time_between(a: datetime, b: datetime, zone: ZoneInfo) -> timedelta:
    return rules_.business_time_between(a, b, hours(), zone)


def choose_owner(tier: int, *, priority: str, now: datetime, language: str | None = None) -> str:
    """Owner for a ticket entering `tier`: out of hours an urgent tier-1 ticket goes
    to the phone's holder; else the tier member with the fewest open tickets, among those who
    read the customer's `language` when the tier has any (issue 38: a French chat went to Erik, not
    to Chloe who reads French); the placeholder when the tier is empty (never no owner)."""
    if tier == 1 and priority == "urgent" and not expectations.is_business_hours(now):
        rot = settings.current_rota()
        if rot is not None:
            return rot.holder_at(now)
    people = [p for p in store.all_people() if (p.tier or 1) == tier]
    readers = [p for p in people if language and (p.language or words.business()) == language]
    members = [p.id for p in (readers or people)]
    counts = store.open_counts(members)
    return rules_.pick_owner([(pid, counts[pid]) for pid in members])
