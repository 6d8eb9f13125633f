"""A claim: a provider id (a MessageSid, a CallSid, a keypress) taken once, with what its first
delivery answered, so a retry gets the same answer and changes nothing twice."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.record import Record


class Claim(Record):
    key: str
    created_at: datetime | None = None
    result: str | None = None  # the first answer, replayed to retries (None: still being worked on)
    ticket_id: int | None = None  # the ticket the claimed message went to
