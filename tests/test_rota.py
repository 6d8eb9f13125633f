"""The rota: exactly one holder at every instant, handoffs at local time across DST."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.domain.rota import Override, Rotation

ZONES = ["Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
BERLIN = ZoneInfo("Europe/Berlin")
# DST changes of 2026 in the zones above (local dates), where instants get interesting.
DST_DAYS = [datetime(2026, 3, 29, tzinfo=timezone.utc), datetime(2026, 10, 25, tzinfo=timezone.utc),
            datetime(2026, 3, 8, tzinfo=timezone.utc), datetime(2026, 11, 1, tzinfo=timezone.utc),
            datetime(2026, 4, 5, tzinfo=timezone.utc), datetime(2026, 10, 4, tzinfo=timezone.utc)]


def rotation(**kw) -> Rotation:
    base = dict(timezone="Europe/Berlin", handoff_weekday=4, handoff_time=time(18, 0), shift_days=7,
                members=("ana", "ben", "chloe"), start=date(2026, 1, 2))
    base.update(kw)
    return Rotation(**base)


rotations = st.builds(
    lambda tz, wd, hh, mm, days, n, start: rotation(timezone=tz, handoff_weekday=wd, handoff_time=time(hh, mm),
                                                    shift_days=days, members=tuple(f"p{i}" for i in range(n)),
                                                    start=start),
    st.sampled_from(ZONES), st.integers(0, 6), st.integers(0, 23), st.sampled_from([0, 30]),
    st.integers(1, 14), st.integers(1, 5), st.dates(date(2025, 6, 1), date(2026, 12, 31)))
instants = st.one_of(
    st.sampled_from(DST_DAYS).flatmap(lambda d: st.integers(-3 * 86400, 3 * 86400).map(
        lambda s: d + timedelta(seconds=s))),
    st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31), timezones=st.just(timezone.utc)))


@settings(max_examples=300, deadline=None)
@given(rotations, instants)
def test_exactly_one_holder_and_handoffs_at_local_handoff_time(rot, t):
    member, start, end = rot.shift_at(t)
    assert start <= t < end
    assert member in rot.members and rot.holder_at(t) == member
    first = rot.boundary(0).astimezone(rot.zone)
    assert first.weekday() == rot.handoff_weekday or _in_gap(rot, rot.boundary(0))
    for boundary in (start, end):
        local = boundary.astimezone(rot.zone)
        assert local.time() == rot.handoff_time or _in_gap(rot, boundary), f"handoff at {local}"
        assert (local.date() - first.date()).days % rot.shift_days == 0
    # just before the end someone else (or the same single member) holds it: no gap, no overlap
    assert rot.shift_at(end - timedelta(microseconds=1))[1] == start
    assert rot.shift_at(end)[1] == end


def _in_gap(rot: Rotation, boundary: datetime) -> bool:
    """A handoff wall time skipped by spring-forward lands just after the gap."""
    local = boundary.astimezone(rot.zone)
    naive = datetime.combine(local.date(), rot.handoff_time)
    return naive.replace(tzinfo=rot.zone).astimezone(timezone.utc) == boundary and local.time() != rot.handoff_time


@settings(max_examples=150, deadline=None)
@given(rotations, instants, st.integers(1, 40))
def test_schedule_listings_agree_with_point_queries(rot, t, days):
    end = t + timedelta(days=days)
    segments = rot.schedule(t, end)
    assert segments[0]["start"] == t and segments[-1]["end"] == end
    for a, b in zip(segments, segments[1:], strict=False):
        assert a["end"] == b["start"]
    for seg in segments:
        assert rot.holder_at(seg["start"]) == seg["person_id"]
        assert rot.holder_at(seg["end"] - timedelta(microseconds=1)) == seg["person_id"]


def test_the_friday_after_the_october_dst_change_hands_off_at_18_berlin():
    rot = rotation(start=date(2026, 10, 2))
    # 2026-10-25 clocks go back; the next Friday is 2026-10-30.
    handoff = datetime(2026, 10, 30, 18, 0, tzinfo=BERLIN)
    assert handoff.utcoffset() == timedelta(hours=1)
    before, after = handoff - timedelta(seconds=1), handoff
    assert rot.holder_at(before) != rot.holder_at(after)
    _, start, _ = rot.shift_at(after)
    assert start == handoff
    # and the Friday before the change (summer time) also at 18:00 local
    summer = datetime(2026, 10, 23, 18, 0, tzinfo=BERLIN)
    assert rot.shift_at(summer)[1] == summer and summer.utcoffset() == timedelta(hours=2)


def test_overrides_apply_only_to_their_window_and_the_latest_wins():
    t0 = datetime(2026, 11, 21, 10, 0, tzinfo=BERLIN)
    o1 = Override("o1", "dana", t0, t0 + timedelta(hours=6), created_at=t0 - timedelta(days=2))
    o2 = Override("o2", "eve", t0 + timedelta(hours=2), t0 + timedelta(hours=4), created_at=t0 - timedelta(days=1))
    rot = rotation(overrides=(o1, o2))
    assert rot.holder_at(t0 - timedelta(seconds=1)) == rot.shift_at(t0)[0]
    assert rot.holder_at(t0) == "dana"
    assert rot.holder_at(t0 + timedelta(hours=3)) == "eve"
    assert rot.holder_at(t0 + timedelta(hours=5)) == "dana"
    assert rot.holder_at(t0 + timedelta(hours=6)) == rot.shift_at(t0)[0]
    people = [s["person_id"] for s in rot.schedule(t0 - timedelta(hours=1), t0 + timedelta(hours=7))]
    assert people == [rot.shift_at(t0)[0], "dana", "eve", "dana", rot.shift_at(t0)[0]]


def test_oncall_route_primary_backup_and_shift(api, team):
    r = api.get("/oncall?at=2026-11-20T22:00:00%2B01:00").json_body
    assert r["primary"]["name"] == "Ana Lopez" and r["backup"]["name"] == "Ben Okafor"
    assert r["shift"] == {"start": "2026-11-20T18:00:00+01:00", "end": "2026-11-27T18:00:00+01:00"}
    r = api.get("/oncall?at=2026-11-27T18:00:00%2B01:00").json_body
    assert r["primary"]["name"] == "Ben Okafor"


def test_override_routes_and_schedule(api, team):
    r = api.post("/rota/overrides", {"person_id": team["chloe"]["id"], "start": "2026-11-21T08:00:00+01:00",
                                     "end": "2026-11-21T20:00:00+01:00"})
    assert r.status_code == 201
    oid = r.json_body["id"]
    items = api.get("/rota/schedule?from=2026-11-21T00:00:00%2B01:00&to=2026-11-22T00:00:00%2B01:00"
                    ).json_body["items"]
    assert [(i["person_id"], i["override"]) for i in items] == [
        (team["ana"]["id"], False), (team["chloe"]["id"], True), (team["ana"]["id"], False)]
    assert api.delete(f"/rota/overrides/{oid}").status_code == 204
    assert api.delete(f"/rota/overrides/{oid}").status_code == 404


def test_rota_input_errors_name_the_field(api, team):
    good = {"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"}, "shift_days": 7,
            "members": [team["ana"]["id"]], "start": "2026-11-20"}
    for field, value, named in [("timezone", "Berlin", "timezone"), ("handoff", {"weekday": "fri", "time": "18:00"},
                                "handoff.weekday"), ("handoff", {"weekday": "friday", "time": "6pm"}, "handoff.time"),
                                ("members", ["nobody"], "members"), ("start", "20.11.2026", "start"),
                                ("shift_days", 0, "shift_days")]:
        r = api.put("/rota", {**good, field: value})
        assert r.status_code == 400 and r.json_body["error"]["field"] == named, (field, r.body)
    r = api.post("/rota/overrides", {"person_id": team["ana"]["id"], "start": "2026-11-21T08:00:00",
                                     "end": "2026-11-21T20:00:00+01:00"})
    assert r.status_code == 400 and r.json_body["error"]["field"] == "start"


def test_ics_feed_needs_its_token_and_lists_shifts(api, team, clock_at, schedule):
    from icalendar import Calendar

    assert api.get("/rota.ics", key=None).status_code == 401
    for bad in ("nope", "%C3%A9t%C3%A9", "%00", "x" * 500):  # any malformed token: 401, never 500
        r = api.get(f"/rota.ics?token={bad}", key=None)
        assert r.status_code == 401 and r.json_body["error"]["code"] == "invalid_token", bad
    url = api.get("/rota").json_body["ics_url"]
    token = url.split("token=")[1]
    schedule("handoff_sweep")
    r = api.get(f"/rota.ics?token={token}", key=None)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.body)
    summaries = [str(e.get("summary")) for e in cal.walk("VEVENT")]
    assert "Emergency phone: Ana Lopez" in summaries and "Emergency phone: Ben Okafor" in summaries
    assert api.get("/rota.ics").status_code == 200  # a bearer key works too
    # Rotating the token: the old link stops working.
    new_url = api.post("/rota/ics-token").json_body["ics_url"]
    assert new_url != url
    assert api.get(f"/rota.ics?token={token}", key=None).status_code == 401
    assert api.get(f"/rota.ics?token={new_url.split('token=')[1]}", key=None).status_code == 200
    assert api.post("/rota/ics-token", key=team["ben"]["api_key"]).status_code == 403


def test_ics_feed_is_stable_starts_with_the_rota_and_crosses_dst(api, team, clock_at, schedule):
    """Two fetches a minute apart are identical; a second, independent parser (ics-py) reads the
    same local times, across the 2027-03-28 change to summer time."""
    import ics as ics_py

    def fetch() -> str:
        return api.get("/rota.ics").body.decode()

    schedule("handoff_sweep")
    first = fetch()
    clock_at.advance(minutes=1)
    schedule("handoff_sweep")
    assert fetch() == first
    assert "BEGIN:VTIMEZONE" in first and "TZID:Europe/Berlin" in first
    events = sorted(ics_py.Calendar(first).events, key=lambda e: e.begin)
    # Nothing before the rota began (Friday Nov 20, 22:00 Berlin, when it was set up).
    assert events[0].begin.isoformat() == "2026-11-20T22:00:00+01:00"
    assert events[0].name == "Emergency phone: Ana Lopez"
    assert all(e.begin.hour == 18 for e in events[1:])
    assert len({e.uid for e in events}) == len(events)
    # Months later, the feed crosses the DST change: still 18:00 local on both sides.
    clock_at.set(datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc))
    schedule("handoff_sweep")
    events = sorted(ics_py.Calendar(fetch()).events, key=lambda e: e.begin)
    around = [e for e in events if datetime(2027, 3, 19, tzinfo=timezone.utc) <= e.begin.datetime
              <= datetime(2027, 4, 3, tzinfo=timezone.utc)]
    assert [(e.begin.isoformat(), e.end.isoformat()) for e in around] == [
        ("2027-03-19T18:00:00+01:00", "2027-03-26T18:00:00+01:00"),
        ("2027-03-26T18:00:00+01:00", "2027-04-02T18:00:00+02:00"),
        ("2027-04-02T18:00:00+02:00", "2027-04-09T18:00:00+02:00")]
    assert events[0].begin.datetime >= datetime(2027, 1, 29, tzinfo=timezone.utc)  # 4 weeks back at most
    assert events[-1].end.datetime <= datetime(2027, 6, 1, tzinfo=timezone.utc)  # 12 weeks ahead
    # An override next month changes that shift only: the others keep their UIDs.
    before = {e.uid: (e.begin, e.end) for e in events}
    api.post("/rota/overrides", {"person_id": team["chloe"]["id"], "start": "2027-04-17T09:00:00+02:00",
                                 "end": "2027-04-17T21:00:00+02:00"})
    after = {e.uid: (e.begin, e.end) for e in ics_py.Calendar(fetch()).events}
    unchanged = [u for u in before if u in after and after[u] == before[u]]
    assert len(unchanged) >= len(before) - 1


def test_take_handshake_confirmed(api, twilio, team, clock_at, schedule):
    from tests.data import BEN

    clock_at.set(datetime(2026, 11, 27, 13, 0, tzinfo=BERLIN))  # 5 h before Friday's handoff
    schedule("handoff_sweep")
    twilio.phone(BEN).expect_nothing()
    clock_at.set(datetime(2026, 11, 27, 14, 30, tzinfo=BERLIN))  # within the 4 h notice
    schedule("handoff_sweep")
    schedule("handoff_sweep")
    ben = twilio.phone(BEN).expect_sms("Reply TAKE to hold the emergency phone from Fri 27 Nov 18:00").expect_nothing()
    ben.reply("take").expect("You hold the emergency phone from Fri 27 Nov 18:00 CET until Fri 04 Dec 18:00 CET")
    clock_at.set(datetime(2026, 11, 27, 18, 5, tzinfo=BERLIN))
    schedule("handoff_sweep")
    schedule("handoff_sweep")
    ben.expect("Your shift has started: you hold the emergency phone until Fri 04 Dec 18:00 CET").expect_nothing()
    assert api.get("/oncall").json_body["primary"]["name"] == "Ben Okafor"


def test_staff_texts_name_the_time_in_the_readers_own_zone(api, twilio, team, clock_at, schedule):
    """Issue 21: Ben works from Lisbon: his TAKE texts say 17:00 WET, not Berlin's 18:00 unnamed."""
    from tests.data import BEN

    assert api.patch(f"/people/{team['ben']['id']}", {"timezone": "Europe/Lisbon"}).status_code == 200
    clock_at.set(datetime(2026, 11, 27, 14, 30, tzinfo=BERLIN))
    schedule("handoff_sweep")
    ben = twilio.phone(BEN).expect_sms("Reply TAKE to hold the emergency phone from Fri 27 Nov 17:00 WET "
                                       "until Fri 04 Dec 17:00 WET")
    ben.reply("take").expect("from Fri 27 Nov 17:00 WET until Fri 04 Dec 17:00 WET")


def test_without_take_the_current_holder_stays_and_admins_are_told(api, twilio, team, clock_at, schedule):
    from tests.data import ANA, BEN, CHLOE

    dana = api.person("Dana Lead", "+4915100000004", role="admin")
    clock_at.set(datetime(2026, 11, 27, 15, 0, tzinfo=BERLIN))
    schedule("handoff_sweep")
    twilio.phone(BEN).expect_sms("Reply TAKE")
    clock_at.set(datetime(2026, 11, 27, 18, 1, tzinfo=BERLIN))
    schedule("handoff_sweep")
    schedule("handoff_sweep")
    twilio.phone(ANA).expect_sms("you stay on the emergency phone")
    twilio.phone(dana["phone"]).expect_sms("Handoff not confirmed: Ben Okafor")
    twilio.phone(CHLOE).expect_nothing()
    assert api.get("/oncall").json_body["primary"]["name"] == "Ana Lopez"
    # Ben takes it late: from now on he holds it.
    clock_at.set(datetime(2026, 11, 27, 19, 0, tzinfo=BERLIN))
    twilio.phone(BEN).reply("TAKE").expect("You hold the emergency phone now")
    assert api.get("/oncall").json_body["primary"]["name"] == "Ben Okafor"


def test_dry_run_plan_shows_the_timeline_and_gaps(api, team):
    api.put("/policy", {"tiers": [{"tier": 1, "sla_hours": 20}], "ack_timeout_minutes": 5, "max_page_rounds": 1})
    plan = api.get("/oncall/plan?at=2026-11-21T23:00:00%2B01:00").json_body
    assert [(s["name"], s["channel"]) for s in plan["steps"]] == [
        ("Ana Lopez", "sms"), ("Ana Lopez", "call"), ("Ben Okafor", "sms"), ("Ben Okafor", "call")]
    assert plan["steps"][1]["at"] == "2026-11-21T23:05:00+01:00"
    assert plan["gaps"] == []


def test_the_holder_holds_until_the_phone_changes_hands_not_until_the_weekly_handoff():
    """Issue 21: an override that ends early ends the stretch; a nested one starts where the phone
    really changes hands; the same person over a handoff keeps one stretch."""
    berlin = ZoneInfo("Europe/Berlin")
    at = datetime(2026, 11, 24, 12, 0, tzinfo=berlin)  # Tue, in Ana's week (Fri 20 → Fri 27 18:00)
    made = datetime(2026, 11, 20, tzinfo=timezone.utc)
    dana = Override("o1", "dana", datetime(2026, 11, 23, 9, 0, tzinfo=berlin),
                    datetime(2026, 11, 26, 9, 0, tzinfo=berlin), made)
    erik = Override("o2", "erik", datetime(2026, 11, 24, 10, 0, tzinfo=berlin),
                    datetime(2026, 11, 24, 14, 0, tzinfo=berlin), made + timedelta(seconds=1))
    rot = rotation(overrides=(dana, erik), start=date(2026, 11, 20))
    assert rot.holding_at(at) == ("erik", erik.start, erik.end)  # nested: hers, inside Dana's
    assert rot.holding_at(at + timedelta(hours=3)) == ("dana", erik.end, dana.end)  # Dana's again until Thu 09:00
    assert rot.holding_at(datetime(2026, 11, 22, 12, 0, tzinfo=berlin))[2] == dana.start  # Ana until Dana takes it
    weekly = rotation(members=("ana",), start=date(2026, 11, 20))
    assert weekly.holding_at(at)[2] - at > timedelta(days=30)  # nobody else: no handoff to name
