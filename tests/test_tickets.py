"""Tickets through the staff API: lifecycle, one owner, history, errors, races."""
from __future__ import annotations

import pytest

from chalicelib import store
from chalicelib.usecases import tickets
from chalicelib.usecases.tickets import Actor

BERLIN_MOBILE = "+4915112345678"


def event_types(api, ticket_id: int) -> list[str]:
    return [e["type"] for e in api.get(f"/tickets/{ticket_id}").json_body["events"]]


def test_a_ticket_lives_open_pending_resolved_closed_and_reopens(api):
    ana = api.person("Ana Lopez", "+4915100000001")
    t = api.ticket("our shop is down")
    assert (t["status"], t["tier"], t["owner"]) == ("open", 1, ana["id"])
    assert t["messages"][0]["text"] == "our shop is down"
    assert t["customer"]["contact"] == BERLIN_MOBILE

    assert api.post(f"/tickets/{t['id']}/pending").json_body["status"] == "pending"
    assert api.post(f"/tickets/{t['id']}/resolve").json_body["status"] == "resolved"
    assert api.post(f"/tickets/{t['id']}/close").json_body["status"] == "closed"
    reopened = api.post(f"/tickets/{t['id']}/reopen").json_body
    assert reopened["status"] == "open" and reopened["reopen_count"] == 1

    assert event_types(api, t["id"]) == [  # owner_told_later: Ana hears of it in the morning digest
        "created", "assigned", "message_in", "owner_told_later", "pending", "resolved", "closed", "reopened"]


def test_every_event_names_its_actor_and_time(api, clock_at):
    api.person("Ana Lopez", "+4915100000001")
    t = api.ticket()
    clock_at.advance(minutes=5)
    api.post(f"/tickets/{t['id']}/resolve")
    events = api.get(f"/tickets/{t['id']}").json_body["events"]
    resolved = events[-1]
    assert resolved["type"] == "resolved"
    assert resolved["actor"] == "admin"
    assert resolved["at"] == "2026-11-20T21:05:00+00:00"


def test_invalid_transitions_are_409_and_change_nothing(api):
    t = api.ticket()
    r = api.post(f"/tickets/{t['id']}/close")
    assert r.status_code == 409
    assert r.json_body["error"]["code"] == "invalid_transition"
    assert "open" in r.json_body["error"]["message"]
    api.post(f"/tickets/{t['id']}/resolve")
    assert api.post(f"/tickets/{t['id']}/resolve").status_code == 409
    assert event_types(api, t["id"]).count("resolved") == 1


def test_a_new_ticket_goes_to_the_tier_one_member_with_fewest_open_tickets(api):
    ana = api.person("Ana Lopez", "+4915100000001", tier=1)
    ben = api.person("Ben Okafor", "+4915100000002", tier=1)
    api.person("Chloe Martin", "+4915100000003", tier=2)
    owners = [api.ticket(contact=f"+49151000001{i:02d}")["owner"] for i in range(4)]
    assert sorted(owners) == sorted([ana["id"], ana["id"], ben["id"], ben["id"]])


def test_without_anyone_in_the_tier_the_ticket_is_up_for_grabs_never_ownerless(api):
    t = api.ticket()
    assert t["owner"] == tickets.UP_FOR_GRABS


def test_exactly_one_owner_through_ack_assign_and_pass_up(api):
    ana = api.person("Ana Lopez", "+4915100000001", tier=1)
    ben = api.person("Ben Okafor", "+4915100000002", tier=1)
    chloe = api.person("Chloe Martin", "+4915100000003", tier=2)
    t = api.ticket()
    first = t["owner"]
    other = ben if first == ana["id"] else ana
    assert first in (ana["id"], ben["id"])

    acked = api.post(f"/tickets/{t['id']}/ack", key=other["api_key"]).json_body
    assert acked["owner"] == other["id"] and acked["acked_at"]

    assigned = api.post(f"/tickets/{t['id']}/assign", {"person_id": ana["id"]}).json_body
    assert assigned["owner"] == ana["id"]

    up = api.post(f"/tickets/{t['id']}/pass-up", {"reason": "needs a refund decision"}, key=ana["api_key"])
    assert up.status_code == 200, up.body
    assert (up.json_body["tier"], up.json_body["owner"]) == (2, chloe["id"])

    detail = api.get(f"/tickets/{t['id']}").json_body
    owners = [e["owner"] for e in detail["events"] if e["type"] == "assigned"]
    expected = [first, other["id"], ana["id"], chloe["id"]]
    expected = [o for i, o in enumerate(expected) if i == 0 or o != expected[i - 1]]
    assert owners == expected
    passed = [e for e in detail["events"] if e["type"] == "passed_up"][0]
    assert passed["actor"] == ana["id"] and passed["reason"] == "needs a refund decision"


def test_pass_up_needs_a_reason_and_stops_at_the_top_tier(api):
    t = api.ticket()
    r = api.post(f"/tickets/{t['id']}/pass-up", {})
    assert r.status_code == 400 and r.json_body["error"]["field"] == "reason"
    api.post(f"/tickets/{t['id']}/pass-up", {"reason": "x"})
    api.post(f"/tickets/{t['id']}/pass-up", {"reason": "y"})
    r = api.post(f"/tickets/{t['id']}/pass-up", {"reason": "z"})
    assert r.status_code == 409 and r.json_body["error"]["code"] == "top_tier"


def test_reply_is_stored_and_sent_to_the_customer_over_sms(api):
    from chalicelib import notify

    ana = api.person("Ana Lopez", "+4915100000001")
    t = api.ticket()
    r = api.post(f"/tickets/{t['id']}/reply", {"text": "Hi, this is Ana, I'm on it"}, key=ana["api_key"])
    assert r.status_code == 201
    assert r.json_body["author"] == "agent" and r.json_body["author_name"] == "Ana"
    sent = [m for m in notify.outbox() if m["kind"] == "sms"]
    assert [(m["to"], m["body"]) for m in sent] == [(BERLIN_MOBILE, "Hi, this is Ana, I'm on it")]
    messages = api.get(f"/tickets/{t['id']}").json_body["messages"]
    assert [m["author"] for m in messages] == ["customer", "agent"]


def test_list_filters_and_paginates_with_a_cursor(api):
    api.person("Ana Lopez", "+4915100000001", tier=1)
    ids = [api.ticket(contact=f"+49151000002{i:02d}")["id"] for i in range(5)]
    api.post(f"/tickets/{ids[0]}/resolve")
    seen, cursor = [], None
    while True:
        path = "/tickets?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.get(path).json_body
        seen += [t["id"] for t in page["items"]]
        cursor = page["next"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))
    resolved = api.get("/tickets?status=resolved").json_body["items"]
    assert [t["id"] for t in resolved] == [ids[0]]
    assert api.get("/tickets?tier=2").json_body["items"] == []


@pytest.mark.parametrize("path,code,field", [
    ("/tickets?status=done", 400, "status"),
    ("/tickets?tier=zero", 400, "tier"),
    ("/tickets?cursor=!!notacursor", 400, "cursor"),
    ("/tickets/abc", 400, "ticket_id"),
    ("/tickets/99999", 404, None),
])
def test_bad_queries_get_a_clear_error_in_the_contract_shape(api, path, code, field):
    r = api.get(path)
    assert r.status_code == code
    err = r.json_body["error"]
    assert err["code"] and err["message"]
    if field:
        assert err["field"] == field and field in err["message"]


@pytest.mark.parametrize("raw,field", [
    ("not json", "body"),
    ("[1, 2]", "body"),
    ('{"text": 5, "contact": "+4915112345678"}', "text"),
    ('{"text": "hi", "contact": "+49 151"}', "contact"),
    ('{"text": "hi", "contact": "+4915112345678", "priority": "high"}', "priority"),
    ('{"text": "hi", "contact": "+4915112345678", "colour": "red"}', "colour"),
])
def test_bad_bodies_are_400_naming_the_field(api, raw, field):
    r = api.post("/tickets", raw=raw)
    assert r.status_code == 400, r.body
    assert r.json_body["error"]["field"] == field


def test_phone_numbers_in_common_forms_are_normalised(api):
    t = api.ticket(contact="0151 1234 5678")
    assert t["customer"]["contact"] == BERLIN_MOBILE


def test_oversized_bodies_are_413(api):
    r = api.post("/tickets", raw='{"text": "' + "x" * 70_000 + '"}')
    assert r.status_code == 413
    assert r.json_body["error"]["code"] == "body_too_large"


def test_wrong_content_type_is_415_in_the_contract_shape(api):
    r = api.post("/tickets", raw="text=hi", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 415
    assert r.json_body["error"]["code"] == "unsupported_media_type"


def test_two_concurrent_updates_of_one_ticket_both_land(api, monkeypatch):
    """Ben acknowledges while the admin answers: neither change is lost."""
    api.person("Ana Lopez", "+4915100000001")
    ben = api.person("Ben Okafor", "+4915100000002")
    t = api.ticket()
    real_save = store.save_ticket
    raced = {"done": False}

    def save_after_a_rival(change, **kw):
        if not raced["done"]:
            raced["done"] = True  # between our read and our write, Ben acknowledges
            assert api.post(f"/tickets/{t['id']}/ack", key=ben["api_key"]).status_code == 200
        return real_save(change, **kw)

    monkeypatch.setattr(store, "save_ticket", save_after_a_rival)
    r = api.post(f"/tickets/{t['id']}/reply", {"text": "on it"})
    assert r.status_code == 201
    detail = api.get(f"/tickets/{t['id']}").json_body
    assert detail["owner"] == ben["id"] and detail["acked_at"]
    assert [m["text"] for m in detail["messages"]] == ["our shop is down", "on it"]
    types = [e["type"] for e in detail["events"]]
    assert types.count("acked") == 1 and types.count("message_out") == 1


def test_conflicting_concurrent_resolves_apply_once(api, monkeypatch):
    t = api.ticket()
    real_save = store.save_ticket
    raced = {"done": False}

    def save_after_a_rival(change, **kw):
        if not raced["done"]:
            raced["done"] = True
            assert api.post(f"/tickets/{t['id']}/resolve").status_code == 200
        return real_save(change, **kw)

    monkeypatch.setattr(store, "save_ticket", save_after_a_rival)
    r = api.post(f"/tickets/{t['id']}/resolve")
    assert r.status_code == 409
    assert event_types(api, t["id"]).count("resolved") == 1


def test_a_stale_write_is_refused_by_the_version_condition(api, clock_at):
    t = api.ticket()
    from chalicelib.domain.tickets import Change

    first, second = store.get_ticket(t["id"]), store.get_ticket(t["id"])
    store.save_ticket(Change(first.replace(status="pending")), before=first, extra=())
    with pytest.raises(store.ConditionFailed):
        store.save_ticket(Change(second.replace(status="resolved")), before=second)
    assert store.get_ticket(t["id"]).status == "pending"


def test_ticket_numbers_are_short_and_sequential(api):
    numbers = [api.ticket(contact=f"+49151000003{i:02d}")["id"] for i in range(3)]
    assert numbers == [1, 2, 3]


def test_domain_never_reads_the_clock(clock_at):
    """`now` is a parameter: a ticket opened 'yesterday' says so."""
    from datetime import datetime, timezone

    then = datetime(2026, 3, 29, 0, 30, tzinfo=timezone.utc)
    t = tickets.open_ticket(channel="sms", now=then, contact=BERLIN_MOBILE, text="hi")
    tickets.resolve(t.id, Actor("p_x", "X"), then)
    assert store.get_ticket(t.id).resolved_at == then


def test_customer_message_after_resolve_reopens_as_repeat_contact(clock_at):
    from datetime import timedelta

    now = clock_at.now
    t = tickets.open_ticket(channel="sms", now=now, contact=BERLIN_MOBILE, text="hi")
    tickets.resolve(t.id, Actor("p_x", "X"), now)
    tickets.add_customer_message(t.id, "still broken", now + timedelta(days=2))
    _, events = tickets.history(t.id)
    reopened = [e for e in events if e.type == "reopened"][0]
    assert reopened.data["repeat_contact"] is True
    assert store.get_ticket(t.id).status == "open"


def test_admin_key_is_needed_even_for_reads_of_other_peoples_data(api):
    ben = api.person("Ben Okafor", "+4915100000002")
    assert api.get("/people", key=ben["api_key"]).status_code == 403
    assert api.get("/tickets", key=ben["api_key"]).status_code == 200


def test_owner_me_is_the_caller_and_nobody_for_the_bootstrap_key(api):
    """Issue 21: `owner=me` was 200 with an empty list."""
    ben = api.person("Ben Okafor", "+4915100000002")
    t = api.ticket()
    assert api.post(f"/tickets/{t['id']}/ack", key=ben["api_key"]).status_code == 200
    mine = api.get("/tickets?owner=me", key=ben["api_key"]).json_body["items"]
    assert [i["id"] for i in mine] == [t["id"]]
    r = api.get("/tickets?owner=me")  # the bootstrap admin key
    assert r.status_code == 400 and r.json_body["error"]["field"] == "owner"


def test_a_new_owner_always_hears_now_at_work_or_in_the_morning_digest(api, twilio, team, clock_at, schedule):
    """Issue 21: ticket #2 was assigned to Ben silently."""
    from datetime import timedelta

    from tests.data import CUSTOMER, owner_phone

    twilio.sms(CUSTOMER, "my invoice is wrong")  # Friday 22:00: after hours, a normal question
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    owner = twilio.phone(owner_phone(api, 1)).expect_nothing()  # nobody woken for it...
    clock_at.set(clock_at.now + timedelta(days=2, hours=11))  # Monday 09:00
    schedule("page_sweep")
    owner.expect_sms("1 ticket is yours: #1 tier 1")  # ...the morning digest tells them
    clock_at.advance(hours=2)
    twilio.sms("+4917700000009", "where is my parcel")
    twilio.phone("+4917700000009").expect_sms("ticket #2")
    twilio.phone(owner_phone(api, 2)).expect_sms("#2 is yours now (tier 1, normal): where is my parcel")
