"""What people are told is true, round 2 (issue 34): each story fails on the code before it."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from chalicelib.domain import surveys
from tests.data import ANA, CUSTOMER, owner_phone

GERMAN = "+4917755500001"


def _resolved_at_work(api, twilio, team, clock_at, phone: str, text: str) -> int:
    """A ticket Ana worked (acknowledged, then resolved) on a Monday at work: the survey asked."""
    clock_at.set(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))  # Monday 11:00 Berlin
    twilio.sms(phone, text)
    twilio.phone(phone).expect_sms("#1")
    twilio.phone(owner_phone(api, 1)).expect_sms("#1")
    assert api.post("/tickets/1/ack", key=team["ana"]["api_key"]).status_code == 200  # Ana takes it
    twilio.inbox[ANA].clear()
    assert api.post("/tickets/1/resolve", key=team["ana"]["api_key"]).status_code == 200
    return 1


@pytest.mark.pure
@pytest.mark.parametrize("text, verdict, comment", [
    ("NEIN die Seite ist schon wieder weiss", "no", "die Seite ist schon wieder weiss"),
    ("NON, toujours rien", "no", "toujours rien"),
    ("NU merge nici acum", "no", "merge nici acum"),
    ("no - too slow", "no", "too slow"),
    ("JA danke", "yes", "danke"),
    ("Nein", "no", ""),
    ("👎 still broken", "no", "still broken"),
    ("Nobody answered", None, "Nobody answered"),  # a word that begins like NO is no answer
    ("the page is white again", None, "the page is white again"),
])
def test_a_survey_answer_is_read_with_words_after_it(text, verdict, comment):
    assert surveys.split_answer(text) == (verdict, comment)


def test_a_no_with_its_reason_in_one_text_is_recorded_answered_and_told(api, twilio, team, clock_at):
    """'NEIN die Seite ist schon wieder weiss' got an empty answer, the survey stayed asked1, the ticket
    reopened silently and nobody on the team was told."""
    _resolved_at_work(api, twilio, team, clock_at, GERMAN, "Hallo, die Seite ist weiss, bitte helfen Sie")
    twilio.phone(GERMAN).expect_sms("Hat das Ihre Frage beantwortet?")
    clock_at.advance(minutes=10)
    twilio.sms(GERMAN, "NEIN die Seite ist schon wieder weiss")
    # The customer: the sorry, in German, at once (no second question to a reason already given).
    twilio.phone(GERMAN).expect_sms("Das tut uns leid - danke, dass Sie es uns sagen. Wir haben Ihr Ticket "
                                    "wieder geöffnet")
    twilio.phone(GERMAN).expect_nothing()
    # Ana, who worked it: the reopened ticket is hers, and she reads what the customer wrote.
    twilio.phone(ANA).expect_sms("#1")
    twilio.phone(ANA).expect_sms("die Seite ist schon wieder weiss")
    detail = api.get("/tickets/1").json_body
    assert detail["status"] == "open"
    assert detail["survey"]["answer"] == "no" and detail["survey"]["comment"] == "die Seite ist schon wieder weiss"
    assert [(m["author"], m["text"]) for m in detail["messages"][-2:]] == [
        ("customer", "die Seite ist schon wieder weiss"),
        ("system", "Das tut uns leid - danke, dass Sie es uns sagen. Wir haben Ihr Ticket wieder geöffnet und "
                   "antworten Ihnen.")]
    types = [e["type"] for e in detail["events"]]
    assert types.count("survey_answered") == 1 and types.count("survey_comment") == 1
    assert len(api.get("/tickets").json_body["items"]) == 1  # no second ticket


def test_a_yes_with_thanks_is_a_yes_and_its_words_are_kept(api, twilio, team, clock_at):
    _resolved_at_work(api, twilio, team, clock_at, CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?")
    twilio.sms(CUSTOMER, "yes, thanks a lot!")
    twilio.phone(CUSTOMER).expect_sms("Thank you for your answer!")
    twilio.phone(ANA).expect_sms("#1 +4917712345678: thanks a lot!")  # Ana, who worked it, reads it
    detail = api.get("/tickets/1").json_body
    assert detail["status"] == "resolved"
    assert detail["survey"]["answer"] == "yes" and detail["survey"]["comment"] == "thanks a lot!"


def test_stop_still_wins_over_a_survey(api, twilio, team, clock_at):
    _resolved_at_work(api, twilio, team, clock_at, CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?")
    twilio.sms(CUSTOMER, "STOP")
    twilio.phone(CUSTOMER).expect_nothing()
    detail = api.get("/tickets/1").json_body
    assert detail["status"] == "resolved" and detail["survey"]["answer"] is None


def test_a_chat_in_which_the_customer_never_wrote_tells_nobody(api, twilio, team, clock_at, schedule):
    """A chat session opened Friday night and never written in landed in its owner's Monday digest."""
    clock_at.set(datetime(2026, 11, 20, 21, 0, tzinfo=timezone.utc))  # Friday 22:00 Berlin: out of hours
    empty = api.post("/chat/sessions", {"name": "Mia"}, key=None).json_body
    written = api.post("/chat/sessions", {"name": "Paul"}, key=None).json_body
    r = api.post(f"/chat/sessions/{written['session_id']}/messages", {"text": "my parcel is wet"},
                 key=written["token"])
    assert r.status_code == 201
    empty_events = [e["type"] for e in api.get(f"/tickets/{empty['ticket_id']}").json_body["events"]]
    assert "owner_told_later" not in empty_events and "owner_told" not in empty_events
    assert "owner_told_later" in [e["type"] for e in api.get(f"/tickets/{written['ticket_id']}").json_body["events"]]
    clock_at.set(datetime(2026, 11, 23, 8, 0, 30, tzinfo=timezone.utc))  # Monday 09:00:30 Berlin
    schedule("page_sweep")
    owner = owner_phone(api, written["ticket_id"])
    digest = twilio.phone(owner).expect_sms("1 ticket is yours: ").last["body"]
    assert f"#{written['ticket_id']} " in digest and f"#{empty['ticket_id']}" not in digest
    for phone in (ANA, "+4915100000002", "+4915100000003"):
        twilio.phone(phone).expect_nothing()  # nobody hears of the empty chat, ever


def test_a_page_quotes_the_message_that_made_the_ticket_urgent_in_every_round(api, twilio, team, clock_at,
                                                                               schedule):
    """A customer's "DRINGEND Kasse defekt" on a ticket an earlier message opened paged the holder with
    the first message ("Hallo, meine Bestellung 5521 ...")."""
    from tests.data import BEN

    clock_at.set(datetime(2026, 11, 21, 21, 0, tzinfo=timezone.utc))  # Saturday 22:00 Berlin: Ana holds
    twilio.sms(GERMAN, "Hallo, meine Bestellung 5521 ist nicht angekommen")
    twilio.phone(GERMAN).expect_sms("#1")
    clock_at.advance(minutes=20)
    twilio.sms(GERMAN, "DRINGEND Kasse defekt, niemand kann zahlen")
    page = twilio.phone(ANA).expect_sms("URGENT #1").last["body"]
    assert "DRINGEND Kasse defekt, niemand kann zahlen" in page and "Bestellung" not in page
    # The next rounds (nobody acknowledged) quote it too.
    later = []
    for _ in range(25):
        clock_at.advance(minutes=1)
        schedule("page_sweep")
        later += [m["body"] for phone in (ANA, BEN) for m in twilio.inbox[phone]]
        for phone in (ANA, BEN):
            twilio.inbox[phone].clear()
    sms_pages = [body for body in later if body.startswith("URGENT #1")]
    assert sms_pages and all("DRINGEND Kasse defekt" in body and "Bestellung" not in body for body in sms_pages)
    twilio.inbox.clear()


def test_the_owner_of_a_voicemail_ticket_never_reads_no_message(api, twilio, team, clock_at, schedule):
    """The owner's notice of a call's ticket, sent by the sweep after the voicemail's transcript, said
    "(no message yet)"."""
    clock_at.set(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))  # Monday 11:00 Berlin: at work
    call = twilio.call("+4917700000099")
    while call.dialing():
        call.no_answer()
    call.leave_voicemail("Kasse defekt, bitte rufen Sie zurueck", seconds=25)
    clock_at.advance(seconds=5)
    schedule("page_sweep")
    owner = owner_phone(api, 1)
    told = [m["body"] for m in twilio.inbox[owner] if "is yours now" in m["body"]]
    assert told and all("no message" not in body for body in told)
    assert "a call from +4917700000099" in told[0]
    twilio.inbox.clear()


def _says(call) -> list[tuple[str, str]]:
    return [(say.get("language"), say.text) for say in call.twiml.iter("Say")]


def test_a_new_caller_hears_their_countrys_language_and_their_voicemail_is_answered_by_sms(api, twilio, team,
                                                                                            clock_at):
    """A first call from a German mobile got <Say language="en-US">; the caller who left a voicemail
    never learned their ticket; the prompts said both "We did not get a message" and "We have your
    message"."""
    clock_at.set(datetime(2026, 11, 21, 21, 0, tzinfo=timezone.utc))  # Saturday night
    caller = "+4917700000077"
    call = twilio.call(caller)
    (lang, greeting), *_ = _says(call)
    assert lang == "de-DE" and greeting.startswith("Sie haben die Notfallnummer")
    while call.dialing():
        call.no_answer()
    prompts = _says(call)
    assert {lang for lang, _ in prompts} == {"de-DE"}
    assert not any("keine Nachricht" in text or "did not get" in text for _, text in prompts)
    call.leave_voicemail("Die Kasse ist kaputt", seconds=20)
    assert [text for _, text in _says(call)] == [
        "Danke. Wir haben Ihre Nachricht, und das Bereitschaftsteam ist alarmiert. Auf Wiederhören."]
    sms = twilio.phone(caller).expect_sms("Wir haben Ihre Sprachnachricht - Ticket #1.").last["body"]
    from chalicelib.domain import texts

    assert texts.segments(sms)["segments"] == 1
    detail = api.get("/tickets/1").json_body
    assert detail["language"] == "de"
    assert sms in [m["text"] for m in detail["messages"] if m["author"] == "system"]  # on the ticket, as sent
    twilio.inbox.clear()


def test_a_landline_or_premium_caller_gets_no_sms_after_the_voicemail(api, twilio, team, clock_at):
    clock_at.set(datetime(2026, 11, 21, 21, 0, tzinfo=timezone.utc))
    for n, caller in enumerate(("+493012345678", "+4990012345678")):  # Berlin landline; German premium rate
        call = twilio.call(caller)
        while call.dialing():
            call.no_answer()
        call.leave_voicemail(f"landline {n}", seconds=10)
        twilio.phone(caller).expect_nothing()
    twilio.inbox.clear()


def test_the_schedule_keeps_the_past_as_it_happened_and_shows_shifts_whole(api, team, clock_at, schedule):
    """After a rota change effective now, GET /rota/schedule showed the new first member on the days the
    old holder really held the phone; the coming shifts ended at "now + 4 weeks"."""
    ana, ben, chloe = team["ana"]["id"], team["ben"]["id"], team["chloe"]["id"]
    clock_at.set(datetime(2026, 11, 20, 17, 30, tzinfo=timezone.utc))  # Friday 18:30 Berlin: Ana's week began
    schedule("handoff_sweep")
    clock_at.set(datetime(2026, 11, 25, 11, 0, tzinfo=timezone.utc))  # Wednesday 12:00 Berlin
    schedule("handoff_sweep")
    r = api.put("/rota", {"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"},
                          "shift_days": 7, "members": [chloe, ben, ana], "start": "2026-11-20", "effective": "now"})
    assert r.status_code == 200, r.body
    schedule("handoff_sweep")
    items = api.get("/rota/schedule?from=2026-11-20T18:00:00%2B01:00&to=2026-12-04T12:00:00%2B01:00"
                    ).json_body["items"]
    shown = [(i["person_id"], i["start"], i["end"], i.get("recorded")) for i in items]
    # As it happened: Ana from when the rota was set up (Friday 22:00) until the change.
    assert shown[0] == (ana, "2026-11-20T22:00:00+01:00", "2026-11-25T12:00:00+01:00", True)
    assert shown[1] == (chloe, "2026-11-25T12:00:00+01:00", "2026-11-27T18:00:00+01:00", True)  # held now
    assert shown[2] == (ben, "2026-11-27T18:00:00+01:00", "2026-12-04T18:00:00+01:00", False)  # whole, past `to`
    assert len(shown) == 3
    # The default window (four weeks from now) ends no shift at an arbitrary instant either.
    default = api.get("/rota/schedule").json_body["items"]
    assert default[-1]["end"].endswith("T18:00:00+01:00") and default[0]["start"] == "2026-11-25T12:00:00+01:00"


def _month_with_a_reopened_ticket(api, twilio, team, clock_at, schedule) -> dict:
    """Ana resolves #1, the customer writes again (a repeat contact); Ana held the phone one evening;
    Chloe did nothing counted this month."""
    clock_at.set(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))  # Monday at work
    schedule("handoff_sweep")
    twilio.sms(CUSTOMER, "my invoice is wrong")
    assert api.post("/tickets/1/resolve", key=team["ana"]["api_key"]).status_code == 200
    clock_at.advance(hours=2)
    twilio.sms(CUSTOMER, "it is still wrong")  # reopened
    twilio.inbox.clear()
    return api.get("/reports/monthly?month=2026-11").json_body


def test_the_month_adds_up_every_person_listed_and_each_figure_explained(api, twilio, team, clock_at, schedule):
    """The report left out Chloe (nothing counted), said "Resolved 0" on the console while crediting Ana
    with 1, "Repeat contacts 100 %" with no count, and "Weeks held 0.0" for an evening on the phone."""
    report = _month_with_a_reopened_ticket(api, twilio, team, clock_at, schedule)
    people = {p["name"]: p for p in report["people"]}
    assert set(people) == {"Ana Lopez", "Ben Okafor", "Chloe Martin"}  # zeros included
    assert people["Chloe Martin"]["resolved"] == 0 and people["Chloe Martin"]["hours_held"] == 0
    assert people["Ana Lopez"]["resolved"] == 1
    assert people["Ana Lopez"]["hours_held"] == 63.0  # Fri 22:00 to Mon 13:00 Berlin (now), from the shift records
    o = report["overall"]
    assert (o["resolved"], o["resolved_this_month"], o["repeat_contacts"], o["repeat_contact_rate"]) == (0, 1, 1, 1.0)
    page = api.get("/reports/monthly.html?month=2026-11").body.decode()
    assert "Resolved: 0 (tickets resolved this month and still resolved; 1 were resolved at some point" in page
    assert "Repeat contacts: 100 %: 1 of the 1 tickets resolved this month came back" in page
    assert "63 h" in page and "Chloe Martin" in page


def test_the_consoles_report_page_shows_the_reports_own_figures(chromium, proxy, api, twilio, team,
                                                                 clock_at, schedule):
    from playwright.sync_api import expect

    from tests.test_console_browser import PHONE, accessible, sign_in

    _month_with_a_reopened_ticket(api, twilio, team, clock_at, schedule)
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, twilio, proxy, ANA)
    page.goto(proxy + "/console/report")
    expect(page.get_by_text("Resolved: 0 tickets resolved this month and still resolved (1 resolved at some point)")
           ).to_be_visible()
    expect(page.get_by_text("Repeat contacts: 1 of 1 resolved tickets came back")).to_be_visible()
    expect(page.get_by_text("Ana Lopez: resolved 1, passed up 0, on call 63 h")).to_be_visible()
    expect(page.get_by_text("Chloe Martin: resolved 0, passed up 0, on call 0 h, pages 0")).to_be_visible()
    accessible(page, "report")
    context.close()


def test_a_nameless_german_customer_is_not_greeted_as_a_group(api, twilio, team):
    """Issue 38: with no name, {first_name} became "zusammen" ("Hallo zusammen") for one person."""
    from chalicelib.domain.templates import Template
    from chalicelib.usecases import templates, tickets

    ticket = tickets.get(api.ticket("Die Seite ist weiss", contact=GERMAN)["id"])
    ticket = ticket.replace(language="de")
    now = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    t = Template(id="t1", name="hallo", body="Hallo {first_name}, wir sind dran (Ticket {ticket}).", created_at=now,
                 updated_at=now)
    assert templates.render(t, ticket, "Ana Lopez", now) == f"Hallo, wir sind dran (Ticket {ticket.id})."
    named = ticket.replace(customer_name="Jana Weber")
    assert templates.render(t, named, "Ana Lopez", now) == f"Hallo Jana, wir sind dran (Ticket {ticket.id})."
    english = ticket.replace(language="en")
    assert templates.render(t, english, "Ana Lopez", now).startswith("Hallo there,")  # English keeps "there"
    twilio.inbox.clear()
