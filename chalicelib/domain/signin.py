"""Signing in by phone (API v1.2): a 6-digit code by SMS, then a server-side session.

The rules, pure: how long a code and a session live, how many tries a code allows, and the
values kept for them (only hashes of the code and of the session token are ever stored).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib.domain.record import Record
from chalicelib.domain.words import translate_ctx

CODE_TTL = timedelta(minutes=10)
CODE_TRIES = 5
SESSION_TTL = timedelta(hours=12)
COOKIE = "fn_session"


class Code(Record):
    """The latest code sent to a staff phone (a new one replaces it)."""

    phone: str
    person_id: str
    code_hash: str
    expires_at: datetime
    tries: int = 0

    def usable(self, now: datetime) -> bool:
        return now < self.expires_at and self.tries < CODE_TRIES


class StaffSession(Record):
    """A signed-in browser: the person, its CSRF token (sent back on every write) and its end."""

    token_hash: str
    person_id: str
    csrf: str
    created_at: datetime
    expires_at: datetime

    def alive(self, now: datetime) -> bool:
        return now < self.expires_at


def code_text(code: str, lang: str | None = None) -> str:
    """The SMS with the code, in the person's language (GSM-7, one segment; the code first, for
    phones that read it out)."""
    return translate_ctx(lang, "staff", "{code} is your Friday Night sign-in code. It expires in 10 minutes. "
                                        "Nobody from us asks for it.", code=code)
