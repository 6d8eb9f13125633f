"""The outbox use case against the in-memory store and a scripted sender: no DynamoDB, no HTTP."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib import notify, outbox
from chalicelib.domain.tickets import Ticket
from chalicelib.store.models import Page
from tests.memory_store import MemoryStore

pytestmark = pytest.mark.pure
NOW = datetime(2026, 11, 21, 21, 0, tzinfo=timezone.utc)
HOLDER = "+4915100000001"


class Sender:
    """A scripted Twilio: each send pops the next outcome (a sid, or an exception to raise)."""

    def __init__(self, *outcomes):
        self.outcomes = list(outcomes)
        self.sent: list[tuple[str, str]] = []
        self.log: list[tuple[str, str, str]] = []  # what Twilio really accepted: (kind, to, body)

    def _next(self, kind: str, to: str, body: str) -> str:
        outcome = self.outcomes.pop(0) if self.outcomes else f"SM{len(self.sent):032d}"
        if isinstance(outcome, Exception):
            raise outcome
        self.sent.append((to, body))
        self.log.append((kind, to, body))
        return outcome

    def send_sms(self, to, body, *, now, media_url=None):
        return self._next("sms", to, body)

    def place_call(self, to, url, *, now, timeout=25):
        return self._next("call", to, url)

    def find_sent(self, kind, to, body, since):
        return next((f"SM-found-{i}" for i, (k, t, b) in enumerate(self.log) if (k, t, b) == (kind, to, body)), None)


@pytest.fixture
def world(monkeypatch):
    mem = MemoryStore()
    monkeypatch.setattr(outbox, "store", mem)

    class Settings:
        @staticmethod
        def ack_timeout():
            return timedelta(minutes=10)

    monkeypatch.setattr(outbox, "settings", Settings)
    return mem


def _use(monkeypatch, sender: Sender) -> Sender:
    monkeypatch.setattr(outbox, "notify", sender)
    sender.SendError = notify.SendError
    return sender


def _queue(mem: MemoryStore, item) -> str:
    mem.transact([mem.outbox_put(item)])
    return item.id


def _reply(ticket_id: int = 7):
    return outbox.sms("+4917712345678", "it ships tomorrow", purpose="reply", now=NOW, key="reply#SMabc",
                      ticket_id=ticket_id, message_sk="msg#000000004")


def test_twilio_down_backs_off_and_the_item_goes_out_when_it_answers(world, monkeypatch):
    down = notify.SendError("Twilio could not be reached (ConnectionError)")
    sender = _use(monkeypatch, Sender(down, down, down))
    item_id = _queue(world, _reply())
    now = NOW
    for expected_wait in (30, 60, 120):
        assert outbox.deliver(item_id, now).status == "due"
        item = world.get_outbox(item_id)
        assert item.due_at == now + timedelta(seconds=expected_wait) and item.failures == item.attempts
        assert outbox.deliver(item_id, now).status == "due"  # not due yet: nothing is tried
        now = item.due_at
    assert outbox.deliver(item_id, now).status == "sent"
    assert sender.sent == [("+4917712345678", "it ships tomorrow")]
    sent = world.get_outbox(item_id)
    assert sent.status == "sent" and world.outbound[sent.sid].outbox_id == item_id
    assert world.outbox[item_id].due_pk is None  # out of the due index


def test_a_permanent_failure_is_dead_at_once_and_told_on_the_ticket(world, monkeypatch):
    _use(monkeypatch, Sender(notify.SendError("Twilio answered HTTP 400 (error 21211)", permanent=True)))
    item_id = _queue(world, _reply())
    result = outbox.deliver(item_id, NOW)
    assert result.status == "dead" and "21211" in result.error
    assert world.get_outbox(item_id).status == "dead" and world.outbox[item_id].dead_pk == "dead"
    assert world.events(7) == [("delivery_failed", {"message": "msg#000000004", "purpose": "reply",
                                                    "error": "Twilio answered HTTP 400 (error 21211)"})]
    assert outbox.sweep(NOW + timedelta(hours=1)) == {}  # never tried again


def test_too_many_attempts_make_it_dead(world, monkeypatch):
    _use(monkeypatch, Sender(*[notify.SendError("HTTP 500")] * outbox.MAX_ATTEMPTS))
    item_id = _queue(world, _reply())
    now = NOW
    for _ in range(outbox.MAX_ATTEMPTS):
        result = outbox.deliver(item_id, now)
        now = now + timedelta(minutes=10)
    assert result.status == "dead" and result.error.startswith(f"gave up after {outbox.MAX_ATTEMPTS} attempts")


def test_a_leased_item_is_left_to_its_sender(world, monkeypatch):
    sender = _use(monkeypatch, Sender())
    item_id = _queue(world, _reply())
    assert world.lease_outbox(item_id, NOW, outbox.LEASE) is not None  # another sender holds it
    assert outbox.deliver(item_id, NOW + timedelta(seconds=30)).status == "sending"
    assert sender.sent == []


def test_a_sender_that_died_after_sending_is_not_repeated(world, monkeypatch):
    """The crash-after-send window: Twilio's own log says it went out, so it is not sent again."""
    sender = _use(monkeypatch, Sender())
    item_id = _queue(world, _reply())
    leased = world.lease_outbox(item_id, NOW, outbox.LEASE)
    sender.send_sms(leased.to, leased.body, now=NOW)  # ... and the Lambda died before recording it
    assert outbox.deliver(item_id, NOW + outbox.LEASE).status == "sent"
    assert len(sender.sent) == 1
    assert world.get_outbox(item_id).sid == "SM-found-0"


def test_a_page_contact_waiting_out_an_outage_is_cancelled_once_acknowledged(world, monkeypatch):
    sender = _use(monkeypatch, Sender(notify.SendError("HTTP 503")))
    world.tickets[7] = Ticket(id=7, status="open", channel="sms", owner="p_ana", created_at=NOW, updated_at=NOW)
    page = Page(id="t7", ticket_id=7, chain=[], status="open", key=f"{NOW.isoformat()}|0.0.sms",
                created_at=NOW, updated_at=NOW)
    world.pages["t7"] = page
    item = outbox.sms(HOLDER, "URGENT #7", purpose="page", now=NOW, key=f"page#t7#{page.key}", ticket_id=7,
                      person_id="p_ana", page_id="t7", page_key=page.key, role="holder")
    item_id = _queue(world, item)
    assert outbox.deliver(item_id, NOW).status == "due"
    world.tickets[7] = world.tickets[7].replace(acked_at=NOW + timedelta(seconds=20))  # Ana took it in the app
    assert outbox.deliver(item_id, NOW + timedelta(minutes=1)).status == "cancelled"
    assert sender.sent == []


def test_a_page_contact_that_goes_out_starts_its_steps_clock_and_is_recorded(world, monkeypatch):
    _use(monkeypatch, Sender())
    world.tickets[7] = Ticket(id=7, status="open", channel="sms", owner="p_ana", created_at=NOW, updated_at=NOW)
    key = f"{NOW.isoformat()}|0.0.sms"
    world.pages["t7"] = Page(id="t7", ticket_id=7, chain=[], status="open", key=key, created_at=NOW,
                             updated_at=NOW)
    item = outbox.sms(HOLDER, "URGENT #7", purpose="page", now=NOW, key=f"page#t7#{key}", ticket_id=7,
                      person_id="p_ana", page_id="t7", page_key=key, role="holder")
    later = NOW + timedelta(minutes=3)
    item = item.replace(due_at=later)
    assert outbox.deliver(_queue(world, item), later).status == "sent"
    assert world.pages["t7"].sent_at == later and world.pages["t7"].due_at == later + timedelta(minutes=10)
    assert world.events(7) == [("paged", {"to": "p_ana", "role": "holder", "via": "sms"})]


def test_one_failing_item_never_stops_the_sweep(world, monkeypatch):
    sender = _use(monkeypatch, Sender(RuntimeError("a bug in one item")))
    first = _queue(world, outbox.sms("+4917700000001", "one", purpose="notice", now=NOW, key="a"))
    second = _queue(world, outbox.sms("+4917700000002", "two", purpose="notice", now=NOW, key="b"))
    results = outbox.sweep(NOW)
    assert results[first].status == "due" and results[second].status == "sent"
    assert sender.sent == [("+4917700000002", "two")]
