"""What a customer may expect, shared by every channel (SMS, web chat, voice).

Business hours are configured per deployment in its time zone
(BUSINESS_TIMEZONE, BUSINESS_HOURS like "mon-fri 09:00-17:00"). The urgency
rule of API.md lives here too, so chat and SMS cannot drift apart.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from chalicelib import config

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_URGENT = r"\b(urgent|emergency)\b"  # compiled on first use (re's cache): cold start


def is_urgent(text: str | None) -> bool:
    """API.md: a message containing the word URGENT or EMERGENCY, any case."""
    return bool(text and re.search(_URGENT, text, re.IGNORECASE))


def _hours() -> tuple[set[int], time, time]:
    raw = os.environ.get("BUSINESS_HOURS", "mon-fri 09:00-17:00").strip().lower()
    m = re.fullmatch(r"(\w{3})-(\w{3})\s+(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", raw)
    if not m:
        raise ValueError(f"BUSINESS_HOURS {raw!r}: expected like 'mon-fri 09:00-17:00'")
    a, b = _DAYS.index(m[1]), _DAYS.index(m[2])
    days = set(range(a, b + 1)) if a <= b else set(range(a, 7)) | set(range(0, b + 1))
    return days, time(int(m[3]), int(m[4])), time(int(m[5]), int(m[6]))


def zone() -> ZoneInfo:
    return ZoneInfo(config.business_timezone())


def is_business_hours(now: datetime) -> bool:
    days, opens, closes = _hours()
    local = now.astimezone(zone())
    return local.weekday() in days and opens <= local.time() < closes


def next_opening(now: datetime) -> datetime:
    """The next instant business hours begin (local wall time, DST-correct)."""
    days, opens, _ = _hours()
    local = now.astimezone(zone())
    for offset in range(0, 8):
        day = local.date() + timedelta(days=offset)
        candidate = datetime.combine(day, opens, tzinfo=zone())
        if day.weekday() in days and candidate > local:
            return candidate
    raise ValueError("BUSINESS_HOURS has no opening day")


def when(now: datetime) -> str:
    """'Mon 09:00 CET': the business time zone says itself (a customer may be elsewhere)."""
    opening = next_opening(now)
    return opening.strftime("%a %H:%M %Z")


def acknowledgement(ticket_id: int, *, now: datetime, urgent: bool, paged: bool, name: str | None = None,
                    channel: str = "sms") -> str:
    """The personal first answer: the ticket number and when to expect a reply."""
    hello = f"Hi {name.split()[0]}, thanks" if name else "Thanks"
    head = f"{hello} - this is ticket #{ticket_id}."
    if is_business_hours(now):
        return f"{head} We're on it and a person will answer shortly."
    if urgent and paged:
        return f"{head} It's after hours, and the on-call person has been paged now."
    if urgent:
        return f"{head} It's after hours; we're reaching the on-call person now."
    verb = "write" if channel == "webchat" else "reply"
    return f"{head} We'll answer by {when(now)}; {verb} URGENT if it can't wait."


def still_trying(ticket_id: int) -> str:
    """To the customer of an urgent ticket nobody has acknowledged after a while: the truth, once."""
    return (f"Ticket #{ticket_id}: we are still trying to reach the person on call and keep trying. "
            f"Reply here to add anything.")
