"""Nothing missed (Twilio's logs read back) and the engine watched (heartbeats, /status)."""
from __future__ import annotations

from datetime import timedelta

from tests.data import ANA, CUSTOMER, FRIDAY_NIGHT
from tests.fake_twilio import ACCOUNT_SID, new_sid
from tests.faults import Crash, DynamoFaults
from tests.test_faults import URGENT, fresh_world, pages_to, sms_params, twilio_down

SATURDAY_NIGHT = FRIDAY_NIGHT + timedelta(days=1)


def _minutes(clock_at, schedule, n: int) -> None:
    for _ in range(n):
        clock_at.advance(minutes=1)
        schedule("reconcile_sweep")
        schedule("page_sweep")


def test_an_sms_whose_webhook_never_ran_becomes_one_ticket_within_5_minutes(api, twilio, team, clock_at,
                                                                             schedule):
    sid = twilio.lost_sms(CUSTOMER, "hello, is anyone there? my order never came")
    assert api.get("/tickets").json_body["items"] == []
    _minutes(clock_at, schedule, 5)
    items = api.get("/tickets").json_body["items"]
    assert len(items) == 1
    assert [m["text"] for m in api.get("/tickets/1").json_body["messages"] if m["author"] == "customer"] == [
        "hello, is anyone there? my order never came"]
    twilio.phone(CUSTOMER).expect_sms("ticket #1")  # the acknowledgement, by REST this time
    # The webhook arrives late after all: nothing is added, nothing is said twice.
    params = {"MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": CUSTOMER, "To": twilio.support,
              "Body": "hello, is anyone there? my order never came", "NumMedia": "0"}
    late = twilio.post("/twilio/sms", params)
    assert "<Message>" not in late.body.decode()
    assert [m["author"] for m in api.get("/tickets/1").json_body["messages"]] == ["customer", "system"]
    _minutes(clock_at, schedule, 4)
    assert len(api.get("/tickets").json_body["items"]) == 1
    status = api.get("/status").json_body
    assert status["reconciled_until"] == clock_at.now.isoformat()


def test_a_webhook_that_ran_is_not_reconciled_again(api, twilio, team, clock_at, schedule):
    twilio.sms(CUSTOMER, "hello")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    _minutes(clock_at, schedule, 5)
    assert len(api.get("/tickets").json_body["items"]) == 1
    twilio.phone(CUSTOMER).expect_nothing()


def test_a_missed_call_becomes_an_urgent_voice_ticket_and_pages(api, twilio, team, clock_at, schedule):
    clock_at.set(SATURDAY_NIGHT)
    twilio.missed_call(CUSTOMER, status="no-answer")
    _minutes(clock_at, schedule, 3)
    ticket = api.get("/tickets/1").json_body
    assert ticket["channel"] == "voice" and ticket["priority"] == "urgent"
    assert ticket["customer"]["contact"] == CUSTOMER and "missed call at 21:0" in ticket["messages"][0]["text"]
    twilio.phone(ANA).expect_sms("URGENT #1 (call +4917712345678)")
    _minutes(clock_at, schedule, 3)
    assert len(api.get("/tickets").json_body["items"]) == 1


def test_crash_at_every_call_without_a_retry_is_picked_up_within_5_minutes(api, twilio, clock_at, schedule,
                                                                         monkeypatch):
    faults = DynamoFaults().install(monkeypatch)
    fresh_world(api, twilio, clock_at)
    faults.reset()
    twilio.post("/twilio/sms", sms_params(twilio, URGENT), replay=False)
    n = faults.count()
    for k in range(1, n + 1):
        fresh_world(api, twilio, clock_at)
        twilio.inbound_log.clear()
        params = sms_params(twilio, URGENT)
        twilio._log_inbound(params)  # it reached Twilio
        faults.reset(crash_at=k)
        try:
            twilio.post("/twilio/sms", params, replay=False)
        except Crash:
            pass
        faults.reset()
        _minutes(clock_at, schedule, 5)
        listed = api.get("/tickets").json_body["items"]
        assert len(listed) == 1, f"crash at call {k}/{n}"
        ticket = listed[0]["id"]
        texts = [m["text"] for m in api.get(f"/tickets/{ticket}").json_body["messages"] if m["author"] == "customer"]
        assert texts == [URGENT], f"crash at call {k}/{n}: {texts}"
        assert 1 <= len(pages_to(twilio, ANA, ticket)) <= 2, f"crash at call {k}/{n}"
        twilio.inbox.clear()


def test_status_shows_fresh_heartbeats_and_a_stopped_sweep_as_stale(api, twilio, team, clock_at, schedule):
    for name in ("page_sweep", "tier_sweep", "handoff_sweep", "reconcile_sweep"):
        schedule(name)
    status = api.get("/status").json_body
    assert status["ok"] is True, status
    assert all(not s["stale"] for s in status["sweeps"].values())
    assert status["outbox"] == {"due": 0, "retrying_later": 0, "dead_last_7_days": 0,
                                "oldest_undelivered_page": None}
    # The page sweep stops (its Lambda fails every minute); the others go on.
    for _ in range(6):
        clock_at.advance(minutes=1)
        for name in ("tier_sweep", "handoff_sweep", "reconcile_sweep"):
            schedule(name)
    status = api.get("/status").json_body
    assert status["ok"] is False
    assert status["sweeps"]["page_sweep"]["stale"] is True
    assert status["sweeps"]["tier_sweep"]["stale"] is False
    assert api.get("/status", key=team["ben"]["api_key"]).status_code == 403  # admins only
    twilio.inbox.clear()  # (the handoff sweep's TAKE notices: tests/test_rota.py tells that story)


def test_status_shows_a_page_that_cannot_go_out(api, twilio, team, clock_at, schedule):
    clock_at.set(SATURDAY_NIGHT)
    twilio_down(twilio, "connection")
    twilio.sms(CUSTOMER, "URGENT everything is down")
    twilio.inbox.clear()
    for _ in range(7):
        clock_at.advance(minutes=1)
        schedule("page_sweep")
    page = api.get("/status").json_body["outbox"]["oldest_undelivered_page"]
    assert page["ticket_id"] == 1 and page["minutes"] == 7.0 and "could not be reached" in page["error"]
    assert new_sid("SM")  # (keeps the fake's sid counter moving for later tests)


def test_a_reconcile_run_reads_the_claims_in_batches(api, twilio, team, clock_at, monkeypatch):
    """Issue 25: each inbound sid in Twilio's list was checked with its own GetItem (285 texts in
    the window: 295 calls every 2 minutes). Now the claims come 100 to a BatchGetItem: a run over
    285 handled texts and 2 that never reached us makes ceil(287 / 100) reads plus a constant."""
    from bench.counting import counted
    from chalicelib import notify
    from chalicelib.store import models
    from chalicelib.usecases import reconcile

    handled = [{"sid": f"SM{i:032x}", "from": f"+4917712{i:06d}", "to": twilio.support, "body": "hi",
                "num_media": 0, "at": clock_at.now - timedelta(minutes=3)} for i in range(285)]
    with models.IdempotencyKey.batch_write() as batch:
        for m in handled:
            batch.save(models.IdempotencyKey(key=f"sms#{m['sid']}", created_at=clock_at.now,
                                             expires_at=clock_at.now + timedelta(days=30)))
    lost = [{**handled[0], "sid": f"SM{10**6 + i:032x}", "from": f"+49177999{i:05d}",
             "body": "hello, my order never came, can you help?"} for i in range(2)]
    monkeypatch.setattr(notify, "inbound_since", lambda since: (handled + lost, []))
    with counted() as r:
        found = reconcile.sweep(clock_at.now, _inbound())
    assert found["messages"] == 2 and len(api.get("/tickets").json_body["items"]) == 2
    twilio.phone("+4917799900000").expect_sms("ticket #1")  # the two lost ones answered, by REST
    twilio.phone("+4917799900001").expect_sms("ticket #2")
    with_the_two = sum(r["calls"].values())
    with counted() as r:
        assert reconcile.sweep(clock_at.now, _inbound())["messages"] == 0  # the next run: all of them handled
    assert r["calls"]["BatchGetItem"] == 3
    assert sum(r["calls"].values()) <= 8, r["calls"]
    assert with_the_two > sum(r["calls"].values())


def _inbound():
    """The SMS door, as app.py hands it to the reconcile sweep."""
    from chalicelib.channels import sms, twilio_hooks
    from chalicelib.usecases import reconcile

    return reconcile.Inbound(sms=sms.webhook, nothing=twilio_hooks.EMPTY_TWIML)
