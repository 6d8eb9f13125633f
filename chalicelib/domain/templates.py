"""A canned answer with placeholders; an `auto` one answers matching first messages by itself."""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.record import Record


class Template(Record):
    id: str
    name: str
    body: str
    created_at: datetime
    updated_at: datetime
    category: str | None = None
    keywords: tuple = ()
    auto: bool = False
    bodies: dict | None = None  # a body per language ({"de": "...", "fr": "..."}); `body` for the rest
    version: int | None = None  # the stored version this value was read at (None: never stored)
