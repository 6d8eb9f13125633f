"""An outbox item: one outbound SMS or call, written in the transaction that causes it.

due → sending (leased by one sender) → sent | dead | cancelled. The id is chosen by the cause
(``reply#<inbound sid>``, ``page#t7#...``), so a retried cause can never write a second copy.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib.domain.record import Record

DUE, SENDING, SENT, DEAD, CANCELLED = "due", "sending", "sent", "dead", "cancelled"


class Item(Record):
    id: str
    kind: str  # sms | call
    purpose: str  # page | reply | survey | notice | bundle | digest
    created_at: datetime
    updated_at: datetime
    status: str = DUE
    to: str | None = None  # E.164
    person_id: str | None = None
    body: str | None = None
    url: str | None = None
    ticket_id: int | None = None
    message_sk: str | None = None  # the ticket message it delivers
    page_id: str | None = None
    page_key: str | None = None  # the page step that wrote it
    role: str | None = None  # a page's: holder | backup | lead
    ticket_ids: frozenset | None = None  # a digest's tickets (its text is written when it goes out)
    attempts: int = 0  # leases taken
    failures: int = 0  # attempts that recorded a failure (the rest: sent, or a sender died)
    max_attempts: int = 10
    lease_until: datetime | None = None
    due_at: datetime | None = None  # when it is (next) due; with a lease, when the lease runs out
    sid: str | None = None
    sent_at: datetime | None = None
    delivery: str | None = None  # the provider's latest status (forward only)
    error: str | None = None
    dead_at: datetime | None = None


class Outbound(Record):
    """What Twilio took from us, by its sid: the delivery status (it only moves forward) and the
    outbox item, ticket and page step it belongs to."""

    sid: str
    kind: str  # sms | call
    status: str
    ticket_id: int | None = None
    page_id: str | None = None
    page_key: str | None = None
    outbox_id: str | None = None
    person_id: str | None = None
