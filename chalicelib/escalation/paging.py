"""Paging: an outbox that always reaches a human.

An urgent ticket writes one page item (one per ticket, conditional put) in
the same request and sends it at once. The page walks a chain fixed when it
opens: the phone's holder, the backup, then the leads (admins). At each step
the person gets an SMS; if they do not acknowledge within
ack_timeout_minutes, a screened call as a second attempt; then the next step.
A failed delivery moves on at once (Grafana OnCall #2622). Every step is a
version-conditional write, so two overlapping sweeps never take one step
twice. A Twilio failure leaves the page due, with backoff: nothing is lost.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalicelib import config, notify, store
from chalicelib.escalation import rota as rota_rules
from chalicelib.escalation import tiers
from chalicelib.logs import logger
from chalicelib.store import Page

DUE = "due"
MAX_BACKOFF = timedelta(minutes=5)
PAGES_PER_HOUR = 6  # per person (override: PAGES_PER_HOUR); beyond it, one bundled summary SMS


def current_rota() -> rota_rules.Rotation | None:
    doc = store.get_setting("rota")
    if not doc or not doc.get("members"):
        return None
    return rota_rules.from_document(doc)


def chain_at(now: datetime, leads_only: bool = False) -> list[dict]:
    """Who is paged, in order: holder, backup, then every lead not already in it."""
    chain: list[dict] = []
    rot = None if leads_only else current_rota()
    if rot is not None:
        chain.append({"person_id": rot.holder_at(now), "role": "holder"})
        backup = rot.backup_at(now)
        if backup:
            chain.append({"person_id": backup, "role": "backup"})
    seen = {c["person_id"] for c in chain}
    for person in store.all_people():
        if person.role == "admin" and person.id not in seen:
            chain.append({"person_id": person.id, "role": "lead"})
            seen.add(person.id)
    return chain


def page_text(ticket: store.Ticket, reason: str | None = None) -> str:
    words = (ticket.subject or "").split()
    gist = " ".join(words[:10]) + ("..." if len(words) > 10 else "")
    n = ticket.id
    head = f"BREACH #{n}: tier {ticket.tier} deadline passed" if reason == "tier breach" else f"URGENT #{n}"
    return f"{head} ({ticket.channel}): {gist}\nACK {n} · RES {n} · {n} <text> answers the customer"


def open_page(ticket: store.Ticket, now: datetime, reason: str, leads_only: bool = False) -> Page:
    """Writes the ticket's page durably (once), then tries to send it at once."""
    from chalicelib import tickets

    existing = store.get_page(f"t{ticket.id}")
    if existing is not None and existing.status == "open":
        return existing
    page = Page(id=f"t{ticket.id}", ticket_id=ticket.id, chain=chain_at(now, leads_only), step=0, attempt="sms",
                sent=False, reason=reason, created_at=now, updated_at=now, due_pk=DUE, due_at=now)
    if existing is not None:  # an old, finished page: a new urgent episode starts over
        page.version = existing.version
        store.save_page(page)
    elif not store.create_page(page):
        return store.get_page(page.id)
    tickets.record_event(ticket.id, "page_opened", tickets.SYSTEM, now, reason=reason,
                         chain=[c["person_id"] for c in page.chain])
    return advance(page.id, now, ticket=ticket)


def _ack_timeout(pol: dict | None = None) -> timedelta:
    pol = pol or tiers.policy()
    return timedelta(minutes=pol.get("ack_timeout_minutes", 10))


def advance(page_id: str, now: datetime, ticket: store.Ticket | None = None) -> Page | None:
    """Takes the page's next due step, if any; safe to call from racing sweeps."""
    from chalicelib import tickets

    page = store.get_page(page_id)
    if page is None or page.status != "open" or page.due_at is None or page.due_at > now:
        return page
    ticket = ticket or store.get_ticket(page.ticket_id)
    if ticket is None or ticket.status in ("resolved", "closed") or (
            ticket.acked_at is not None and ticket.acked_at >= page.created_at):
        page.status, page.due_pk, page.due_at = "cancelled", None, None
        _save_quietly(page)
        return page
    events: list[tuple[str, dict]] = []
    if page.sent:
        # The step's contact went out and nobody acknowledged in time.
        if page.attempt == "sms" and _person_phone(page.chain[page.step]["person_id"]):
            page.attempt, page.sent = "call", False
        else:
            page.step += 1
            page.attempt, page.sent = "sms", False
            if page.step < len(page.chain):
                events.append(("escalated_page", {"to": page.chain[page.step]["person_id"],
                                                  "role": page.chain[page.step]["role"]}))
    if page.step >= len(page.chain):
        page.status, page.due_pk, page.due_at = "exhausted", None, None
        events.append(("page_exhausted", {}))
    else:
        # Claim the step first: only the sweep whose conditional write lands sends.
        page.due_at = now + _ack_timeout()
        page.sent = True
    page.updated_at = now
    try:
        store.save_page(page)
    except store.ConditionFailed:
        return store.get_page(page_id)  # another sweep took this step
    for type_, data in events:
        tickets.record_event(page.ticket_id, type_, tickets.SYSTEM, now, **data)
    if page.status == "open":
        _contact(page, ticket, now)
    return page


def _person_phone(person_id: str) -> str | None:
    person = store.get_person(person_id)
    return person.phone if person else None


def _contact(page: Page, ticket: store.Ticket, now: datetime) -> None:
    from chalicelib import tickets

    target = page.chain[page.step]
    phone = _person_phone(target["person_id"])
    if not phone:
        # Never skip silently (Grafana OnCall #1326): record it, move on at once.
        tickets.record_event(page.ticket_id, "page_skipped", tickets.SYSTEM, now, to=target["person_id"],
                             why="no phone number")
        _fail_step(page.id, now, immediate=True)
        return
    if page.attempt == "sms" and not _within_budget(target["person_id"], now):
        # A storm: one summary instead of a phone that never stops buzzing. The step still
        # counts as sent, so the page escalates as usual if nobody acknowledges.
        tickets.record_event(page.ticket_id, "page_suppressed", tickets.SYSTEM, now, to=target["person_id"],
                             why="pages per hour reached")
        if store.claim(f"bundle#{target['person_id']}#{now.strftime('%Y%m%d%H')}", now):
            _bundle(phone, ticket, now)
        return
    try:
        if page.attempt == "sms":
            sid = notify.send_sms(phone, page_text(ticket, page.reason), now=now)
        else:
            sid = notify.place_call(phone, f"{config.public_base_url()}/twilio/voice/page/{page.ticket_id}",
                                    now=now)
    except notify.SendError:
        _fail_step(page.id, now, immediate=False)
        return
    if sid is None:  # the number opted out of SMS: this step cannot reach them
        tickets.record_event(page.ticket_id, "page_skipped", tickets.SYSTEM, now, to=target["person_id"],
                             why="opted out of SMS")
        _fail_step(page.id, now, immediate=True)
        return
    if sid:
        store.record_outbound(sid, "sms" if page.attempt == "sms" else "call", now, ticket_id=page.ticket_id,
                              page_id=page.id, person_id=target["person_id"])
    tickets.record_event(page.ticket_id, "paged", tickets.SYSTEM, now, to=target["person_id"],
                         role=target["role"], via=page.attempt)
    logger.info("paged", extra={"ticket": page.ticket_id, "person": target["person_id"], "via": page.attempt,
                                "step": page.step})


def _within_budget(person_id: str, now: datetime) -> bool:
    import os

    limit = int(os.environ.get("PAGES_PER_HOUR", PAGES_PER_HOUR))
    return store.spend(f"pages#{person_id}", limit, now, timedelta(hours=1))


def _bundle(phone: str, ticket: store.Ticket, now: datetime) -> None:
    text = (f"More urgent tickets are waiting (#{ticket.id} and any after it this hour). "
            f"ACK <n> takes one; the backup is paged for those nobody takes.")
    try:
        notify.send_sms(phone, text, now=now)
    except notify.SendError:
        logger.warning("bundled page summary not sent")


def _fail_step(page_id: str, now: datetime, immediate: bool) -> None:
    """A send failed: retry with backoff, or (known failure) move on now."""
    for _ in range(3):
        page = store.get_page(page_id)
        if page is None or page.status != "open":
            return
        page.failures = (page.failures or 0) + 1
        if immediate:
            page.sent, page.attempt = True, "call"  # treat the step as spent: next advance moves on
            page.due_at = now
        else:
            page.sent = False
            page.due_at = now + min(MAX_BACKOFF, timedelta(seconds=30 * 2 ** min(page.failures, 6)))
        page.due_pk = DUE
        page.updated_at = now
        try:
            store.save_page(page)
            break
        except store.ConditionFailed:
            continue
    if immediate:
        advance(page_id, now)


def delivery_failed(page_id: str, sid: str, now: datetime) -> None:
    """Twilio reported failed/undelivered for a page SMS: fail over at once."""
    logger.info("page delivery failed", extra={"page": page_id, "sid": sid})
    _fail_step(page_id, now, immediate=True)


def acknowledge(ticket_id: int, person_id: str, now: datetime) -> None:
    """Stops the ticket's page (called by tickets' ACK paths)."""
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
    """Takes every due step; returns how many pages it looked at."""
    pages = store.due_pages(now)
    for page in pages:
        advance(page.id, now)
    return len(pages)


def _save_quietly(page: Page) -> None:
    try:
        store.save_page(page)
    except store.ConditionFailed:
        pass
