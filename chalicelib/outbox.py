"""The outbox: every SMS and call the system sends, durable before it goes.

An effect is an Item written in the same transaction as the state
change that causes it (a reply with its message, a page step with the page).
After the commit the caller dispatches it at once; the page sweep delivers
whatever is still due. Delivery:

- leases the item (conditional write, LEASE long): one sender at a time; a
  sender that dies leaves the lease to run out and the next sweep retries —
  at least once, never lost;
- treats every exception of the sender as a failed attempt (timeouts too);
- backs off, and after a permanent failure (invalid number, STOP) or too many
  attempts marks the item dead — recorded on its ticket in the same
  transaction; a dead page step nudges its page so the chain moves on now;
- records the provider sid with the sid → item mapping status callbacks use.

One failing item never stops a sweep: each item is its own unit of work.
This module decides nothing about tickets or pages beyond that.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from chalicelib import expectations, metrics, notify, settings, store
from chalicelib.domain import conversation
from chalicelib.domain.outbox import DUE, Item
from chalicelib.domain.record import Record
from chalicelib.logs import logger
from chalicelib.store import Write

LEASE = timedelta(minutes=2)
MAX_ATTEMPTS = 10  # replies, surveys, notices: about 40 minutes of retries
PAGE_MAX_ATTEMPTS = 90  # a page waits out an outage (about 90 minutes at one try a minute)


class Result(Record):
    id: str
    status: str  # sent | due | dead | cancelled | busy (someone else holds it) | missing
    error: str | None = None


def sms(to: str, body: str, *, purpose: str, now: datetime, key: str | None = None, ticket_id: int | None = None,
        person_id: str | None = None, message_sk: str | None = None, page_id: str | None = None,
        page_key: str | None = None, role: str | None = None) -> Item:
    return _item("sms", purpose, now, key, to=to, body=body, ticket_id=ticket_id, person_id=person_id,
                 message_sk=message_sk, page_id=page_id, page_key=page_key, role=role)


def call(to: str, url: str, *, purpose: str, now: datetime, key: str | None = None, ticket_id: int | None = None,
         person_id: str | None = None, page_id: str | None = None, page_key: str | None = None,
         role: str | None = None) -> Item:
    return _item("call", purpose, now, key, to=to, url=url, ticket_id=ticket_id, person_id=person_id,
                 page_id=page_id, page_key=page_key, role=role)


def _item(kind: str, purpose: str, now: datetime, key: str | None, **attrs) -> Item:
    return Item(id=key or f"{purpose}#{secrets.token_hex(8)}", kind=kind, purpose=purpose, status=DUE,
                attempts=0, max_attempts=PAGE_MAX_ATTEMPTS if purpose == "page" else MAX_ATTEMPTS,
                due_at=now, created_at=now, updated_at=now, **{k: v for k, v in attrs.items() if v is not None})


def writes(items: Iterable[Item]) -> list[Write]:
    return [store.outbox_put(i) for i in items]


def dispatch(ids: Iterable[str], now: datetime) -> dict[str, Result]:
    """Delivers each item now; failures stay durable for the sweep. Never raises."""
    results = {}
    for item_id in ids:
        try:
            results[item_id] = deliver(item_id, now)
        except Exception:  # noqa: BLE001 - one item never stops the others; the sweep retries it
            logger.exception("outbox item failed unexpectedly", extra={"item": item_id.split("#")[0]})
            results[item_id] = Result(item_id, "due", "unexpected error")
    return results


# What one run of the page sweep may do (issue 36: after a quiet spell a backlog made one run take 11 s and
# more; a run that times out pages nobody): at most this many items, and nothing new after the run's
# deadline. The rest waits for the next minute, pages first, the longest overdue first.
SWEEP_ITEMS = 200
SWEEP_SECONDS = 10.0  # of the function's 20
DUE_LOOKED_AT = 1000  # keys read to find the page contacts among a backlog (keys only: about 25 read units)


def deadline(seconds: float | None = None) -> float:
    """The monotonic instant after which a sweep takes no new work."""
    return time.monotonic() + (SWEEP_SECONDS if seconds is None else seconds)


def due_now(now: datetime) -> tuple[list[str], list[str]]:
    """(page contacts, the rest) due now or whose sender died, each longest overdue first (the
    index's order): one Query of keys, so a page contact is found behind any backlog."""
    due = store.outbox_due(now, limit=DUE_LOOKED_AT)
    return [i for i in due if i.startswith("page#")], [i for i in due if not i.startswith("page#")]


def send(ids: list[str], now: datetime, until: float, most: int | None = None) -> dict[str, Result]:
    """Delivers the items in order, at most `most` (SWEEP_ITEMS), none started after `until`: the rest
    stays due for the next run."""
    most = SWEEP_ITEMS if most is None else most
    results: dict[str, Result] = {}
    for n, item_id in enumerate(ids):
        if n >= most or time.monotonic() > until:
            logger.warning("sweep bound reached: the rest waits for the next run", extra={"left": len(ids) - n})
            break
        results.update(dispatch([item_id], now))
    return results


def sweep(now: datetime, until: float | None = None) -> dict[str, Result]:
    """What is due goes out, page contacts first, then the rest longest overdue first; bounded."""
    pages, rest = due_now(now)
    return send(pages + rest, now, deadline() if until is None else until)


def backoff(item: Item) -> timedelta:
    n = max(1, item.attempts or 1)
    if item.purpose == "page":
        return min(timedelta(minutes=1), timedelta(seconds=15 * 2 ** (n - 1)))
    return min(timedelta(minutes=5), timedelta(seconds=30 * 2 ** (n - 1)))


def deliver(item_id: str, now: datetime) -> Result:
    item = store.lease_outbox(item_id, now, LEASE)
    if item is None:
        current = store.get_outbox(item_id)
        return Result(item_id, current.status if current else "missing", current.error if current else None)
    if item.purpose == "page" and (item.attempts or 0) > 1 and _no_longer_wanted(item):
        # A retried page contact: was the ticket acknowledged or resolved while it waited?
        _end(item, "cancelled", now, "acknowledged or resolved before it went out", events=())
        return Result(item_id, "cancelled")
    if item.purpose == "digest" and not item.body:
        item = item.replace(body=_digest(item, now))
        if item.body is None:
            _end(item, "cancelled", now, "nothing left to tell: those tickets moved on", events=())
            return Result(item_id, "cancelled")
    try:
        if (item.attempts or 0) - 1 > (item.failures or 0):
            # The previous sender died between leasing and recording: did its send go out?
            earlier = notify.find_sent(item.kind, item.to, item.body, item.created_at)
            if earlier is not None:
                _sent(item, earlier, now)
                logger.info("outbox item found sent by a sender that died", extra={"sid": earlier})
                return Result(item_id, "sent")
        if item.kind == "sms":
            sid = notify.send_sms(item.to, item.body, now=now)
        else:
            sid = notify.place_call(item.to, item.url, now=now)
    except notify.SendError as exc:
        return _failed(item, now, str(exc), permanent=exc.permanent)
    if sid is None:
        return _failed(item, now, "the number opted out of SMS (STOP)", permanent=True)
    _sent(item, sid, now)
    logger.info("outbox sent", extra={"purpose": item.purpose, "kind": item.kind, "sid": sid,
                                      "attempt": item.attempts})
    return Result(item_id, "sent")


def _digest(item: Item, now: datetime) -> str | None:
    """A digest's text, written when it goes out: only the tickets still open and still theirs."""
    found = store.get_tickets(sorted(int(i) for i in item.ticket_ids or ()))
    entries = [(t.id, t.tier, t.tier_due_at) for t in found.values()  # a chat never written in: never told
               if t.is_active and t.owner == item.person_id and t.subject is not None]
    if not entries:
        return None
    reader = store.get_person(item.person_id) if item.person_id else None  # their zone and language
    zone = ZoneInfo(reader.timezone) if reader is not None and reader.timezone else expectations.zone()
    return conversation.digest_text(entries, now, zone, reader.language if reader is not None else None)


def _no_longer_wanted(item: Item) -> bool:
    ticket = store.get_ticket(item.ticket_id) if item.ticket_id else None
    if ticket is None or not ticket.is_active:
        return True
    return ticket.acked_at is not None and ticket.acked_at >= _page_start(item)


def _page_start(item: Item) -> datetime:
    """Pages are per urgent episode: an ACK before this item's page opened does not cancel it."""
    try:
        return datetime.fromisoformat(item.page_key.split("|")[0])
    except (AttributeError, ValueError):
        return item.created_at


def _sent(item: Item, sid: str, now: datetime) -> None:
    """Recorded in one transaction: the item, the sid → item mapping, and for a page contact the
    ticket's "paged" event and the step's acknowledgement clock (which starts now)."""
    writes = store.outbox_sent_writes(item, sid, now)
    if item.purpose == "page":
        metrics.count("PagesSent")
    if item.purpose == "page" and item.ticket_id:
        writes.append(store.loose_event_write(
            item.ticket_id, "paged", now, to=item.person_id, role=item.role, via=item.kind))
        if item.page_id and item.page_key:
            try:
                store.transact(writes + [store.page_sent_write(item.page_id, item.page_key, now,
                                                               now + settings.ack_timeout())])
                return
            except store.ConditionFailed as exc:
                if exc.tags != {"page"}:
                    logger.warning("outbox item finished by another sender", extra={"item": item.id.split("#")[0]})
                    return
                # The page moved on meanwhile (ACK, a failed-over step): record the send alone.
    _commit(writes, item)


def _commit(ws: list[Write], item: Item) -> None:
    try:
        store.transact(ws)
    except store.ConditionFailed:
        logger.warning("outbox item finished by another sender", extra={"item": item.id.split("#")[0]})


def _failed(item: Item, now: datetime, error: str, *, permanent: bool) -> Result:
    if not permanent and (item.attempts or 0) < (item.max_attempts or MAX_ATTEMPTS):
        store.outbox_retry_later(item, now + backoff(item), now, error)
        return Result(item.id, "due", error)
    why = error if permanent else f"gave up after {item.attempts} attempts: {error}"
    if item.purpose == "page":
        metrics.count("PagesDead")
        event = ("page_failed", {"to": item.person_id, "via": item.kind, "why": why[:200]})
    else:
        event = ("delivery_failed", {"message": item.message_sk, "purpose": item.purpose, "error": why[:200]})
    _end(item, "dead", now, why, events=[event] if item.ticket_id else [])
    if item.page_id:
        store.nudge_page(item.page_id, item.page_key, now)
    logger.warning("outbox item dead", extra={"purpose": item.purpose, "attempts": item.attempts})
    return Result(item.id, "dead", why)


def _end(item: Item, status: str, now: datetime, error: str | None, events) -> None:
    """dead | cancelled, with the ticket's events in the same transaction (no read of the ticket)."""
    writes = store.outbox_end_writes(item, status, now, error)
    writes += [store.loose_event_write(item.ticket_id, t, now, **d) for t, d in events]
    _commit(writes, item)
