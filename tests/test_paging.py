"""Paging that always reaches a human: ACK, timeouts, fail-over, racing sweeps."""
from __future__ import annotations

import pytest

from chalicelib import store
from chalicelib.usecases import paging
from tests.data import ANA, BEN, CHLOE, CUSTOMER


@pytest.fixture
def sweep(schedule):
    return lambda: schedule("page_sweep")


def page_types(api):
    return [e["type"] for e in api.get("/tickets/1").json_body["events"]
            if e["type"] in ("page_opened", "paged", "escalated_page", "page_exhausted", "page_skipped")]


def urgent_text(twilio):
    twilio.sms(CUSTOMER, "EMERGENCY: payments fail for everyone")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")


def test_ack_stops_the_escalation(api, twilio, team, clock_at, sweep):
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1").reply("ack 1").expect("Acknowledged")
    for _ in range(6):
        clock_at.advance(minutes=10)
        sweep()
    assert twilio.calls == []
    twilio.phone(BEN).expect_nothing()
    assert store.get_page("t1").status == "acked"


def test_api_ack_also_stops_it(api, twilio, team, clock_at, sweep):
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1")
    assert api.post("/tickets/1/ack", key=team["ana"]["api_key"]).status_code == 200
    clock_at.advance(minutes=30)
    sweep()
    twilio.phone(BEN).expect_nothing()
    assert twilio.calls == []


def test_no_ack_calls_the_holder_then_pages_the_backup_once_then_the_leads(api, twilio, team, clock_at, sweep):
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1")
    clock_at.advance(minutes=9)
    sweep()
    assert twilio.calls == []  # not yet: ack_timeout_minutes is 10
    clock_at.advance(minutes=1, seconds=1)
    sweep()
    sweep()
    assert [c["to"] for c in twilio.calls] == [ANA]  # second attempt: a call, once
    assert twilio.calls[0]["url"].endswith("/twilio/voice/page/1")
    clock_at.advance(minutes=10, seconds=1)
    sweep()
    sweep()
    twilio.phone(BEN).expect_sms("URGENT #1").expect_nothing()  # the backup, exactly once
    clock_at.advance(minutes=10, seconds=1)
    sweep()
    assert [c["to"] for c in twilio.calls] == [ANA, BEN]
    clock_at.advance(minutes=10, seconds=1)
    sweep()
    # Leads next: Ana is the only admin and already paged as holder, so the round ends and
    # the chain starts again with the holder (rounds: tests/test_rounds.py).
    assert store.get_page("t1").status == "open" and store.get_page("t1").round == 1
    twilio.phone(ANA).expect_sms("URGENT #1").expect_nothing()
    assert page_types(api).count("escalated_page") == 2
    # Nobody acknowledged for 15 minutes: the customer hears once that we keep trying (issue 21).
    twilio.phone(CUSTOMER).expect_sms("we are still trying to reach the person on call")


def test_leads_are_paged_after_holder_and_backup(api, twilio, team, clock_at, sweep):
    dana = api.person("Dana Lead", "+4915100000004", role="admin", tier=3)
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1")
    for _ in range(4):
        clock_at.advance(minutes=10, seconds=1)
        sweep()
    twilio.phone(BEN).expect_sms("URGENT #1")
    twilio.phone(dana["phone"]).expect_sms("URGENT #1")
    twilio.phone(CHLOE).expect_nothing()  # Chloe is neither holder, backup nor lead
    # Nobody acknowledged for 15 minutes: the customer hears once that we keep trying (issue 21).
    twilio.phone(CUSTOMER).expect_sms("we are still trying to reach the person on call")


def test_a_failed_page_sms_fails_over_at_once(api, twilio, team, clock_at):
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1")
    twilio.status(twilio.sent_sids[-1], "undelivered")
    twilio.phone(BEN).expect_sms("URGENT #1")  # no waiting out the timeout (Grafana OnCall #2622)
    assert "escalated_page" in page_types(api)


def test_two_overlapping_sweeps_never_double_page(api, twilio, team, clock_at, monkeypatch):
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1")
    clock_at.advance(minutes=10, seconds=1)
    paging.sweep(clock_at.now)  # the call to Ana
    clock_at.advance(minutes=10, seconds=2)  # past the call's timeout too: the backup is due
    real_due = store.due_pages
    state = {"raced": False}

    def due_then_let_a_rival_run(now, limit=100):
        pages = real_due(now, limit)
        if not state["raced"]:
            state["raced"] = True
            paging.sweep(now)  # the rival sweep takes the step between our read and our write
        return pages

    monkeypatch.setattr(store, "due_pages", due_then_let_a_rival_run)
    paging.sweep(clock_at.now)
    twilio.phone(BEN).expect_sms("URGENT #1").expect_nothing()
    assert page_types(api).count("escalated_page") == 1
    # Nobody acknowledged for 15 minutes: the customer hears once that we keep trying (issue 21).
    twilio.phone(CUSTOMER).expect_sms("we are still trying to reach the person on call")


def test_one_page_per_ticket_not_per_message(api, twilio, team, clock_at):
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1")
    clock_at.advance(minutes=1)
    twilio.sms(CUSTOMER, "URGENT still down!!")
    # Not a second page: the holder, who owns it out of hours, hears the customer's words.
    twilio.phone(ANA).expect_sms("#1 +4917712345678: URGENT still down!!").expect_nothing()
    assert page_types(api).count("page_opened") == 1


def test_a_twilio_outage_leaves_the_page_due_and_it_goes_out_later(api, twilio, team, clock_at, sweep):
    import responses as rsps

    from tests.fake_twilio import ACCOUNT_SID

    url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    twilio._responses.replace(rsps.POST, url, status=503, json={"code": 20500, "message": "down"})
    urgent_text(twilio)
    twilio.phone(ANA).expect_nothing()
    page = store.get_page("t1")
    item = store.get_outbox(paging.item_id(page))
    assert page.status == "open" and item.status == "due" and item.attempts == 1 and "503" in item.error
    twilio._responses.replace(rsps.POST, url, body="")
    twilio._responses.remove(rsps.POST, url)
    twilio._responses.add_callback(rsps.POST, url, callback=twilio._message)
    clock_at.advance(minutes=2)
    sweep()
    twilio.phone(ANA).expect_sms("URGENT #1")


def test_a_person_without_a_phone_is_not_skipped_silently(api, twilio, clock_at):
    ana = api.person("Ana Lopez", None, role="admin")
    ben = api.person("Ben Okafor", BEN)
    api.put("/rota", {"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"},
                      "shift_days": 7, "members": [ana["id"], ben["id"]], "start": "2026-11-20"})
    assert any("no phone" in w for w in api.get("/rota").json_body["warnings"])
    urgent_text(twilio)
    twilio.phone(BEN).expect_sms("URGENT #1")
    skipped = [e for e in api.get("/tickets/1").json_body["events"] if e["type"] == "page_skipped"]
    assert skipped[0]["to"] == ana["id"] and skipped[0]["why"] == "no phone number"


def test_the_paging_call_is_screened_and_press_1_acknowledges(api, twilio, team, clock_at, sweep):
    urgent_text(twilio)
    twilio.phone(ANA).expect_sms("URGENT #1")
    clock_at.advance(minutes=10, seconds=1)
    sweep()
    r = twilio.post("/twilio/voice/page/1", {"CallSid": twilio.calls[0]["sid"], "To": ANA})
    assert "Press 1" in r.body.decode()
    r = twilio.post("/twilio/voice/page/1/ack", {"CallSid": twilio.calls[0]["sid"], "To": ANA, "Digits": ""})
    assert "Not acknowledged" in r.body.decode()  # a voicemail presses nothing
    assert store.get_page("t1").status == "open"
    r = twilio.post("/twilio/voice/page/1/ack", {"CallSid": twilio.calls[0]["sid"], "To": ANA, "Digits": "1"})
    assert "Acknowledged" in r.body.decode()
    assert store.get_page("t1").status == "acked"
    assert api.get("/tickets/1").json_body["owner"] == team["ana"]["id"]


def test_a_storm_of_pages_becomes_one_bundled_summary(api, twilio, team, clock_at, monkeypatch):
    monkeypatch.setenv("PAGES_PER_HOUR", "2")
    for i in range(5):
        number = f"+49177555000{i}"
        twilio.sms(number, f"URGENT problem {i}")
        twilio.phone(number).expect_sms("ticket #")
    ana = twilio.phone(ANA).expect_sms("URGENT #1").expect_sms("URGENT #2")
    ana.expect_sms("More urgent tickets are waiting (#3").expect_nothing()
    suppressed = [e for e in api.get("/tickets/5").json_body["events"] if e["type"] == "page_suppressed"]
    assert suppressed and suppressed[0]["to"] == team["ana"]["id"]
    assert store.get_page("t5").sent  # still escalates after the timeout if nobody takes it


def test_a_failed_customer_reply_is_visible_on_the_ticket(api, twilio, team):
    twilio.sms(CUSTOMER, "hello")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    api.post("/tickets/1/reply", {"text": "on it"})
    twilio.phone(CUSTOMER).expect_sms("on it")
    twilio.status(twilio.sent_sids[-1], "undelivered")
    failed = [e for e in api.get("/tickets/1").json_body["events"] if e["type"] == "delivery_failed"]
    assert failed[0]["status"] == "undelivered"


def test_a_later_round_says_which_and_the_customer_hears_once_that_we_keep_trying(api, twilio, team, clock_at,
                                                                                   sweep):
    """Issue 21: the round-2 page read exactly like round 1, and the urgent customer heard nothing
    for as long as the rounds lasted after "paged now"."""
    urgent_text(twilio)
    first = twilio.phone(ANA).expect_sms("URGENT #1 (sms)").last["body"]
    assert "round" not in first
    for _ in range(4):  # Ana's call, Ben's SMS and call, then the chain starts again
        clock_at.advance(minutes=10, seconds=1)
        sweep()
    twilio.phone(BEN).expect_sms("URGENT #1")
    twilio.phone(ANA).expect_sms("URGENT #1 round 2/6 (sms)").expect_nothing()
    twilio.phone(CUSTOMER).expect_sms("Ticket #1: we are still trying to reach the person on call").expect_nothing()
    for _ in range(6):
        clock_at.advance(minutes=10, seconds=1)
        sweep()
    twilio.inbox[ANA].clear()
    twilio.inbox[BEN].clear()
    twilio.phone(CUSTOMER).expect_nothing()  # once, not every round
    ticket = api.get("/tickets/1").json_body
    assert [e["type"] for e in ticket["events"]].count("customer_told") == 1
    # v1.2: the conversation shows staff every word the customer read, in order.
    assert [(m["author"], m["text"][:40]) for m in ticket["messages"]] == [
        ("customer", "EMERGENCY: payments fail for everyone"[:40]),
        ("system", "Thanks - this is ticket #1. It's after h"),
        ("system", "Ticket #1: we are still trying to reach ")]
    assert ticket["messages"][1]["text"].endswith("the on-call person has been paged now.")  # what was sent
