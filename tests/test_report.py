"""A month built from a known story; the report's figures asserted exactly."""
from __future__ import annotations

from datetime import datetime, timezone

from chalicelib.usecases import tier_moves
from tests.data import ANA, BEN, CHLOE, CUSTOMER, owner_phone

UTC = timezone.utc
B, D = "+4917722222222", "+4917744444444"


def at(day, hour, minute=0):
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def test_the_november_report(api, twilio, team, clock_at, schedule):
    ana, ben, chloe = team["ana"], team["ben"], team["chloe"]
    # T1: Ben resolves in 2 h, the customer says YES; back 3 days later (a repeat contact), resolved again.
    clock_at.set(at(2, 10))
    twilio.sms(CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(owner_phone(api, 1)).expect_sms("#1 is yours now")  # a new owner hears (at work: now)
    clock_at.set(at(2, 12))
    api.post("/tickets/1/resolve", key=ben["api_key"])
    twilio.phone(CUSTOMER).expect_sms("Did this answer")
    twilio.sms(CUSTOMER, "yes")
    twilio.phone(CUSTOMER).expect_sms("Thank you")
    clock_at.set(at(5, 10))
    twilio.sms(CUSTOMER, "it is wrong again")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    clock_at.set(at(5, 11))
    api.post("/tickets/1/resolve", key=ben["api_key"])  # no survey: one a week per customer
    # T2: Ben passes it up, Chloe resolves in 4 h, the customer says NO and how to do better.
    clock_at.set(at(3, 10))
    twilio.sms(B, "refund please, I paid twice")
    twilio.phone(B).expect_sms("ticket #2")
    twilio.phone(owner_phone(api, 2)).expect_sms("#2 is yours now")
    clock_at.set(at(3, 11))
    api.post("/tickets/2/pass-up", {"reason": "refunds are tier 2"}, key=ben["api_key"])
    clock_at.set(at(3, 14))
    api.post("/tickets/2/resolve", key=chloe["api_key"])
    twilio.phone(B).expect_sms("Did this answer")
    twilio.sms(B, "no")
    twilio.phone(B).expect_sms("do better")
    twilio.phone(CHLOE).expect_sms("#2 is yours now")  # the NO reopened it: its last owner hears (v1.2)
    twilio.sms(B, "refund faster")
    twilio.phone(B).expect_sms("we'll use this")
    # T3: staff-opened, nobody acts: the 20-hour rule moves it (escalated away from its owner);
    # the same sweep moves T2, which the NO reopened in Chloe's hands and nobody touched since.
    clock_at.set(at(4, 9))
    t3 = api.ticket("phoned in: printer broken", contact="+4917733333333")
    clock_at.set(at(5, 5, 1))
    tier_moves.tier_sweep(clock_at.now)
    # T4: an urgent text on Saturday night pages Ana (the holder), she ACKs in 5 minutes and resolves.
    clock_at.set(at(21, 22))
    twilio.sms(D, "URGENT our site is down")
    twilio.phone(D).expect_sms("ticket #4")
    clock_at.set(at(21, 22, 5))
    twilio.phone(ANA).expect_sms("URGENT #4").reply("ACK 4").expect("Acknowledged")
    clock_at.set(at(21, 23))
    api.post("/tickets/4/resolve", key=ana["api_key"])
    twilio.phone(D).expect_sms("Did this answer")

    # The phone as it was held (shift records): the rota was set up on Friday Nov 20, 22:00 Berlin
    # with Ana on; Ben took it on Friday Nov 27, 18:00; the month ends at midnight Berlin time.
    clock_at.set(at(27, 15))
    schedule("handoff_sweep")
    twilio.phone(BEN).expect_sms("Reply TAKE").reply("TAKE").expect("Thanks!")
    clock_at.set(at(27, 17, 1))
    schedule("handoff_sweep")
    twilio.phone(BEN).expect_sms("Your shift has started")
    clock_at.set(at(30, 23))
    schedule("handoff_sweep")
    r = api.get("/reports/monthly?month=2026-11")
    assert r.status_code == 200, r.body
    report = r.json_body
    people = {p["name"]: p for p in report["people"]}
    assert people["Ben Okafor"] | {} == {
        "person_id": ben["id"], "name": "Ben Okafor", "resolved": 2, "passed_up": 1,
        "escalated_away": int(t3["owner"] == ben["id"]), "median_hours_to_resolve": 37.5, "satisfaction": 1.0,
        "survey_answers": 1, "pages_received": 0, "pages_acknowledged": 0, "median_minutes_to_ack": None,
        "weekends_held": 1, "weeks_held": 0.46, "compensation_days": 0, "hours_held": 78.0}
    assert people["Chloe Martin"] == {
        "person_id": chloe["id"], "name": "Chloe Martin", "resolved": 1, "passed_up": 0, "escalated_away": 1,
        "median_hours_to_resolve": 4.0, "satisfaction": 0.0, "survey_answers": 1, "pages_received": 0,
        "pages_acknowledged": 0, "median_minutes_to_ack": None, "weekends_held": 0, "weeks_held": 0.0,
        "compensation_days": 0, "hours_held": 0.0}
    assert people["Ana Lopez"] == {
        "person_id": ana["id"], "name": "Ana Lopez", "resolved": 1, "passed_up": 0,
        "escalated_away": int(t3["owner"] == ana["id"]), "median_hours_to_resolve": 1.0, "satisfaction": None,
        "survey_answers": 0, "pages_received": 1, "pages_acknowledged": 1, "median_minutes_to_ack": 5.0,
        "weekends_held": 1, "weeks_held": 0.98, "compensation_days": 1, "hours_held": 164.0}
    assert report["overall"] == {
        # Tickets, not events (issue 21): T1 and T4 are resolved (T1 twice, once); T2's NO reopened it.
        # Of the three resolved this month two came back: T1 by a new text, T2 by its survey NO.
        "tickets_per_channel": {"sms": 4}, "resolved": 2, "resolved_this_month": 3, "repeat_contact_rate": 0.667,
        "repeat_contacts": 2, "first_contact_resolution": 0.333, "first_contact_resolved": 1,
        "first_contact_tickets": 3, "satisfaction_by_channel": {"sms": 0.5},
        "satisfaction_by_template": {}, "tier_breaches": 0}

    # The same month again gives the same figures (reproducible), in CSV too.
    assert api.get("/reports/monthly?month=2026-11").json_body == report
    csv = api.get("/reports/monthly?month=2026-11&format=csv")
    assert csv.headers["Content-Type"].startswith("text/csv")
    lines = csv.body.decode().splitlines()
    assert lines[0] == "# people" and lines[1].startswith("person_id,name,resolved,passed_up")
    blocks = [b.splitlines()[0] for b in csv.body.decode().split("\r\n\r\n")]
    assert blocks == ["# people", "# overall", "# templates", "# survey comments"]
    assert "repeat_contact_rate,0.667" in lines
    page = api.get("/reports/monthly.html?month=2026-11")
    assert page.status_code == 200 and b"<svg" in page.body
    # A month with nothing in it, and months that do not exist.
    assert api.get("/reports/monthly?month=2026-10").json_body["overall"]["resolved"] == 0
    for bad in ("2026-13", "2026-00", "november", ""):
        r = api.get(f"/reports/monthly?month={bad}")
        assert r.status_code == 400 and r.json_body["error"]["field"] == "month"
    assert api.get("/reports/monthly?month=2026-11", key=ben["api_key"]).status_code == 403
    assert clock_at.now == at(30, 23)  # reading the report moved nothing


def test_template_effectiveness_names_what_to_automate(api, twilio, team, clock_at):
    from chalicelib.usecases import reports

    tid = api.post("/templates", {"name": "hours", "body": "We're open 9-17, {first_name}."}).json_body["id"]
    for i in range(5):
        t = api.ticket("when are you open?", contact=f"+491770000{i:04d}")
        api.post(f"/tickets/{t['id']}/reply", {"template": tid})
        api.post(f"/tickets/{t['id']}/resolve")
    twilio.inbox.clear()
    report = reports.monthly("2026-11", clock_at.now)
    lang = api.get(f"/tickets/{t['id']}").json_body["language"]
    assert report["templates"][0] | {} == {
        "template_id": tid, "name": "hours", "auto": False, "uses": 5, "tickets": 5,
        "resolved_without_further_message": 1.0, "satisfaction": None, "ready_to_automate": True,
        "automation_failing": False, "by_language": {lang: {"uses": 5, "resolved_without_further_message": 1.0}}}
    assert report["templates_ready_to_automate"] == ["hours"]


def test_a_thank_you_is_no_second_contact_and_a_no_undoes_a_templates_success(api, twilio, team, clock_at):
    """Issue 21: first-contact resolution 0 % because "Great, thanks" counted as a second message; a
    template showed "solved without more 100 %" beside a survey NO."""
    tid = api.post("/templates", {"name": "reset", "body": "Hi {first_name}, reset it in Settings."}).json_body["id"]
    clock_at.set(at(2, 10))
    twilio.sms(CUSTOMER, "how do I reset my password")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(owner_phone(api, 1)).expect_sms("#1 is yours now")
    api.post("/tickets/1/reply", {"template": tid}, key=team["ben"]["api_key"])
    twilio.phone(CUSTOMER).expect_sms("reset it in Settings")
    api.post("/tickets/1/resolve", key=team["ben"]["api_key"])
    twilio.phone(CUSTOMER).expect_sms("Did this answer")
    twilio.sms(CUSTOMER, "YES")
    twilio.phone(CUSTOMER).expect_sms("Thank you")
    twilio.sms(CUSTOMER, "Great, thanks")  # kept on the ticket: no second contact
    clock_at.set(at(3, 10))
    twilio.sms(B, "how do I reset my password")
    twilio.phone(B).expect_sms("ticket #2")
    twilio.phone(owner_phone(api, 2)).expect_sms("#2 is yours now")
    api.post("/tickets/2/reply", {"template": tid}, key=team["ben"]["api_key"])
    twilio.phone(B).expect_sms("reset it in Settings")
    api.post("/tickets/2/resolve", key=team["ben"]["api_key"])
    twilio.phone(B).expect_sms("Did this answer")
    twilio.sms(B, "NO")  # it did not solve it
    twilio.phone(B).expect_sms("do better")
    twilio.phone(owner_phone(api, 2)).expect_sms("#2 is yours now")
    report = api.get("/reports/monthly?month=2026-11").json_body
    assert report["overall"]["first_contact_resolution"] == 0.5  # #1 yes (thanks is no contact), #2 came back
    [template] = report["templates"]
    assert template["resolved_without_further_message"] == 0.5 and template["satisfaction"] == 0.5


def test_a_formula_in_a_survey_comment_or_a_name_stays_text_in_the_csv(api, twilio, team, clock_at):
    """Issue 23: `=HYPERLINK("http://…","click")` landed unescaped in /reports/monthly?format=csv."""
    api.patch(f"/people/{team['ben']['id']}", {"name": "=1+2 Ben"})
    clock_at.set(at(2, 10))
    twilio.sms(CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(owner_phone(api, 1)).expect_sms("#1 is yours now")
    api.post("/tickets/1/resolve", key=team["ben"]["api_key"])
    twilio.phone(CUSTOMER).expect_sms("Did this answer")
    twilio.sms(CUSTOMER, "no")
    twilio.phone(CUSTOMER).expect_sms("do better")
    twilio.inbox.clear()
    twilio.sms(CUSTOMER, '=HYPERLINK("http://evil.example","click")')
    twilio.inbox.clear()
    csv_text = api.get("/reports/monthly?month=2026-11&format=csv").body.decode()
    assert '\'=HYPERLINK(""http://evil.example"",""click"")' in csv_text
    assert "'=1+2 Ben" in csv_text
    assert not any(cell.startswith(("=", "+", "@")) for line in csv_text.splitlines() for cell in line.split(","))


def test_template_success_per_language(api, twilio, team, clock_at):
    """Issue 24: the report shows a template's success per language of the customer."""
    from chalicelib.usecases import reports

    tid = api.post("/templates", {"name": "hours", "body": "We're open 9-17.",
                                  "bodies": {"de": "Wir haben von 9 bis 17 Uhr offen."}}).json_body["id"]
    for i, (lang, comes_back) in enumerate((("de", False), ("de", False), ("fr", True))):
        phone = f"+491770001{i:04d}"
        twilio.sms(phone, "Hello, when are you open on weekdays?")
        ticket_id = i + 1
        api.put(f"/tickets/{ticket_id}/language", {"language": lang})
        clock_at.advance(minutes=5)
        api.post(f"/tickets/{ticket_id}/reply", {"template": tid})
        clock_at.advance(minutes=5)
        if comes_back:  # the customer writes again: the template did not settle it
            twilio.sms(phone, "that does not answer my question at all, sorry")
            assert "does not answer" in api.get(f"/tickets/{ticket_id}").json_body["messages"][-1]["text"]
            clock_at.advance(minutes=5)
        api.post(f"/tickets/{ticket_id}/resolve")
    twilio.inbox.clear()
    [template] = reports.monthly("2026-11", clock_at.now)["templates"]
    assert template["by_language"] == {"de": {"uses": 2, "resolved_without_further_message": 1.0},
                                       "fr": {"uses": 1, "resolved_without_further_message": 0.0}}
