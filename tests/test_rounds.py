"""A page never goes quiet: rounds until someone acknowledges, then the admins hear it."""
from __future__ import annotations

from datetime import timedelta

from tests.data import ANA, BEN, CHLOE, CUSTOMER, FRIDAY_NIGHT

SATURDAY_NIGHT = FRIDAY_NIGHT + timedelta(days=1)


def _play(api, twilio, clock_at, schedule, minutes: int, ack_at: int | None = None) -> list[tuple[int, str, str]]:
    """Runs the page sweep every minute; returns (minute, phone, SMS text or 'call') for each new staff contact."""
    seen: list[tuple[int, str, str]] = []
    texts = {phone: 0 for phone in (ANA, BEN, CHLOE)}
    calls = len(twilio.calls)
    for minute in range(1, minutes + 1):
        clock_at.advance(minutes=1)
        if ack_at == minute:
            twilio.sms(BEN, "ACK 1")
            texts[BEN] += 1  # the "Acknowledged" answer
        schedule("page_sweep")
        for phone in texts:
            inbox = twilio.inbox[phone]
            seen += [(minute, phone, m["body"]) for m in inbox[texts[phone]:]]
            texts[phone] = len(inbox)
        seen += [(minute, c["to"], "call") for c in twilio.calls[calls:]]
        calls = len(twilio.calls)
    return seen


def test_nobody_acknowledges_for_three_hours(api, twilio, team, clock_at, schedule, monkeypatch):
    clock_at.set(SATURDAY_NIGHT)
    policy = api.get("/policy").json_body
    assert policy["max_page_rounds"] == 6  # the contract's default
    assert api.put("/policy", {"tiers": policy["tiers"], "ack_timeout_minutes": 10,
                               "max_page_rounds": 4}).status_code == 200
    twilio.sms(CUSTOMER, "URGENT the shop is down")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(ANA).expect_sms("URGENT #1")
    seen = _play(api, twilio, clock_at, schedule, 180)
    pages = [(m, p, w) for m, p, w in seen if "Nobody acknowledged" not in w]
    # Ana (holder) and Ben (backup), SMS then a call each, ten minutes apart, for four rounds.
    assert [(p, "call" if w == "call" else "sms") for _, p, w in pages] == \
        [(ANA, "call"), (BEN, "sms"), (BEN, "call")] + [(ANA, "sms"), (ANA, "call"), (BEN, "sms"), (BEN, "call")] * 3
    minutes = [0] + [m for m, _, _ in pages]
    assert max(b - a for a, b in zip(minutes, minutes[1:], strict=False)) <= 11  # never quiet while rounds remain
    for phone in (ANA, BEN):
        for start in range(0, 180, 60):
            texts = [m for m, p, w in pages if p == phone and w != "call" and start <= m < start + 60]
            assert len(texts) <= 6  # PAGES_PER_HOUR
    notices = [(m, p) for m, p, w in seen if "Nobody acknowledged urgent #1 after 4" in w]
    assert [p for _, p in notices] == [ANA]  # every admin (Ana is the only one), once
    assert notices[0][0] >= pages[-1][0]
    events = [e["type"] for e in api.get("/tickets/1").json_body["events"]]
    assert events.count("page_exhausted") == 1
    twilio.inbox.clear()
    twilio.phone(CHLOE).expect_nothing()


def test_an_ack_in_the_second_round_stops_everything(api, twilio, team, clock_at, schedule):
    clock_at.set(SATURDAY_NIGHT)
    twilio.sms(CUSTOMER, "EMERGENCY nothing works")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(ANA).expect_sms("URGENT #1")
    seen = _play(api, twilio, clock_at, schedule, 120, ack_at=45)
    assert [m for m, _, _ in seen if m > 45] == []  # nothing after the ACK, not even the admin notice
    assert any(p == ANA and m >= 40 for m, p, _ in seen)  # the second round had begun
    twilio.inbox.clear()


def test_the_dry_run_shows_the_rounds(api, team, clock_at):
    plan = api.get("/oncall/plan?at=2026-11-21T22:00:00%2B01:00").json_body
    assert plan["rounds"] == 6
    assert len(plan["steps"]) == 6 * 4 and plan["steps"][4]["round"] == 2
    assert plan["steps"][4]["person_id"] == team["ana"]["id"]
