"""The staff: who owns tickets and holds the emergency phone, with their role, tier and zone."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.record import Record

ADMIN, AGENT = "admin", "agent"


class Person(Record):
    id: str
    name: str
    role: str  # admin | agent
    created_at: datetime
    phone: str | None = None  # E.164
    tier: int = 1
    timezone: str = "Europe/Berlin"
    language: str | None = None  # API v1.2: theirs (de, en, …); None: the business language
    key_hash: str | None = None  # their API key, stored only as its hash
    version: int | None = None  # the stored version this value was read at (None: never stored)


class ApiKey(Record):
    """What one GetItem of a key tells a request: whose it is, with copies of their role and name."""

    key_hash: str
    person_id: str
    role: str
    name: str | None = None
