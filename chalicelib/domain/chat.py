"""A web chat session: an opaque id, a token known to the browser (stored only as its hash), the
ticket it writes to, until it expires."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.record import Record


class Session(Record):
    id: str
    token_hash: str
    ticket_id: int
    created_at: datetime
    expires_at: datetime
    name: str | None = None
    contact: str | None = None
