"""Sweeps with bounded work per run (issue 36): a backlog drains over runs, pages first."""
from __future__ import annotations

from datetime import datetime, timezone

from tests.data import ANA, CUSTOMER
from tests.test_faults import twilio_down, twilio_up


def test_a_backlog_drains_over_runs_and_no_page_waits_behind_it(api, twilio, team, clock_at, schedule,
                                                                 monkeypatch):
    """Twilio was down for an hour: thirty answers to customers and an urgent page wait in the outbox. The
    first run after Twilio is back sends the page contact first; every run does at most its bound, and
    the rest goes out over the next runs, each item once."""
    from chalicelib import outbox

    monkeypatch.setattr(outbox, "SWEEP_ITEMS", 5, raising=False)
    clock_at.set(datetime(2026, 11, 21, 21, 0, tzinfo=timezone.utc))  # Saturday night: Ana holds the phone
    tickets = [api.ticket(f"question {n}", contact=f"+49151123{n:05d}") for n in range(30)]
    twilio.inbox.clear()
    twilio_down(twilio, "500")
    for t in tickets:  # answers written while Twilio answers 500: each stays due in the outbox
        assert api.post(f"/tickets/{t['id']}/reply", {"text": f"answer to #{t['id']}"}).status_code == 201
    clock_at.advance(minutes=5)
    twilio.sms(CUSTOMER, "URGENT the shop is down")  # its page contact fails too, and waits
    assert not twilio.inbox[ANA]
    twilio_up(twilio)
    clock_at.advance(minutes=5)
    schedule("page_sweep")
    assert any("URGENT #31" in m["body"] for m in twilio.inbox[ANA]), twilio.inbox[ANA]  # the page, first run
    answered = sum(1 for t in tickets for m in twilio.inbox[t["customer"]["contact"]])
    assert answered <= 4  # the run's bound, the page contact included
    for _ in range(8):
        clock_at.advance(minutes=1)
        schedule("page_sweep")
    for t in tickets:
        got = [m["body"] for m in twilio.inbox[t["customer"]["contact"]]]
        assert got == [f"answer to #{t['id']}"], (t["id"], got)  # every answer, once
    twilio.inbox.clear()
