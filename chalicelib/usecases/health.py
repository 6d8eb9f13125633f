"""The engine watched: sweep heartbeats and GET /status.

Every scheduled sweep writes a heartbeat when it completes. /status shows
when each last completed (stale after a few missed runs), the outbox's due
and dead items, the oldest page contact not yet out, and how far Twilio's
logs have been reconciled. CloudWatch alarms (scripts/package.py) watch the
same engine from outside: errors, a page sweep that stopped, the DLQ.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import limits, store
from chalicelib.domain import limits as rate

# Expected interval of each schedule; a sweep is stale after STALE_AFTER of them without completing.
SWEEPS = {"page_sweep": 60, "tier_sweep": 60, "handoff_sweep": 60, "reconcile_sweep": 120}
STALE_AFTER = 5


def beat(sweep: str, now: datetime, **facts) -> None:
    """A sweep completed (one PutItem)."""
    store.put_setting(f"heartbeat#{sweep}", {"at": now.isoformat(), **facts}, now)


def first_answers(now: datetime) -> dict:
    """The hour's budget of automatic answers to numbers that never wrote before (SMS pumping,
    issue 23): how much this hour and the last used; `spent` means new numbers go unanswered."""
    allowed = limits.allowed(rate.FIRST_REPLIES)
    this_hour = limits.used(rate.FIRST_REPLIES, "all", now)
    last_hour = limits.used(rate.FIRST_REPLIES, "all", now - rate.FIRST_REPLIES.per)
    return {"budget_per_hour": allowed, "used_this_hour": this_hour, "used_last_hour": last_hour,
            "spent": this_hour >= allowed, "spent_last_hour": last_hour >= allowed,
            "meaning": "automatic answers to numbers that never wrote before, all together (AUTO_REPLY_BUDGET); "
                       "when spent, their texts still open tickets, unanswered, and the AutoReplyBudget alarm fires"}


def status(now: datetime) -> dict:
    sweeps = {}
    healthy = True
    for name, interval in SWEEPS.items():
        doc = store.get_setting(f"heartbeat#{name}") or {}
        at = datetime.fromisoformat(doc["at"]) if doc.get("at") else None
        age = (now - at).total_seconds() if at else None
        stale = at is None or age > STALE_AFTER * interval
        healthy &= not stale
        sweeps[name] = {"last_completed": at.isoformat() if at else None,
                        "age_seconds": round(age) if age is not None else None, "stale": stale,
                        "expected_every_seconds": interval}
    outbox = store.outbox_health(now, now - timedelta(days=7))
    mark = store.get_setting("reconcile") or {}
    healthy &= outbox["oldest_undelivered_page"] is None or outbox["oldest_undelivered_page"]["minutes"] < 5
    return {"ok": healthy, "at": now.isoformat(), "sweeps": sweeps, "outbox": outbox,
            "reconciled_until": mark.get("until"), "first_answers": first_answers(now),
            "meaning": "ok is false when a sweep has not completed for 5 of its intervals or a page "
                       "contact has waited over 5 minutes to go out"}
