"""Paging: a chain of steps that always reaches a human, over the outbox.

An urgent ticket opens its page (one per urgent episode) in the same
transaction that makes it urgent, with the first step's outbox item. Each
later step is one transaction of its own: the page (conditional on the step
it replaces, so two sweeps never take a step twice), a check that the ticket
is still open and unacknowledged, the step's events and its outbox item —
the ticket itself is not read. A step's acknowledgement clock starts when
its SMS or call really went out: while Twilio is unreachable the step waits
(its item retries), and a contact that failed for good (invalid number,
STOP, undelivered) moves the chain on at once. Who comes next is decided in
chalicelib.domain.paging.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

from chalicelib import config, expectations, limits, outbox, settings, store
from chalicelib.domain import limits as rate
from chalicelib.domain import outbox as outbox_rules
from chalicelib.domain import paging as rules
from chalicelib.domain import texts, words
from chalicelib.domain import tickets as ticket_rules
from chalicelib.domain.paging import Page
from chalicelib.domain.tickets import PHONE_CHANNELS, Ticket, next_page_id
from chalicelib.logs import logger

WAIT_FOR_SEND = timedelta(minutes=1)  # re-check a step whose contact has not gone out yet
current_rota = settings.current_rota


def chain_at(now: datetime, leads_only: bool = False) -> list[dict]:
    """Who is paged, in order: holder, backup, then every lead not already in it."""
    rot = None if leads_only else settings.current_rota()
    holder = rot.holder_at(now) if rot is not None else None
    backup = rot.backup_at(now) if rot is not None else None
    admins = [p.id for p in store.all_people() if p.role == "admin"]
    return [{"person_id": link.person_id, "role": link.role} for link in rules.chain(holder, backup, admins)]


def page_text(ticket: Ticket, reason: str | None = None, lang: str | None = None, quote: str | None = None) -> str:
    """`quote`: the customer's words that made the ticket urgent (issue 34: a page quoted the ticket's
    first message, "Hallo, meine Bestellung 5521 ...", not the "DRINGEND Kasse defekt" that paged)."""
    return rules.page_text(ticket.id, ticket.channel, quote or ticket.subject, ticket.tier, reason,
                           caller=ticket.customer_contact, lang=lang)


def _page_texts(ticket: Ticket, reason: str, chain: list[dict], quote: str | None = None) -> tuple:
    """The page SMS in each language its chain's people read (issue 24), fixed when it opens."""
    people = _people()
    langs = sorted({words.supported(people[c["person_id"]].language) or words.business()
                    for c in chain if c["person_id"] in people})
    return tuple((lang, page_text(ticket, reason, lang, quote)) for lang in langs if lang != words.business())


def _text_for(page: Page, lang: str | None) -> str:
    return dict(page.texts).get(words.supported(lang) or words.business(), page.text or "")


def ack_timeout() -> timedelta:
    return settings.ack_timeout()


def max_rounds() -> int:
    return settings.max_page_rounds()


def item_id(page: Page) -> str:
    return f"page#{page.id}#{page.key}"


def _links(page: Page) -> list[rules.Link]:
    return [rules.Link(c["person_id"], c["role"]) for c in page.chain]


def _people() -> dict:
    return {p.id: p for p in store.all_people()}


def _phones() -> dict[str, str | None]:
    return {p.id: p.phone for p in store.all_people()}


def _language(person_id: str) -> str | None:
    person = _people().get(person_id)
    return person.language if person is not None else None


class Step:
    """What taking a step decided: events for the ticket, writes for one transaction.

    A plain slotted class, not a dataclass: the webhook path imports this module (cold start).
    """

    __slots__ = ("page", "events", "writes", "outbox_ids", "budget_person", "bundle")

    def __init__(self, page: Page):
        self.page = page
        self.events: list[tuple[str, dict]] = []
        self.writes: list[store.Write] = []
        self.outbox_ids: list[str] = []
        self.budget_person: str | None = None  # whose page budget this step spends (tag "budget" if spent)
        self.bundle: tuple[str, str | None, int] | None = None  # (person, phone, ticket): a storm summary after commit


def _plan(page: Page, pos: rules.Position | None, skips: list[rules.Skip], now: datetime,
          suppress: frozenset[str] = frozenset()) -> Step:
    """Moves `page` to `pos` (None: exhausted) and plans its contact."""
    events = [("page_skipped", {"to": s.person_id, "why": s.why}) for s in skips]
    if pos is None:
        page = page.replace(status=rules.EXHAUSTED, due_at=None, updated_at=now)
        step = Step(page)
        step.events = events
        step.events.append(("page_exhausted", {"rounds": (page.round or 0) + 1}))
        # Nobody acknowledged in any round: every admin hears it, once (the ids are per page and admin).
        for admin in (p for p in store.all_people() if p.role == "admin" and p.phone):
            item = outbox.sms(admin.phone, texts.unacknowledged(page.ticket_id, (page.round or 0) + 1, admin.language),
                              purpose="notice", now=now, key=f"unacked#{page.id}#{admin.id}",
                              ticket_id=page.ticket_id, person_id=admin.id)
            step.writes.append(store.outbox_put(item))
            step.outbox_ids.append(item.id)
        return step
    if pos.step != page.step or pos.round != (page.round or 0):
        link = page.chain[pos.step]
        events.append(("escalated_page", {"to": link["person_id"], "role": link["role"]}))
    page = page.replace(round=pos.round, step=pos.step, attempt=pos.attempt, sent=True, sent_at=None,
                        key=f"{page.created_at.isoformat()}|{pos.key()}", due_at=now + ack_timeout(),
                        updated_at=now)
    step = Step(page)
    step.events = events
    link = page.chain[pos.step]
    person = link["person_id"]
    phone = _phones().get(person)
    if pos.attempt == "sms":
        if person in suppress:
            # A storm: one summary instead of a phone that never stops buzzing. The step still
            # counts, so the page escalates as usual if nobody acknowledges.
            step.events.append(("page_suppressed", {"to": person, "why": "pages per hour reached"}))
            step.bundle = (person, phone, page.ticket_id)
            step.page = page.replace(sent_at=now)
            return step
        step.writes.append(limits.take_write(rate.PAGES, person, now))  # beyond it, one bundled summary
        step.budget_person = person
        lang = _language(person)
        text = rules.in_round(_text_for(page, lang), pos.round + 1, max_rounds(), lang)
        item = outbox.sms(phone, text, purpose="page", now=now,
                          key=item_id(page), ticket_id=page.ticket_id, person_id=person, page_id=page.id,
                          page_key=page.key, role=link["role"])
    else:
        item = outbox.call(phone, f"{config.public_base_url()}/twilio/voice/page/{page.ticket_id}",
                           purpose="page", now=now, key=item_id(page), ticket_id=page.ticket_id,
                           person_id=person, page_id=page.id, page_key=page.key, role=link["role"])
    step.writes.append(store.outbox_put(item))
    step.outbox_ids.append(item.id)
    return step


def open_step(ticket: Ticket, now: datetime, reason: str, leads_only: bool = False,
              suppress: frozenset[str] = frozenset(), quote: str | None = None) -> Step | None:
    """Plans a new page for `ticket`, to commit with the change that makes it urgent
    (the ticket takes the page's id: domain.tickets.page_opened). None while an earlier page
    of it still runs. Every round of it quotes `quote`, the message that made it urgent."""
    if ticket.page_id:
        running = store.get_page(ticket.page_id)
        if running is not None and running.is_open:
            return None
    links = chain_at(now, leads_only)
    page = Page(id=next_page_id(ticket), ticket_id=ticket.id, chain=tuple(links),
                created_at=now, updated_at=now, reason=reason, text=page_text(ticket, reason, quote=quote),
                texts=_page_texts(ticket, reason, links, quote),
                customer=ticket.customer_contact if ticket.channel in PHONE_CHANNELS else None)
    phones = _phones()
    pos, skips = rules.first(_links(page), lambda pid: bool(phones.get(pid)), max_rounds())
    step = _plan(page, pos, skips, now, suppress)
    step.events = [("page_opened", {"reason": reason, "chain": [c["person_id"] for c in page.chain]})] + [
        e for e in step.events if e[0] != "escalated_page" or (pos is not None and pos.step > 0)]
    step.writes.insert(0, store.page_open_write(step.page))
    return step


def after_commit(step: Step, now: datetime) -> dict[str, outbox.Result]:
    """Sends what the committed step planned: its contact, or once per hour a storm summary."""
    if step.bundle is not None:
        _bundle(*step.bundle, now)
    results = outbox.dispatch(step.outbox_ids, now)
    for result in results.values():
        if result.status == "dead":  # a permanent failure: the chain moves on now, not at the timeout
            page = store.get_page(step.page.id)
            if page is not None and page.is_open and item_id(page) == result.id:
                _next(page, now, failed=True)
    return results


def advance(page: Page, now: datetime) -> None:
    """Takes the due page's next step, if any; safe to call from racing sweeps.

    `page` may come from the due index (a GSI, possibly stale): every write
    is conditional on the step it saw, so a stale copy only loses the race.
    """
    if not page.is_open or page.due_at is None or page.due_at > now:
        return
    failed = False
    if page.key and page.sent_at is None:
        current = store.get_outbox(item_id(page))
        if current is not None and current.status in (outbox_rules.DUE, outbox_rules.SENDING):
            store.postpone_page(page.id, page.key, now + WAIT_FOR_SEND, now)  # the clock starts when it goes
            return
        if current is not None and current.status == outbox_rules.SENT and current.sent_at + ack_timeout() > now:
            store.postpone_page(page.id, page.key, current.sent_at + ack_timeout(), now)
            return
        failed = current is not None and current.status == outbox_rules.DEAD
    _next(page, now, failed=failed)


def _next(page: Page, now: datetime, failed: bool = False) -> None:
    """Commits the step after the page's current one (a contact that failed for good: the next person,
    at once — Grafana OnCall #2622)."""
    old_key = page.key
    phones = _phones()
    attempt = "call" if failed else page.attempt
    suppress: frozenset[str] = frozenset()
    for _ in range(3):
        pos, skips = rules.after(rules.Position(page.round or 0, page.step, attempt), _links(page),
                                 lambda pid: bool(phones.get(pid)), max_rounds())
        step = _plan(page, pos, skips, now, suppress)
        ticket_writes = [store.ticket_still_paging(page.ticket_id, page.created_at)]
        if rules.still_trying(page, now):
            told = _tell_customer(step, now)
            if told is None:  # acknowledged or resolved meanwhile
                store.end_page(page.id, rules.CANCELLED, now)
                return
            ticket_writes = told
        events = [store.loose_event_write(page.ticket_id, t, now, **d) for t, d in step.events]
        writes = [store.page_step_write(step.page, old_key), *ticket_writes, *events, *step.writes]
        try:
            store.transact(writes)
        except store.ConditionFailed as exc:
            if "budget" in exc.tags and step.budget_person:
                suppress = frozenset({step.budget_person})
                page = store.get_page(page.id) or page
                continue
            if "ticket" in exc.tags and ticket_writes[0].op != "check":
                continue  # the ticket changed while we told its customer: decide again on fresh data
            if "ticket" in exc.tags:
                store.end_page(page.id, rules.CANCELLED, now)  # acknowledged or resolved meanwhile
            return  # or another sweep took this step
        after_commit(step, now)
        return


def _tell_customer(step: Step, now: datetime) -> list | None:
    """The urgent customer hears once that we are still trying (with this step, in its transaction),
    and the words are a system message in their conversation. Returns the ticket's writes (which
    replace the step's check: the ticket is written conditional on the version read, still active
    and unacknowledged), or None when it no longer is."""
    page = step.page
    ticket = store.get_ticket(page.ticket_id)
    if ticket is None or not ticket.is_active or (ticket.acked_at is not None and ticket.acked_at >= page.created_at):
        return None
    text = expectations.still_trying(page.ticket_id, expectations.language(ticket))
    change = ticket_rules.told(ticket, text, now, what="still trying to reach the person on call")
    item = outbox.sms(page.customer, text, purpose="notice", now=now, key=f"still#{page.id}", ticket_id=page.ticket_id)
    step.writes.append(store.outbox_put(item))
    step.outbox_ids.append(item.id)
    step.page = page.replace(customer_told=True)
    return store.change_writes(change, before=ticket)


def _bundle(person_id: str, phone: str | None, ticket_id: int, now: datetime) -> None:
    """One summary per person and hour (its id is the hour: written once, sent once)."""
    if not phone:
        return
    item = outbox.sms(phone, texts.storm_bundle(ticket_id, _language(person_id)), purpose="notice", now=now,
                      person_id=person_id, key=f"bundle#{person_id}#{now.strftime('%Y%m%d%H')}")
    try:
        store.transact([store.outbox_put(item)])
    except store.ConditionFailed:
        return  # this hour's summary exists already
    outbox.dispatch([item.id], now)


def delivery_failed(page_id: str, page_key: str | None, now: datetime) -> None:
    """Twilio reported failed/undelivered for a page contact: fail over at once — but only
    when that contact is still the page's current step (a late callback changes nothing)."""
    page = store.get_page(page_id)
    if page is None or not page.is_open or page.key != page_key:
        logger.info("late delivery failure ignored", extra={"page": page_id})
        return
    _next(page, now, failed=True)


def acknowledge(ticket: Ticket, person_id: str, now: datetime) -> None:
    """Stops the ticket's page at once (ACK or resolve from any channel): one conditional write."""
    store.end_page(ticket.page_id, rules.ACKED, now, acked_by=person_id)


def sweep(now: datetime) -> int:
    """Page contacts that are due first, then every due page step, then the rest of the outbox; returns
    pages looked at. Bounded (issue 36): nothing new is started after the run's deadline, and what is
    left waits for the next minute, so a backlog never makes a run time out (and page nobody), and
    no page waits behind normal work.

    Each page and each item is its own unit: one failure never stops the rest.
    """
    until = outbox.deadline()
    contacts, rest = outbox.due_now(now)
    sent = outbox.send(contacts, now, until)
    pages = store.due_pages(now)
    for page in pages:
        if time.monotonic() > until:
            break
        try:
            advance(page, now)
        except Exception:  # noqa: BLE001 - the next page still gets its turn
            logger.exception("page step failed", extra={"page": page.id})
    outbox.send(rest, now, until, most=max(0, outbox.SWEEP_ITEMS - len(sent)))
    return len(pages)
