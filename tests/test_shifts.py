"""The rota as it really happened: shift records written at each handoff, and the counts made from
them (stats, the report), never from the current rota document."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from tests.data import ANA, BEN, CHLOE, FRIDAY_NIGHT

BERLIN = ZoneInfo("Europe/Berlin")
PHONES = {"ana": ANA, "ben": BEN, "chloe": CHLOE}
ORDER = ("ana", "ben", "chloe")


def _handoff(i: int) -> datetime:
    """The i-th Friday 18:00 Berlin from 2026-11-20 (i = 0), computed here without the app's rota."""
    local = datetime(2026, 11, 20, 18, 0) + timedelta(days=7 * i)
    return local.replace(tzinfo=BERLIN).astimezone(timezone.utc)


def _week_of(k: int) -> str:
    return ORDER[k % 3]


def test_no_history_before_the_rota_began_and_none_in_the_future(api, twilio, team, clock_at, schedule):
    schedule("handoff_sweep")  # the rota was set up on Friday 22:00 (FRIDAY_NIGHT): Ana holds from then
    clock_at.advance(days=3)
    schedule("handoff_sweep")
    stats = api.get("/rota/stats?year=2026").json_body
    assert [(i["name"], i["weeks_held"]) for i in stats["items"]] == [("Ana Lopez", round(3 / 7, 2))]
    assert stats["source"] == "shift records"
    assert stats["planned"][0]["person_id"] == team["ana"]["id"]  # what is coming is shown apart
    assert stats["planned"][1]["person_id"] == team["ben"]["id"]
    assert api.get("/rota/stats?year=2025").json_body["items"] == []
    assert api.get("/rota/stats?year=2027").json_body["items"] == []  # nothing counted that has not happened
    twilio.inbox.clear()


def test_a_year_of_handoffs_with_overrides_and_a_missed_take_gives_exact_weeks(api, twilio, team, clock_at,
                                                                                schedule):
    ids = {name: team[name]["id"] for name in ORDER}
    # Two overrides planned ahead: Chloe covers a Saturday (12 h) in Ana's week, and Ben a whole week.
    saturday = (datetime(2027, 3, 13, 9, 0, tzinfo=BERLIN), datetime(2027, 3, 13, 21, 0, tzinfo=BERLIN))
    ben_week = (_handoff(28), _handoff(29))  # 2027-06-04 → 06-11, scheduled for week 28's member
    for person, (a, b) in (("chloe", saturday), ("ben", ben_week)):
        r = api.post("/rota/overrides", {"person_id": ids[person], "start": a.isoformat(), "end": b.isoformat()})
        assert r.status_code == 201, r.body
    missed = 41  # 2027-09-03: the next holder does not reply TAKE; the previous one keeps the phone

    # The expected history, computed here: (start, end, who) from the rota's creation (Fri 22:00).
    segments = [(FRIDAY_NIGHT, _handoff(1), "ana")]
    for i in range(1, 60):
        segments.append((_handoff(i), _handoff(i + 1), _week_of(i)))
    segments = [(a, b, _week_of(missed - 1) if a == _handoff(missed) else who) for a, b, who in segments]
    segments = [(a, b, "ben" if a == ben_week[0] else who) for a, b, who in segments]
    cut = []
    for a, b, who in segments:  # Chloe's Saturday cuts the week it falls in
        sa, sb = saturday[0].astimezone(timezone.utc), saturday[1].astimezone(timezone.utc)
        if a <= sa < b:
            cut += [(a, sa, who), (sa, sb, "chloe"), (sb, b, who)]
        else:
            cut.append((a, b, who))

    def holder(at: datetime) -> str:
        return next(who for a, b, who in cut if a <= at < b)

    schedule("handoff_sweep")
    for i in range(1, 59):
        boundary = _handoff(i)
        clock_at.set(boundary - timedelta(hours=2))
        schedule("handoff_sweep")  # asks the next holder (overrides included) to TAKE
        nxt = holder(boundary) if i != missed else _week_of(i)
        if holder(boundary - timedelta(seconds=1)) != nxt:
            phone = twilio.phone(PHONES[nxt]).expect_sms("Reply TAKE")
            if i != missed:
                phone.reply("TAKE").expect("Thanks! You hold the emergency phone")
        clock_at.set(boundary + timedelta(minutes=1))
        schedule("handoff_sweep")
        twilio.inbox.clear()
    clock_at.set(datetime(2028, 1, 1, 0, 30, tzinfo=BERLIN))
    schedule("handoff_sweep")

    year = (datetime(2027, 1, 1, tzinfo=BERLIN).astimezone(timezone.utc),
            datetime(2028, 1, 1, tzinfo=BERLIN).astimezone(timezone.utc))
    expected: dict[str, float] = defaultdict(float)
    for a, b, who in cut:
        a, b = max(a, year[0]), min(b, year[1])
        if b > a:
            expected[who] += (b - a).total_seconds()
    stats = api.get("/rota/stats?year=2027").json_body
    got = {i["person_id"]: i for i in stats["items"]}
    for name in ORDER:
        weeks = expected[name] / (7 * 86400)
        assert got[ids[name]]["weeks_held"] == round(weeks, 2), name
        assert got[ids[name]]["compensation_days"] == int(weeks + 0.5), name
    assert abs(sum(i["weeks_held"] for i in stats["items"]) - 365 / 7) < 0.02  # the whole year, once
    # The missed TAKE is in the records as such, and the kept holder's override too.
    history = api.get("/rota/shifts?from=2027-09-01T00:00:00Z&to=2027-09-12T00:00:00Z").json_body["items"]
    kept = next(s for s in history if s["start"] == _handoff(missed).isoformat())
    assert (kept["person_id"], kept["scheduled_id"], kept["how"]) == (ids[_week_of(missed - 1)],
                                                                     ids[_week_of(missed)], "untaken")
    # Editing the rota now changes no past month.
    before = api.get("/reports/monthly?month=2027-06").json_body["people"]
    r = api.put("/rota", {"timezone": "Europe/Berlin", "handoff": {"weekday": "monday", "time": "09:00"},
                          "shift_days": 7, "members": [ids["chloe"], ids["ana"]], "start": "2026-01-05",
                          "effective": "now"})
    assert r.status_code == 200
    assert api.get("/reports/monthly?month=2027-06").json_body["people"] == before
    assert api.get("/rota/stats?year=2027").json_body["items"] == stats["items"]
    twilio.inbox.clear()


def test_a_rota_change_waits_for_the_handoff_and_tells_the_people_it_moves(api, twilio, team, clock_at, schedule):
    ids = {name: team[name]["id"] for name in ORDER}
    schedule("handoff_sweep")
    clock_at.advance(days=1)  # Saturday: Ana holds the phone until Friday 18:00
    body = {"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"}, "shift_days": 7,
            "members": [ids["chloe"], ids["ben"], ids["ana"]], "start": "2026-11-20"}
    r = api.put("/rota", body)
    assert r.status_code == 200 and r.json_body["effective"] == "next_handoff"
    shifts = r.json_body["next_shifts"]
    assert [s["person_id"] for s in shifts] == [ids["ana"], ids["ben"], ids["ana"], ids["chloe"]]
    assert shifts[0]["end"] == "2026-11-27T18:00:00+01:00"
    assert api.get("/oncall").json_body["primary"]["id"] == ids["ana"]  # not swapped under her
    # Ben's next week did not change: nobody to tell; a person whose shift moved is told.
    twilio.phone(BEN).expect_nothing()
    assert api.put("/rota", dict(body, effective="now")).status_code == 200
    assert api.get("/oncall").json_body["primary"]["id"] == ids["chloe"]  # at once, when asked to
    twilio.phone(CHLOE).expect_sms("Rota changed: Chloe Martin holds the emergency phone from Sat 21 Nov")
    twilio.phone(ANA).expect_sms("Rota changed: Chloe Martin holds the emergency phone from Sat 21 Nov")
    twilio.phone(BEN).expect_nothing()  # his next week is the same
    assert api.put("/rota", dict(body, effective="tomorrow")).json_body["error"]["field"] == "effective"
    twilio.inbox.clear()


def test_an_override_in_the_past_corrects_the_records_and_says_who(api, twilio, team, clock_at, schedule):
    schedule("handoff_sweep")
    clock_at.advance(days=2)
    schedule("handoff_sweep")
    # Ben really held the phone on Saturday 10:00-14:00 (Ana was ill): the admin records it afterwards.
    r = api.post("/rota/overrides", {"person_id": team["ben"]["id"], "start": "2026-11-21T10:00:00+01:00",
                                     "end": "2026-11-21T14:00:00+01:00"})
    assert r.status_code == 201 and r.json_body["correction"] is True
    items = api.get("/rota/shifts?from=2026-11-20T00:00:00Z&to=2026-11-23T00:00:00Z").json_body["items"]
    assert [(s["person_id"], s["how"]) for s in items] == [
        (team["ana"]["id"], "rota"), (team["ben"]["id"], "correction"), (team["ana"]["id"], "rota")]
    assert items[1]["corrected_by"]  # the admin who said so
    assert items[2]["end"] is None  # Ana holds it again, still
    got = {i["person_id"]: i["weeks_held"] for i in api.get("/rota/stats?year=2026").json_body["items"]}
    assert got[team["ben"]["id"]] == round(4 / (7 * 24), 2)
    twilio.inbox.clear()



def test_an_override_from_the_open_records_start_until_later_is_one_whole_change(api, twilio, team, clock_at,
                                                                                 schedule):
    """Issue 23: an override starting where the open shift record starts answered 500 (the correction
    deleted and put the same item in one transaction) after the rota had already changed. Now the
    rota, the records and the notices are one transaction, and it works."""
    schedule("handoff_sweep")  # Ana's open record from Fri 20 Nov 18:00 CET
    clock_at.advance(hours=3)
    r = api.post("/rota/overrides", {"person_id": team["ben"]["id"], "start": "2026-11-20T18:00:00+01:00",
                                     "end": "2026-11-22T18:00:00+01:00"})
    assert r.status_code == 201, r.body
    assert api.get("/oncall").json_body["primary"]["name"] == "Ben Okafor"
    items = api.get("/rota/shifts?from=2026-11-20T00:00:00Z&to=2026-11-23T00:00:00Z").json_body["items"]
    assert [(s["person_id"], s["how"], s["end"] is None) for s in items][:1] == [
        (team["ben"]["id"], "correction", False)]
    clock_at.advance(minutes=1)
    items = api.get("/rota/shifts?from=2026-11-20T00:00:00Z&to=2026-11-23T00:00:00Z").json_body["items"]
    assert (items[-1]["person_id"], items[-1]["how"], items[-1]["end"]) == (team["ben"]["id"], "override", None)
    twilio.phone(BEN).expect_sms("Rota changed: Ben Okafor holds")  # both told, with the change
    twilio.phone(ANA).expect_sms("Rota changed: Ben Okafor holds")


def test_an_override_tells_the_people_whose_time_on_the_phone_it_moves(api, twilio, team, clock_at):
    """Issue 21: POST /rota/overrides gave 201 and no text; Ana never heard she lost the weekend."""
    from tests.data import ANA, BEN, CHLOE

    assert api.patch(f"/people/{team['chloe']['id']}", {"timezone": "Europe/Lisbon"}).status_code == 200
    r = api.post("/rota/overrides", {"person_id": team["chloe"]["id"], "start": "2026-11-21T09:00:00+01:00",
                                     "end": "2026-11-23T09:00:00+01:00"})
    assert r.status_code == 201
    said = "Rota changed: Chloe Martin holds the emergency phone from Sat 21 Nov {} until Mon 23 Nov {}."
    twilio.phone(CHLOE).expect_sms(said.format("08:00 WET", "08:00 WET"))  # in her own zone, named
    twilio.phone(ANA).expect_sms(said.format("09:00 CET", "09:00 CET"))  # she loses the weekend
    twilio.phone(BEN).expect_nothing()  # nothing of his moved
    assert api.delete(f"/rota/overrides/{r.json_body['id']}").status_code == 204
    back = "Rota changed: Ana Lopez holds the emergency phone from Sat 21 Nov 09:00 CET until Mon 23 Nov 09:00 CET."
    twilio.phone(ANA).expect_sms(back)
    twilio.phone(CHLOE).expect_sms("Rota changed: Ana Lopez holds the emergency phone from Sat 21 Nov 08:00 WET")
