"""Every rate limit in one place, and the one rule they follow (GoAlert's message engine owns its
throttles the same way): at most `allowed` in each fixed window of `per`.

A limit counts either in its own table item (pages per person, chat starts per address, chat
messages per session) or inside the item it protects (a phone number's automatic replies on its
contact, so the reply is decided in the message's own transaction); the window and the count
follow the same rule either way.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.record import Record


class Limit(Record):
    name: str
    allowed: int
    per: timedelta
    override: str | None = None  # the environment variable that changes `allowed` for a deployment


HOUR, MINUTE = timedelta(hours=1), timedelta(minutes=1)
PAGES = Limit("pages", 6, HOUR, "PAGES_PER_HOUR")  # per person; beyond it one bundled summary SMS
AUTO_REPLIES = Limit("auto", 5, HOUR, "AUTO_REPLY_LIMIT")  # automatic replies to one number
SORRY = Limit("sorry", 5, HOUR)  # help texts for junk from a staff phone (GoAlert caps its "sorry" at 5)
CHAT_STARTS = Limit("chat-start", 20, HOUR, "CHAT_STARTS_PER_HOUR")  # per client address
# Automatic answers to numbers that never wrote before, all numbers together: 200 strangers texting
# once is SMS pumping, not 200 customers (issue 23); beyond it their texts are stored, unanswered.
# (A known customer's automatic texts are capped per number: AUTO_REPLIES.)
FIRST_REPLIES = Limit("first-replies", 100, HOUR, "AUTO_REPLY_BUDGET")
SIGN_IN_CODES = Limit("sign-in-code", 3, timedelta(minutes=15))  # codes per phone (API v1.2)
CHAT_MESSAGES = Limit("chat-msg", 20, MINUTE, "CHAT_MESSAGES_PER_MINUTE")  # per chat session
# In all, per chat session (issue 23: one conversation must not grow without bound). Counted in the
# window of the session's start, which is as long as a session lives: one window per session.
CHAT_SESSION = Limit("chat-session", 300, timedelta(days=7), "CHAT_MESSAGES_PER_SESSION")


def window(limit: Limit, now: datetime) -> int:
    """The fixed window `now` falls in (its number since the epoch)."""
    return int(now.timestamp()) // int(limit.per.total_seconds())


def spend(counts: dict | None, limit: Limit, allowed: int, now: datetime) -> dict | None:
    """Counts kept inside another item (``{name: [window, count]}``) with one more spent; None when
    this window's `allowed` are gone."""
    current = window(limit, now)
    last, count = (counts or {}).get(limit.name, [None, 0])
    if last != current:
        count = 0
    if count >= allowed:
        return None
    return {**(counts or {}), limit.name: [current, count + 1]}
