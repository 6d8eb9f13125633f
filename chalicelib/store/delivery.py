"""Paging and delivery: pages, the outbox, provider statuses, chat sessions and rate limits."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pynamodb.exceptions import (
    DoesNotExist,
    UpdateError,
)

from chalicelib import lazy
from chalicelib.domain.chat import Session
from chalicelib.domain.outbox import Item
from chalicelib.domain.outbox import Outbound as Sent
from chalicelib.domain.paging import OPEN as PAGE_OPEN
from chalicelib.domain.paging import Page as DomainPage
from chalicelib.domain.tickets import ACTIVE
from chalicelib.store._base import (
    Write,
    _is_condition_failure,
    _key_ok,
    get_by_key,
    retrying,
)
from chalicelib.store.models import (
    Limit,
    Outbound,
    OutboxItem,
    Page,
    Ticket,
)

rare = lazy.module("chalicelib.store.rare_models")  # ChatSession: web chat only, not a Twilio webhook

# --- outbound delivery status -------------------------------------------------

STATUS_RANK = {"accepted": 0, "queued": 0, "sending": 1, "sent": 2, "receiving": 2, "received": 3,
               "delivered": 3, "read": 4, "undelivered": 5, "failed": 5, "canceled": 5}


def advance_outbound(sid: str, status: str, now: datetime) -> Sent | None:
    """Moves the status forward only; returns the item if it moved, else None.

    A late 'sent' after 'failed' (multi-part SMS callbacks arrive out of order)
    is ignored by the condition, not by luck.
    """
    rank = STATUS_RANK.get(status)
    if rank is None:
        return None
    item = Outbound(sid=sid)
    try:
        item.update(actions=[Outbound.status.set(status), Outbound.rank.set(rank), Outbound.updated_at.set(now)],
                    condition=Outbound.sid.exists() & (Outbound.rank < rank))
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return None
        raise
    return Sent(sid=item.sid, kind=item.kind, status=item.status,
                ticket_id=int(item.ticket_id) if item.ticket_id is not None else None, page_id=item.page_id,
                page_key=item.page_key, outbox_id=item.outbox_id, person_id=item.person_id)


# --- pages --------------------------------------------------------------------


_PAGE_FIELDS = ("id", "status", "attempt", "sent", "sent_at", "reason", "text", "created_at", "updated_at",
                "due_at", "acked_by", "key", "noticed", "customer", "customer_told")
_PAGE_COUNTS = ("ticket_id", "step", "failures", "round")


def _page(m: Page) -> DomainPage:
    values = {f: getattr(m, f) for f in _PAGE_FIELDS}
    values.update({f: int(getattr(m, f) or 0) for f in _PAGE_COUNTS})
    values["sent"], values["noticed"], values["customer_told"] = bool(m.sent), bool(m.noticed), bool(m.customer_told)
    return DomainPage(chain=tuple(m.chain or ()), texts=tuple(tuple(t) for t in m.texts or ()), **values)


def _page_model(p: DomainPage) -> Page:
    m = Page(chain=list(p.chain), texts=[list(t) for t in p.texts] or None,
             **{f: getattr(p, f) for f in _PAGE_FIELDS + _PAGE_COUNTS})
    m.due_pk = "due" if p.is_open and p.due_at is not None else None  # the sparse index of due steps
    return m


def get_page(page_id: str | None) -> DomainPage | None:
    m = get_by_key(Page, page_id)
    return _page(m) if m is not None else None


def page_open_write(page: DomainPage) -> Write:
    return Write("put", _page_model(page), Page.id.does_not_exist(), tag="page")


def page_step_write(page: DomainPage, old_key: str | None) -> Write:
    """The page's next step, only if nobody took a step or acknowledged meanwhile."""
    cond = (Page.status == PAGE_OPEN) & (Page.key == old_key if old_key else Page.key.does_not_exist())
    return Write("put", _page_model(page), cond, tag="page")


def ticket_still_paging(ticket_id: int, since: datetime) -> Write:
    """A check in the step's transaction: the ticket is open and nobody acknowledged since `since`."""
    return Write("check", Ticket(id=ticket_id), tag="ticket",
                 condition=Ticket.status.is_in(*ACTIVE)
                 & (Ticket.acked_at.does_not_exist() | (Ticket.acked_at < since)))


def page_sent_write(page_id: str, page_key: str, sent_at: datetime, due_at: datetime) -> Write:
    """The step's contact went out: its acknowledgement clock starts now."""
    return Write("update", Page(id=page_id), (Page.status == PAGE_OPEN) & (Page.key == page_key), tag="page",
                 actions=[Page.sent_at.set(sent_at), Page.due_at.set(due_at), Page.due_pk.set("due"),
                          Page.updated_at.set(sent_at)])


def update_page(page_id: str, actions: list, condition) -> bool:
    """One conditional change to a page; False when the condition no longer holds."""
    try:
        retrying(Page(id=page_id).update, actions=actions, condition=condition)
        return True
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return False
        raise


def end_page(page_id: str | None, status: str, now: datetime, acked_by: str | None = None) -> bool:
    """acked | cancelled | exhausted: out of the due index (only from open)."""
    if not page_id:
        return False
    actions = [Page.status.set(status), Page.due_pk.remove(), Page.due_at.remove(), Page.updated_at.set(now)]
    if acked_by:
        actions.append(Page.acked_by.set(acked_by))
    return update_page(page_id, actions, Page.id.exists() & (Page.status == PAGE_OPEN))


def nudge_page(page_id: str, page_key: str | None, now: datetime) -> None:
    """The current step of the page failed for good: make it due now (only if still current)."""
    update_page(page_id, [Page.due_pk.set("due"), Page.due_at.set(now), Page.failures.add(1),
                          Page.sent_at.set(now), Page.updated_at.set(now)],
                Page.id.exists() & (Page.status == PAGE_OPEN) & (Page.key == page_key))


def postpone_page(page_id: str, page_key: str, until: datetime, now: datetime) -> None:
    update_page(page_id, [Page.due_at.set(until), Page.updated_at.set(now)],
                Page.id.exists() & (Page.status == PAGE_OPEN) & (Page.key == page_key))


def budget_write(key: str, limit: int, now: datetime, window: timedelta, tag: str = "budget") -> Write:
    """One unit of a fixed-window budget, inside a transaction (`tag` when it is spent)."""
    seconds = int(window.total_seconds())
    slot = int(now.timestamp()) // seconds
    return Write("update", Limit(key=f"{key}#{slot}"), Limit.count.does_not_exist() | (Limit.count < limit),
                 actions=[Limit.count.add(1), Limit.expires_at.set(now + 2 * window)], tag=tag)


def due_pages(now: datetime, limit: int = 100) -> list[DomainPage]:
    """Pages whose next step is due: a Query on the sparse due-time GSI, no Scan."""
    return [_page(m) for m in Page.by_due.query("due", range_key_condition=Page.due_at <= now, limit=limit)]


# --- outbox -------------------------------------------------------------------

OUTBOX_RETENTION = timedelta(days=90)


_OUTBOX_FIELDS = ("id", "kind", "purpose", "created_at", "updated_at", "status", "to", "person_id", "body", "url",
                  "ticket_id", "message_sk", "page_id", "page_key", "role", "lease_until", "due_at", "sid",
                  "sent_at", "delivery", "error", "dead_at")
_OUTBOX_COUNTS = ("attempts", "failures", "max_attempts")


def _outbox(m: OutboxItem) -> Item:
    values = {f: getattr(m, f) for f in _OUTBOX_FIELDS}
    values.update({f: int(getattr(m, f) or 0) for f in _OUTBOX_COUNTS})
    values["ticket_id"] = int(m.ticket_id) if m.ticket_id is not None else None
    values["ticket_ids"] = frozenset(int(i) for i in m.ticket_ids) if m.ticket_ids else None
    return Item(**values)


def outbox_put(item: Item) -> Write:
    """The write that adds an outbox item to a transaction (once per id), due at once."""
    m = OutboxItem(**{f: getattr(item, f) for f in _OUTBOX_FIELDS + _OUTBOX_COUNTS if getattr(item, f) is not None})
    m.due_pk = "due"
    if item.ticket_ids:
        m.ticket_ids = set(item.ticket_ids)
    return Write("put", m, OutboxItem.id.does_not_exist(), tag="outbox")


def digest_write(person_id: str, phone: str, ticket_id: int, due_at: datetime, now: datetime) -> Write:
    """Adds a ticket to the person's digest due at `due_at` (one item per person and opening:
    created by the first ticket, joined by the next ones; its text is written when it goes out)."""
    item = OutboxItem(id=f"digest#{person_id}#{due_at.astimezone(timezone.utc):%Y%m%dT%H%M}")
    return Write("update", item, tag="digest", add_version_condition=False, actions=[
        OutboxItem.kind.set("sms"), OutboxItem.purpose.set("digest"), OutboxItem.to.set(phone),
        OutboxItem.person_id.set(person_id), OutboxItem.ticket_ids.add({ticket_id}),
        OutboxItem.status.set(OutboxItem.status | "due"), OutboxItem.attempts.set(OutboxItem.attempts | 0),
        OutboxItem.max_attempts.set(OutboxItem.max_attempts | 10), OutboxItem.due_pk.set("due"),
        OutboxItem.due_at.set(due_at), OutboxItem.created_at.set(OutboxItem.created_at | now),
        OutboxItem.updated_at.set(now)])


def get_outbox(item_id: str) -> Item | None:
    m = get_by_key(OutboxItem, item_id)
    return _outbox(m) if m is not None else None


def lease_outbox(item_id: str, now: datetime, lease: timedelta) -> Item | None:
    """Claims a due item (or one whose lease ran out) for one sender; None when it is not ours."""
    item = OutboxItem(id=item_id)
    free = (((OutboxItem.status == "due") & (OutboxItem.due_at <= now))
            | ((OutboxItem.status == "sending") & (OutboxItem.lease_until <= now)))
    try:
        retrying(item.update, actions=[
            OutboxItem.status.set("sending"), OutboxItem.lease_until.set(now + lease),
            OutboxItem.attempts.add(1), OutboxItem.due_pk.set("due"), OutboxItem.due_at.set(now + lease),
            OutboxItem.updated_at.set(now)], condition=OutboxItem.id.exists() & free)
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return None
        raise
    return _outbox(item)  # as the update left it (PynamoDB reads back the whole item)


def _ours(item: Item):
    return (OutboxItem.status == "sending") & (OutboxItem.lease_until == item.lease_until)


def outbox_sent_writes(item: Item, sid: str, now: datetime) -> list[Write]:
    """The item went out: its sid, and the sid → item mapping status callbacks use."""
    return [
        Write("update", OutboxItem(id=item.id), _ours(item), tag="outbox", actions=[
            OutboxItem.status.set("sent"), OutboxItem.sid.set(sid), OutboxItem.sent_at.set(now),
            OutboxItem.due_pk.remove(), OutboxItem.due_at.remove(), OutboxItem.lease_until.remove(),
            OutboxItem.error.remove(), OutboxItem.updated_at.set(now),
            OutboxItem.expires_at.set(now + OUTBOX_RETENTION)]
            + ([OutboxItem.body.set(item.body)] if item.purpose == "digest" and item.body else [])),
        Write("put", Outbound(sid=sid, kind=item.kind, created_at=now, updated_at=now,
                              expires_at=now + OUTBOX_RETENTION, ticket_id=item.ticket_id, page_id=item.page_id,
                              page_key=item.page_key, outbox_id=item.id, person_id=item.person_id)),
    ]


def outbox_end_writes(item: Item, status: str, now: datetime, error: str | None) -> list[Write]:
    """dead or cancelled: out of the due index, kept for the record until TTL."""
    actions = [OutboxItem.status.set(status), OutboxItem.due_pk.remove(), OutboxItem.due_at.remove(),
               OutboxItem.lease_until.remove(), OutboxItem.updated_at.set(now),
               OutboxItem.expires_at.set(now + OUTBOX_RETENTION)]
    if error:
        actions.append(OutboxItem.error.set(error[:300]))
    if status == "dead":
        actions += [OutboxItem.dead_pk.set("dead"), OutboxItem.dead_at.set(now)]
    return [Write("update", OutboxItem(id=item.id), _ours(item), tag="outbox", actions=actions)]


def outbox_health(now: datetime, dead_since: datetime) -> dict:
    """For /status: items due now, waiting for a retry, dead since `dead_since`, the oldest page not out.

    Queries on the sparse due and dead indexes: the cost follows what is pending, not history.
    """
    due = waiting = 0
    oldest_page = None
    for item in OutboxItem.by_due.query("due"):
        if item.due_at <= now:
            due += 1
        else:
            waiting += 1
        if item.purpose == "page" and (oldest_page is None or item.created_at < oldest_page.created_at):
            oldest_page = item
    dead = OutboxItem.by_dead.count("dead", range_key_condition=OutboxItem.dead_at >= dead_since)
    page = None if oldest_page is None else {
        "ticket_id": oldest_page.ticket_id, "since": oldest_page.created_at.isoformat(),
        "minutes": round((now - oldest_page.created_at).total_seconds() / 60, 1),
        "attempts": oldest_page.attempts, "error": oldest_page.error}
    return {"due": due, "retrying_later": waiting, "dead_last_7_days": dead, "oldest_undelivered_page": page}


def outbox_retry_later(item: Item, when: datetime, now: datetime, error: str) -> None:
    """A failed attempt: due again at `when` (the lease is given back)."""
    try:
        retrying(OutboxItem(id=item.id).update, actions=[
            OutboxItem.status.set("due"), OutboxItem.due_pk.set("due"), OutboxItem.due_at.set(when),
            OutboxItem.lease_until.remove(), OutboxItem.error.set(error[:300]), OutboxItem.updated_at.set(now),
            OutboxItem.failures.add(1)],
            condition=_ours(item))
    except UpdateError as exc:
        if not _is_condition_failure(exc):
            raise


def outbox_due(now: datetime, limit: int = 200) -> list[str]:
    """Ids of items to send now (due, or leased by a sender that died): one Query, no Scan."""
    return [i.id for i in OutboxItem.by_due.query("due", range_key_condition=OutboxItem.due_at <= now,
                                                  limit=limit)]


# --- chat sessions and rate limits --------------------------------------------


_SESSION_FIELDS = ("id", "token_hash", "created_at", "expires_at", "name", "contact")


def create_chat_session(session: Session) -> None:
    rare.ChatSession(ticket_id=session.ticket_id, **{f: getattr(session, f) for f in _SESSION_FIELDS}).save(
        condition=rare.ChatSession.id.does_not_exist())


def get_chat_session(session_id: str, now: datetime) -> Session | None:
    """The session, unless missing or expired (TTL deletes lazily: filter on read)."""
    if not _key_ok(session_id):
        return None
    try:
        m = rare.ChatSession.get(session_id, consistent_read=True)
    except DoesNotExist:
        return None
    if m.expires_at <= now:
        return None
    return Session(ticket_id=int(m.ticket_id), **{f: getattr(m, f) for f in _SESSION_FIELDS})


def spent(key: str, now: datetime, window: timedelta) -> int:
    """How much of `key`'s budget the window containing `now` has used (one GetItem)."""
    slot = int(now.timestamp()) // int(window.total_seconds())
    try:
        return int(Limit.get(f"{key}#{slot}", consistent_read=True).count or 0)
    except DoesNotExist:
        return 0


def spend(key: str, limit: int, now: datetime, window: timedelta) -> bool:
    """Takes one unit of `key`'s budget for the current window; False when it is gone."""
    seconds = int(window.total_seconds())
    slot = int(now.timestamp()) // seconds
    item = Limit(key=f"{key}#{slot}")
    try:
        item.update(actions=[Limit.count.add(1), Limit.expires_at.set(now + 2 * window)],
                    condition=Limit.count.does_not_exist() | (Limit.count < limit))
        return True
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return False
        raise
