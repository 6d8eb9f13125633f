"""Templates, automation and the two-question survey, as customers and staff meet them."""
from __future__ import annotations

from datetime import timedelta

from tests.data import ANA, BEN, CUSTOMER, owner_phone

SHIPPING = {"name": "shipping", "body": "Hi {first_name}, {agent} here: ticket {ticket} ships within 2 days.",
            "category": "orders", "keywords": ["shipping", "delivery"]}


def test_template_crud_with_segments_and_clear_errors(api, team):
    r = api.post("/templates", SHIPPING)
    assert r.status_code == 201, r.body
    t = r.json_body
    sample = "Hi Alexandra, Ana here: ticket 1234 ships within 2 days."  # rendered with typical values
    assert t["sms"] == {"encoding": "GSM-7", "characters": len(sample), "segments": 1}
    assert api.get("/templates", key=team["ben"]["api_key"]).json_body["items"][0]["name"] == "shipping"
    assert api.post("/templates", SHIPPING).status_code == 409
    bad = api.post("/templates", {"name": "x", "body": "Hi {firstname}"})
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "body"
    assert "{firstname}" in bad.json_body["error"]["message"]
    assert api.post("/templates", {"name": "Bad Name", "body": "x"}).json_body["error"]["field"] == "name"
    assert api.post("/templates", {"name": "y", "body": "x", "auto": True}).json_body["error"]["field"] == "keywords"
    assert api.post("/templates", SHIPPING, key=team["ben"]["api_key"]).status_code == 403
    long = api.put(f"/templates/{t['id']}", {"body": "Dziękuję " + "ł" * 80})
    assert long.json_body["sms"]["encoding"] == "UCS-2" and long.json_body["sms"]["segments"] == 2
    assert api.delete(f"/templates/{t['id']}").status_code == 204
    assert api.get(f"/templates/{t['id']}").status_code == 404


def test_reply_with_a_template_is_personalised(api, twilio, team):
    tid = api.post("/templates", SHIPPING).json_body["id"]
    t = api.ticket("where is my parcel", contact=CUSTOMER, customer_name="Mike Lee")
    r = api.post(f"/tickets/{t['id']}/reply", {"template": tid}, key=team["ben"]["api_key"])
    assert r.status_code == 201
    twilio.phone(CUSTOMER).expect_sms(f"Hi Mike, Ben here: ticket {t['id']} ships within 2 days.")  # not "##"
    event = [e for e in api.get(f"/tickets/{t['id']}").json_body["events"] if e["type"] == "message_out"][0]
    assert event["template"] == tid
    assert api.post(f"/tickets/{t['id']}/reply", {"template": "t_nope"}).json_body["error"]["field"] == "template"


def test_the_api_takes_a_template_by_name_as_the_phone_does(api, twilio, team):
    """One rule for every door: `{"template": "shipping"}` (or "/shipping") works like SMS `1 /shipping`."""
    tid = api.post("/templates", SHIPPING).json_body["id"]
    t = api.ticket("where is my parcel", contact=CUSTOMER, customer_name="Mike Lee")
    for ref in ("shipping", "/shipping"):
        r = api.post(f"/tickets/{t['id']}/reply", {"template": ref}, key=team["ben"]["api_key"])
        assert r.status_code == 201, r.json_body
        twilio.phone(CUSTOMER).expect_sms(f"Hi Mike, Ben here: ticket {t['id']} ships within 2 days.")
    events = [e for e in api.get(f"/tickets/{t['id']}").json_body["events"] if e["type"] == "message_out"]
    assert [e["template"] for e in events] == [tid, tid]
    missing = api.post(f"/tickets/{t['id']}/reply", {"template": "nothing"}).json_body["error"]
    assert missing["field"] == "template" and "/shipping" in missing["message"]
    both = api.post(f"/tickets/{t['id']}/reply", {"template": "shipping", "text": "hi"}).json_body["error"]
    assert both["field"] == "text"


def test_staff_answer_with_a_template_from_their_phone(api, twilio, team):
    api.post("/templates", SHIPPING)
    twilio.sms(CUSTOMER, "when will it arrive")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(BEN).reply("1 /shipping").expect("Sent to the customer of #1")
    twilio.phone(CUSTOMER).expect_sms("Ben here: ticket 1 ships within 2 days")
    twilio.phone(BEN).reply("1 /nothing").expect("There is no template /nothing. Templates: /shipping")


def test_an_automatic_template_answers_and_yes_resolves(api, twilio, team):
    api.post("/templates", {**SHIPPING, "auto": True, "body": "Orders ship within 2 days; track at example.com/t"})
    twilio.sms(CUSTOMER, "What are your shipping times?")
    answer = twilio.phone(CUSTOMER).expect_sms("Orders ship within 2 days").last["body"]
    assert "Reply YES if this solved it" in answer and "ticket #1" in answer
    t = api.get("/tickets/1").json_body
    assert t["status"] == "open"  # a human still sees it unless the customer confirms
    assert t["messages"][-1]["author"] == "system"
    assert any(e["type"] == "message_out" and e.get("automated") for e in t["events"])
    twilio.sms(CUSTOMER, "yes")
    twilio.phone(CUSTOMER).expect_sms("glad that solved it")
    t = api.get("/tickets/1").json_body
    assert t["status"] == "resolved"
    assert len(api.get("/tickets").json_body["items"]) == 1  # the YES opened nothing


def test_an_urgent_first_message_is_never_automated(api, twilio, team):
    from tests.data import ANA

    api.post("/templates", {**SHIPPING, "auto": True})
    twilio.sms(CUSTOMER, "URGENT shipping label printer on fire")
    twilio.phone(CUSTOMER).expect_sms("on-call person has been paged")
    twilio.phone(ANA).expect_sms("URGENT #1")


def resolved_sms_ticket(api, twilio, team, text="my invoice is wrong"):
    twilio.sms(CUSTOMER, text)
    twilio.phone(CUSTOMER).expect_sms("ticket #")
    tid = api.get("/tickets").json_body["items"][0]["id"]
    assert api.post(f"/tickets/{tid}/resolve", key=team["ben"]["api_key"]).status_code == 200
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question? Reply YES or NO")
    return tid


def test_sms_survey_yes(api, twilio, team):
    tid = resolved_sms_ticket(api, twilio, team)
    twilio.sms(CUSTOMER, "Yes!")
    twilio.phone(CUSTOMER).expect_sms("Thank you")
    t = api.get(f"/tickets/{tid}").json_body
    assert t["status"] == "resolved"
    answered = [e for e in t["events"] if e["type"] == "survey_answered"][0]
    assert answered["answer"] == "yes" and answered["resolved_by"] == team["ben"]["id"]
    assert len(api.get("/tickets").json_body["items"]) == 1


def test_sms_survey_no_reopens_for_the_last_owner_and_asks_how_to_do_better(api, twilio, team):
    tid = resolved_sms_ticket(api, twilio, team)
    owner = api.get(f"/tickets/{tid}").json_body["owner"]
    twilio.sms(CUSTOMER, "no")
    twilio.phone(CUSTOMER).expect_sms("How could we do better?")
    t = api.get(f"/tickets/{tid}").json_body
    assert (t["status"], t["owner"]) == ("open", owner)
    twilio.sms(CUSTOMER, "The amount is still wrong")
    twilio.phone(CUSTOMER).expect_sms("we'll use this")
    types = [e["type"] for e in api.get(f"/tickets/{tid}").json_body["events"]]
    assert types.count("survey_answered") == 1 and types.count("survey_comment") == 1
    assert len(api.get("/tickets").json_body["items"]) == 1


def test_survey_limits_expiry_and_identity(api, twilio, team, clock_at):
    tid = resolved_sms_ticket(api, twilio, team)
    # another number's YES is just a new customer
    twilio.sms("+4917799999999", "yes")
    twilio.phone("+4917799999999").expect_sms("ticket #2")
    # after the 3-day window a YES is a late answer: kept on its ticket, which stays resolved, no reply
    clock_at.advance(days=3, minutes=1)
    twilio.sms(CUSTOMER, "yes")
    twilio.phone(CUSTOMER).expect_nothing()
    assert api.get(f"/tickets/{tid}").json_body["status"] == "resolved"
    twilio.sms(CUSTOMER, "it is broken again")  # anything else reopens it (a repeat contact)
    twilio.phone(CUSTOMER).expect_sms(f"ticket #{tid}")
    assert api.get(f"/tickets/{tid}").json_body["status"] == "open"
    # a second resolve within 7 days asks nothing
    api.post(f"/tickets/{tid}/resolve")
    twilio.phone(CUSTOMER).expect_nothing()


def test_no_survey_for_staff_opened_tickets_or_opted_out_numbers(api, twilio, team):
    t = api.ticket("called us", contact="+4917711111111")
    api.post(f"/tickets/{t['id']}/resolve")
    twilio.phone("+4917711111111").expect_nothing()
    twilio.sms(CUSTOMER, "hello")
    twilio.phone(CUSTOMER).expect_sms("ticket #")
    twilio.sms(CUSTOMER, "STOP")
    tid = api.get("/tickets?channel=sms").json_body["items"][0]["id"]
    api.post(f"/tickets/{tid}/resolve")
    twilio.phone(CUSTOMER).expect_nothing()


def chat(api, name="Mike Lee"):
    return api.post("/chat/sessions", {"name": name}, key=None).json_body


def test_chat_survey_yes_and_no(api, team):
    for answer, state, status in (("YES", "done", "resolved"), ("NO", "asked2", "open")):
        s = chat(api)
        path = f"/chat/sessions/{s['session_id']}/messages"
        api.post(path, {"text": "help with my invoice"}, key=s["token"])
        api.post(f"/tickets/{s['ticket_id']}/resolve", key=team["ben"]["api_key"])
        poll = api.get(path, key=s["token"]).json_body
        resolved = f"Ticket #{s['ticket_id']} is resolved. Just write again if you need us."
        assert poll["ticket"] == {"id": s["ticket_id"], "status": "resolved", "survey": "asked1",
                                  "expectation": resolved}
        assert api.post(path, {"text": answer}, key=s["token"]).status_code == 201
        poll = api.get(path, key=s["token"]).json_body
        assert (poll["ticket"]["survey"], poll["ticket"]["status"]) == (state, status)
        last = poll["messages"][-1]
        assert last["author"] == "system"
        assert ("Thank you" in last["text"]) if answer == "YES" else ("do better" in last["text"])
    assert len(api.get("/tickets").json_body["items"]) == 2


def test_survey_expires_after_its_window(api, team, clock_at):
    s = chat(api)
    path = f"/chat/sessions/{s['session_id']}/messages"
    api.post(path, {"text": "hi"}, key=s["token"])
    api.post(f"/tickets/{s['ticket_id']}/resolve")
    clock_at.advance(days=3) and None
    clock_at.set(clock_at.now + timedelta(seconds=1))
    api.post(path, {"text": "no"}, key=s["token"])
    t = api.get(f"/tickets/{s['ticket_id']}").json_body
    assert not any(e["type"] == "survey_answered" for e in t["events"])
    assert t["status"] == "resolved"  # a late answer is kept on the ticket: it reopens nothing
    assert t["messages"][-1]["text"] == "no"
    api.post(path, {"text": "it still does not work"}, key=s["token"])
    assert api.get(f"/tickets/{s['ticket_id']}").json_body["status"] == "open"  # anything else reopens it


def test_eta_is_a_whole_phrase_never_by_by(api, twilio, team, clock_at):
    """Issue 21: "…confirm by {eta}." reached a customer as "confirm by by Mon 09:00 CET"."""
    bad = api.post("/templates", {"name": "confirm", "body": "Hi {first_name}, we will confirm by {eta}."})
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "body" and "by {eta}" in \
        bad.json_body["error"]["message"]
    good = api.post("/templates", {"name": "confirm", "body": "Hi {first_name}, we will confirm {eta}."})
    assert good.status_code == 201
    t = api.ticket("where is my parcel", contact=CUSTOMER, customer_name="Mike Lee")  # Friday 22:00: closed
    assert api.post(f"/tickets/{t['id']}/reply", {"template": "confirm"}).status_code == 201
    sms = twilio.phone(CUSTOMER).expect_sms("we will confirm by Mon 09:00 CET.").last["body"]
    assert "by by" not in sms
    # A template stored before the rule reads the same (no "by by" either).
    from chalicelib.domain.templates import Template
    from chalicelib.usecases import templates, tickets

    old = Template("t_old", "old", "We will confirm by {eta}.", clock_at.now, clock_at.now)
    assert templates.render(old, tickets.get(t["id"]), "Ana", clock_at.now) == "We will confirm by Mon 09:00 CET."


def test_a_survey_no_is_never_a_silent_reopen(api, twilio, team, clock_at):
    """Issue 21: the customer read "(we have reopened your ticket)", nobody was told, and the comment
    was not a message."""
    from datetime import datetime, timezone


    clock_at.set(datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc))  # Monday 11:00 Berlin: at work
    twilio.sms(CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    owner = twilio.phone(owner_phone(api, 1)).expect_sms("#1 is yours now")
    assert api.post("/tickets/1/ack", key=team["ana"]["api_key"]).status_code == 200  # Ana takes it
    owner.fake.inbox[owner.number].clear()
    assert api.post("/tickets/1/resolve", key=team["ana"]["api_key"]).status_code == 200
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?")
    twilio.sms(CUSTOMER, "no")
    twilio.phone(CUSTOMER).expect_sms("How could we do better?")
    twilio.phone(ANA).expect_sms("#1 is yours now")  # reopened in her hands: she hears it
    twilio.sms(CUSTOMER, "the invoice still shows the old address")
    twilio.phone(CUSTOMER).expect_sms("Thank you")
    twilio.phone(ANA).expect_sms(f"#1 {CUSTOMER}: the invoice still shows the old address")  # like any message
    detail = api.get("/tickets/1").json_body
    assert detail["status"] == "open"
    assert [(m["author"], m["text"]) for m in detail["messages"][-2:]] == [
        ("customer", "the invoice still shows the old address"), ("system", "Thank you - we'll use this to do better.")]


def test_the_automatic_answer_follows_each_change_of_its_template(api, twilio, team):
    """The keywords a first message is matched with live in a summary changed in the same
    transaction as the template (issue 25): an edit or a delete is seen by the next text."""
    t = api.post("/templates", {**SHIPPING, "auto": True, "body": "Orders ship within 2 days"}).json_body
    twilio.sms("+4917700000001", "what about delivery?")
    twilio.phone("+4917700000001").expect_sms("Orders ship within 2 days")
    assert api.put(f"/templates/{t['id']}", {"keywords": ["parcel"]}).status_code == 200
    twilio.sms("+4917700000002", "what about delivery?")
    assert "Orders ship" not in twilio.phone("+4917700000002").expect_sms("ticket #").last["body"]
    twilio.sms("+4917700000003", "where is my parcel")
    twilio.phone("+4917700000003").expect_sms("Orders ship within 2 days")
    assert api.put(f"/templates/{t['id']}", {"auto": False}).status_code == 200
    twilio.sms("+4917700000004", "where is my parcel")
    assert "Orders ship" not in twilio.phone("+4917700000004").expect_sms("ticket #").last["body"]
    assert api.put(f"/templates/{t['id']}", {"auto": True}).status_code == 200
    assert api.delete(f"/templates/{t['id']}").status_code == 204
    twilio.sms("+4917700000005", "where is my parcel")
    assert "Orders ship" not in twilio.phone("+4917700000005").expect_sms("ticket #").last["body"]


def test_templates_stored_before_the_summary_still_answer_and_write_it(api, twilio, team):
    """An install from before the summary: the first text matches from every template (a Query)
    and writes the summary; the next one reads it with the contact, and no Query of templates."""
    from bench.counting import counted
    from chalicelib import store
    from chalicelib.store import models

    api.post("/templates", {**SHIPPING, "auto": True, "body": "Orders ship within 2 days"})
    models.Setting(name="automatic").delete(add_version_condition=False)  # as before the summary existed
    store.clear_shared()
    with counted() as r:
        twilio.sms("+4917700000001", "what about delivery?")
    twilio.phone("+4917700000001").expect_sms("Orders ship within 2 days")
    assert r["calls"]["Query"] >= 1 and r["calls"]["PutItem"] == 1
    assert store.automatic_templates() is not None
    store.clear_shared()
    with counted() as r:
        twilio.sms("+4917700000002", "what about delivery?")
    twilio.phone("+4917700000002").expect_sms("Orders ship within 2 days")
    assert "PutItem" not in r["calls"]


def test_a_new_customers_text_in_a_cold_process_takes_five_round_trips(api, twilio, team, clock_at):
    """Issue 25: nothing cached (a cold Lambda): the contact with the policy, the rota and the
    automatic templates in one BatchGetItem, the ticket's number, the people, their open counts,
    one transaction."""
    from bench.counting import counted
    from chalicelib import store

    api.post("/templates", {**SHIPPING, "auto": True})
    store.clear_shared()
    twilio.replay = False  # one delivery (the fake otherwise sends each webhook twice)
    with counted() as r:
        twilio.sms("+4917700000001", "Hello, our shop has been offline since this morning")
    twilio.phone("+4917700000001").expect_sms("ticket #1")
    assert r["calls"] == {"BatchGetItem": 2, "UpdateItem": 1, "Query": 1, "TransactWriteItems": 1}, r["calls"]
