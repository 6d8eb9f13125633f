"""Paging: a chain of steps that always reaches a human, over the outbox.

An urgent ticket opens one page (one per urgent episode) in the same
transaction that makes it urgent, with its first step's outbox item. Each
later step is one transaction: the page (conditional on its version, so two
sweeps never take a step twice), the ticket's events and the step's outbox
item. The step's acknowledgement clock starts when its SMS or call really
went out; while Twilio is unreachable the step waits (its item retries), and
a step whose item died (invalid number, STOP) moves the chain on at once.
Who comes next is decided in chalicelib.domain.paging.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from chalicelib import config, outbox, settings, store
from chalicelib.domain import paging as rules
from chalicelib.logs import logger
from chalicelib.store import Page

DUE = "due"
WAIT_FOR_SEND = timedelta(minutes=1)  # re-check a step whose contact has not gone out yet
PAGES_PER_HOUR = 6  # per person (override: PAGES_PER_HOUR); beyond it, one bundled summary SMS
current_rota = settings.current_rota


def chain_at(now: datetime, leads_only: bool = False) -> list[dict]:
    """Who is paged, in order: holder, backup, then every lead not already in it."""
    rot = None if leads_only else settings.current_rota()
    holder = rot.holder_at(now) if rot is not None else None
    backup = rot.backup_at(now) if rot is not None else None
    admins = [p.id for p in store.all_people() if p.role == "admin"]
    return [{"person_id": link.person_id, "role": link.role} for link in rules.chain(holder, backup, admins)]


def page_text(ticket: store.Ticket, reason: str | None = None) -> str:
    return rules.page_text(ticket.id, ticket.channel, ticket.subject, ticket.tier, reason)


def ack_timeout() -> timedelta:
    return timedelta(minutes=settings.policy().get("ack_timeout_minutes", 10))


def max_rounds() -> int:
    return 1


def _links(page: Page) -> list[rules.Link]:
    return [rules.Link(c["person_id"], c["role"]) for c in page.chain]


def _phones() -> dict[str, str | None]:
    return {p.id: p.phone for p in store.all_people()}


def item_id(page: Page) -> str:
    return f"page#{page.id}#{page.key}"


@dataclass
class Step:
    """What taking a step decided: events for the ticket, writes for the transaction."""

    events: list[tuple[str, dict]] = field(default_factory=list)
    writes: list[store.Write] = field(default_factory=list)
    outbox_ids: list[str] = field(default_factory=list)
    bundle: tuple[str, str | None, int] | None = None  # (person, phone, ticket): a storm summary, after commit


def _take(page: Page, ticket: store.Ticket, pos: rules.Position | None, skips: list[rules.Skip],
          now: datetime, step: Step) -> None:
    """Moves `page` to `pos` (None: exhausted) and plans its contact."""
    for s in skips:
        step.events.append(("page_skipped", {"to": s.person_id, "why": s.why}))
    page.updated_at = now
    if pos is None:
        page.status, page.due_pk, page.due_at = "exhausted", None, None
        step.events.append(("page_exhausted", {}))
        step.writes.append(store.Write("put", page, tag="page"))
        return
    moved_on = pos.step != page.step or pos.round != (page.round or 0)
    page.round, page.step, page.attempt, page.sent = pos.round, pos.step, pos.attempt, True
    page.key = f"{page.created_at.isoformat()}|{pos.key()}"
    page.due_pk, page.due_at = DUE, now + ack_timeout()
    link = page.chain[pos.step]
    if moved_on:
        step.events.append(("escalated_page", {"to": link["person_id"], "role": link["role"]}))
    phone = _phones().get(link["person_id"])
    step.writes.append(store.Write("put", page, tag="page"))
    if pos.attempt == "sms" and not _within_budget(link["person_id"], now):
        # A storm: one summary instead of a phone that never stops buzzing. The step still
        # counts, so the page escalates as usual if nobody acknowledges.
        step.events.append(("page_suppressed", {"to": link["person_id"], "why": "pages per hour reached"}))
        step.bundle = (link["person_id"], phone, ticket.id)
        return
    if pos.attempt == "sms":
        item = outbox.sms(phone, page_text(ticket, page.reason), purpose="page", now=now, key=item_id(page),
                          ticket_id=ticket.id, person_id=link["person_id"], page_id=page.id, page_key=page.key,
                          role=link["role"])
    else:
        item = outbox.call(phone, f"{config.public_base_url()}/twilio/voice/page/{ticket.id}", purpose="page",
                           now=now, key=item_id(page), ticket_id=ticket.id, person_id=link["person_id"],
                           page_id=page.id, page_key=page.key, role=link["role"])
    step.writes.append(store.outbox_put(item))
    step.outbox_ids.append(item.id)


def open_step(ticket: store.Ticket, now: datetime, reason: str, leads_only: bool = False,
              new: bool = False) -> Step | None:
    """Plans a new page for `ticket` (to commit with the change that makes it urgent).

    None when the ticket is already being paged: one page per urgent episode.
    """
    existing = None if new else store.get_page(f"t{ticket.id}")
    if existing is not None and existing.status == "open":
        return None
    page = Page(id=f"t{ticket.id}", ticket_id=ticket.id, chain=chain_at(now, leads_only), step=0, attempt="sms",
                round=0, sent=False, failures=0, reason=reason, created_at=now, updated_at=now)
    if existing is not None:  # an old, finished page: a new urgent episode starts over
        page.version = existing.version
    step = Step(events=[("page_opened", {"reason": reason, "chain": [c["person_id"] for c in page.chain]})])
    phones = _phones()
    pos, skips = rules.first(_links(page), lambda pid: bool(phones.get(pid)), max_rounds())
    page.step = -1  # so the first contact counts as moving on only when a link was skipped
    _take(page, ticket, pos, skips, now, step)
    if pos is not None and pos.step == 0:
        step.events = [e for e in step.events if e[0] != "escalated_page"]
    return step


def after_commit(step: Step, now: datetime) -> dict[str, outbox.Result]:
    """Sends what the committed step planned: its contact, or once per hour a storm summary."""
    if step.bundle is not None:
        _bundle(*step.bundle, now)
    results = outbox.dispatch(step.outbox_ids, now)
    for result in results.values():
        if result.status == "dead":  # a permanent failure: the chain moves on now, not at the timeout
            page_id = result.id.split("#")[1]
            page = store.get_page(page_id)
            if page is not None and page.status == "open" and item_id(page) == result.id:
                _step_now(page, now, failed=True)
    return results


def advance(page_id: str, now: datetime) -> Page | None:
    """Takes the page's next due step, if any; safe to call from racing sweeps."""
    page = store.get_page(page_id)
    if page is None or page.status != "open" or page.due_at is None or page.due_at > now:
        return page
    ticket = store.get_ticket(page.ticket_id)
    if ticket is None or ticket.status in ("resolved", "closed") or (
            ticket.acked_at is not None and ticket.acked_at >= page.created_at):
        page.status, page.due_pk, page.due_at = "cancelled", None, None
        _save_quietly(page)
        return page
    current = store.get_outbox(item_id(page)) if page.key else None
    if current is not None and current.status in ("due", "sending"):
        page.due_at = now + WAIT_FOR_SEND  # not out yet: the clock starts when the contact goes out
        _save_quietly(page)
        return page
    if current is not None and current.status == "sent" and current.sent_at + ack_timeout() > now:
        page.due_at = current.sent_at + ack_timeout()
        _save_quietly(page)
        return page
    _step_now(page, now, failed=current is not None and current.status == "dead")
    return store.get_page(page_id)


def _within_budget(person_id: str, now: datetime) -> bool:
    limit = int(os.environ.get("PAGES_PER_HOUR", PAGES_PER_HOUR))
    return store.spend(f"pages#{person_id}", limit, now, timedelta(hours=1))


def _bundle(person_id: str, phone: str | None, ticket_id: int, now: datetime) -> None:
    """One summary per person and hour (its id is the hour: written once, sent once)."""
    if not phone:
        return
    text = (f"More urgent tickets are waiting (#{ticket_id} and any after it this hour). "
            f"ACK <n> takes one; the backup is paged for those nobody takes.")
    item = outbox.sms(phone, text, purpose="notice", now=now, person_id=person_id,
                      key=f"bundle#{person_id}#{now.strftime('%Y%m%d%H')}")
    try:
        store.transact([store.outbox_put(item)])
    except store.ConditionFailed:
        return  # this hour's summary exists already
    outbox.dispatch([item.id], now)


def delivery_failed(page_id: str, page_key: str | None, now: datetime) -> None:
    """Twilio reported failed/undelivered for a page contact: fail over at once — but only
    when that contact is still the page's current step (a late callback changes nothing)."""
    page = store.get_page(page_id)
    if page is None or page.status != "open" or page.key != page_key:
        logger.info("late delivery failure ignored", extra={"page": page_id})
        return
    _step_now(page, now, failed=True)


def _step_now(page: Page, now: datetime, failed: bool = False) -> None:
    """Commits the step after the page's current one (a failed contact: the next person)."""
    ticket = store.get_ticket(page.ticket_id)
    if ticket is None or ticket.status in ("resolved", "closed") or (
            ticket.acked_at is not None and ticket.acked_at >= page.created_at):
        return
    phones = _phones()
    # A contact that failed for good moves the chain to the next person at once (Grafana OnCall #2622).
    attempt = "call" if failed else page.attempt
    pos, skips = rules.after(rules.Position(page.round or 0, page.step, attempt), _links(page),
                             lambda pid: bool(phones.get(pid)), max_rounds())
    step = Step()
    _take(page, ticket, pos, skips, now, step)

    def build(t):
        return [store.new_event(t, type_, "system", now, **data) for type_, data in step.events], step.writes

    try:
        store.commit_with_ticket(page.ticket_id, now, build)
    except store.ConditionFailed:
        return
    after_commit(step, now)


def acknowledge(ticket_id: int, person_id: str, now: datetime) -> None:
    """Stops the ticket's page (ACK or resolve from any channel)."""
    for _ in range(3):
        page = store.get_page(f"t{ticket_id}")
        if page is None or page.status != "open":
            return
        page.status, page.acked_by, page.due_pk, page.due_at, page.updated_at = "acked", person_id, None, None, now
        try:
            store.save_page(page)
            return
        except store.ConditionFailed:
            continue


def sweep(now: datetime) -> int:
    """Delivers due outbox items, then takes every due page step; returns pages looked at.

    Each page and each item is its own unit: one failure never stops the rest.
    """
    results = outbox.sweep(now)
    for result in results.values():
        if result.status == "dead":
            logger.warning("outbox item dead in sweep", extra={"item": result.id.split("#")[0]})
    pages = store.due_pages(now)
    for page in pages:
        try:
            advance(page.id, now)
        except Exception:  # noqa: BLE001 - the next page still gets its turn
            logger.exception("page step failed", extra={"page": page.id})
    return len(pages)


def _save_quietly(page: Page) -> None:
    try:
        store.save_page(page)
    except store.ConditionFailed:
        pass
