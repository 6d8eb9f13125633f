"""The 20-hour rule: tier 1 → 2 → 3 → one breach page, each exactly once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib import store
from chalicelib.usecases import tickets, tier_moves, tiers
from tests.data import ANA, CUSTOMER

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def sweep(schedule):
    return lambda: schedule("tier_sweep")


def kinds(api, ticket_id):
    return [e["type"] for e in api.get(f"/tickets/{ticket_id}").json_body["events"]
            if e["type"] in ("escalated", "passed_up", "breach", "page_opened")]


def test_tier_1_to_2_to_3_then_one_breach_page(api, twilio, team, clock_at, sweep):
    dana = api.person("Dana Lead", "+4915100000004", role="admin", tier=3)
    start = clock_at.now
    t = api.ticket("invoice is wrong", contact=CUSTOMER)
    assert t["tier"] == 1 and t["owner"] in (team["ana"]["id"], team["ben"]["id"])
    clock_at.set(start + timedelta(hours=19))
    sweep()
    assert api.get(f"/tickets/{t['id']}").json_body["tier"] == 1
    clock_at.set(start + timedelta(hours=20, minutes=1))
    sweep()
    sweep()
    now = api.get(f"/tickets/{t['id']}").json_body
    assert (now["tier"], now["owner"]) == (2, team["chloe"]["id"])
    clock_at.set(start + timedelta(hours=40, minutes=1))
    sweep()
    now = api.get(f"/tickets/{t['id']}").json_body
    assert (now["tier"], now["owner"]) == (3, dana["id"])
    clock_at.set(start + timedelta(hours=60, minutes=1))
    sweep()
    sweep()
    assert kinds(api, t["id"]) == ["escalated", "escalated", "breach", "page_opened"]
    twilio.phone(ANA).expect_sms(f"BREACH #{t['id']}")  # leads: Ana and Dana are admins
    twilio.phone(dana["phone"]).expect_nothing()  # the second lead is next if Ana does not ACK
    clock_at.set(start + timedelta(hours=80, minutes=2))
    sweep()
    assert kinds(api, t["id"]).count("breach") == 1
    escalated = [e for e in api.get(f"/tickets/{t['id']}").json_body["events"] if e["type"] == "escalated"]
    assert all(e["actor"] == "system" for e in escalated)


def test_pending_time_is_not_counted(api, team, clock_at, sweep):
    start = clock_at.now
    t = api.ticket("question", contact=CUSTOMER)
    clock_at.set(start + timedelta(hours=10))
    api.post(f"/tickets/{t['id']}/pending")
    clock_at.set(start + timedelta(hours=30))  # 20 h waiting on the customer
    sweep()
    assert api.get(f"/tickets/{t['id']}").json_body["tier"] == 1
    tickets.add_customer_message(t["id"], "here is the info", clock_at.now)  # restarts with 10 h left
    assert store.get_ticket(t["id"]).tier_due_at == clock_at.now + timedelta(hours=10)
    clock_at.set(start + timedelta(hours=39, minutes=59))
    sweep()
    assert api.get(f"/tickets/{t['id']}").json_body["tier"] == 1
    clock_at.set(start + timedelta(hours=40, minutes=1))
    sweep()
    assert api.get(f"/tickets/{t['id']}").json_body["tier"] == 2


def test_pass_up_and_sweep_are_told_apart(api, team, clock_at, sweep):
    start = clock_at.now
    t = api.ticket("question", contact=CUSTOMER)
    api.post(f"/tickets/{t['id']}/pass-up", {"reason": "needs billing"}, key=team["ben"]["api_key"])
    assert store.get_ticket(t["id"]).tier_due_at == start + timedelta(hours=20)  # a fresh 20 h in tier 2
    clock_at.set(start + timedelta(hours=20, minutes=1))
    sweep()
    assert kinds(api, t["id"]) == ["passed_up", "escalated"]


def test_a_resolved_ticket_leaves_the_due_index_and_is_never_moved(api, team, clock_at, sweep, monkeypatch):
    start = clock_at.now
    t = api.ticket("question", contact=CUSTOMER)
    clock_at.set(start + timedelta(hours=21))
    # Resolved while the sweep runs: between its Query and its write.
    real = store.tickets_due

    def due_then_resolve(now, limit=500):
        ids = real(now, limit)
        api.post(f"/tickets/{t['id']}/resolve")
        return ids

    monkeypatch.setattr(store, "tickets_due", due_then_resolve)
    sweep()
    after = api.get(f"/tickets/{t['id']}").json_body
    assert (after["status"], after["tier"]) == ("resolved", 1)
    assert store.tickets_due(clock_at.now + timedelta(days=9)) == []


def test_overlapping_sweeps_move_a_ticket_once(api, team, clock_at, monkeypatch):
    start = clock_at.now
    t = api.ticket("question", contact=CUSTOMER)
    clock_at.set(start + timedelta(hours=20, minutes=1))
    real_save = store.save_ticket
    state = {"raced": False}

    def save_after_rival(change, **kw):
        if not state["raced"]:
            state["raced"] = True
            tier_moves.tier_sweep(clock_at.now)  # the overlapping sweep lands first
        return real_save(change, **kw)

    monkeypatch.setattr(store, "save_ticket", save_after_rival)
    tier_moves.tier_sweep(clock_at.now)
    assert kinds(api, t["id"]).count("escalated") == 1
    assert api.get(f"/tickets/{t['id']}").json_body["tier"] == 2


def test_urgent_tickets_out_of_hours_go_to_the_phone_holder(api, team):
    t = api.ticket("URGENT server down", contact=CUSTOMER, priority="urgent")  # Friday 22:00
    assert t["owner"] == team["ana"]["id"]


def test_business_hours_clock_is_dst_correct(api, team, monkeypatch):
    api.put("/policy", {"tiers": [{"tier": 1, "sla_hours": 20, "clock": "business", "timezone": "Europe/Berlin"},
                                  {"tier": 2}, {"tier": 3}], "ack_timeout_minutes": 10})
    # Friday 2026-10-23 16:00 Berlin (summer time); 8 h business days, Mon-Fri 09-17.
    start = datetime(2026, 10, 23, 16, 0, tzinfo=BERLIN)
    due = tiers.deadline(1, start.astimezone(timezone.utc))
    # 1 h Friday, then 8 h Mon/Tue (clocks changed on Sunday), 3 h Wednesday: Wed 12:00 local.
    assert due.astimezone(BERLIN) == datetime(2026, 10, 28, 12, 0, tzinfo=BERLIN)
    assert due.astimezone(BERLIN).utcoffset() == timedelta(hours=1)
    assert tiers.business_time_between(start, due, BERLIN) == timedelta(hours=20)


def test_policy_validation(api, team):
    r = api.put("/policy", {"tiers": [{"tier": 1}, {"tier": 3}]})
    assert r.status_code == 400 and r.json_body["error"]["field"] == "tiers"
    r = api.put("/policy", {"tiers": [{"tier": 1, "sla_hours": -1}]})
    assert r.status_code == 400 and r.json_body["error"]["field"] == "tiers[0].sla_hours"
    r = api.put("/policy", {"tiers": [{"tier": 1, "clock": "lunar"}]})
    assert r.status_code == 400 and r.json_body["error"]["field"] == "tiers[0].clock"
    assert api.put("/policy", {"tiers": [{"tier": 1}], "ack_timeout_minutes": 5}, key=team["ben"]["api_key"]
                   ).status_code == 403
    assert api.get("/policy").json_body["ack_timeout_minutes"] == 10
