"""One conversation per customer: the working person hears the customer, a thank-you is not a
repeat contact, urgency wins, pages say who called, texts stay GSM-7."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from chalicelib.channels.sms import HELP_TEXT
from chalicelib.usecases import templates
from tests.data import ANA, BEN, CUSTOMER, FRIDAY_NIGHT

SATURDAY_NIGHT = FRIDAY_NIGHT + timedelta(days=1)


def test_after_ack_the_customers_answer_reaches_the_holders_phone(api, twilio, team, clock_at):
    clock_at.set(SATURDAY_NIGHT)
    twilio.sms(CUSTOMER, "URGENT the shop is down")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(ANA).expect_sms("URGENT #1").reply("ACK 1").expect("Acknowledged")
    twilio.phone(ANA).reply("1 which shop URL?").expect("Sent to the customer of #1")
    twilio.phone(CUSTOMER).expect_sms("which shop URL?")
    clock_at.advance(minutes=2)
    twilio.sms(CUSTOMER, "shop.example.com")
    twilio.phone(ANA).expect_sms("#1 +4917712345678: shop.example.com")  # and Ana answers with "1 text"
    twilio.phone(BEN).expect_nothing()


def test_a_thank_you_after_a_resolve_is_stored_but_reopens_nothing(api, twilio, team, clock_at):
    twilio.sms(CUSTOMER, "where is my order?")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    assert api.post("/tickets/1/resolve").status_code == 200
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?")
    clock_at.advance(hours=1)
    twilio.sms(CUSTOMER, "YES")
    twilio.phone(CUSTOMER).expect_sms("Thank you")
    clock_at.advance(hours=1)
    twilio.sms(CUSTOMER, "thanks a lot!")
    twilio.phone(CUSTOMER).expect_nothing()  # no "we got your message" for a thank-you
    ticket = api.get("/tickets/1").json_body
    assert ticket["status"] == "resolved" and ticket["reopen_count"] == 0
    assert ticket["messages"][-1]["text"] == "thanks a lot!"
    assert "thanked" in [e["type"] for e in ticket["events"]]
    twilio.sms(CUSTOMER, "thanks, but it broke again")  # not a thank-you: a customer who came back
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    assert api.get("/tickets/1").json_body["reopen_count"] == 1


def test_urgent_after_a_survey_no_is_a_page_not_a_comment(api, twilio, team, clock_at):
    clock_at.set(SATURDAY_NIGHT)
    twilio.sms(CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    api.post("/tickets/1/resolve")
    twilio.phone(CUSTOMER).expect_sms("Did this answer")
    twilio.sms(CUSTOMER, "NO")
    twilio.phone(CUSTOMER).expect_sms("How could we do better?")
    twilio.sms(CUSTOMER, "URGENT the shop is down again")
    twilio.phone(ANA).expect_sms("URGENT #1")
    ticket = api.get("/tickets/1").json_body
    customer = [m["text"] for m in ticket["messages"] if m["author"] == "customer"]
    assert ticket["priority"] == "urgent" and customer[-1] == "URGENT the shop is down again"
    twilio.inbox.clear()


def test_a_voice_page_says_who_called(api, twilio, team, clock_at, schedule):
    clock_at.set(SATURDAY_NIGHT)
    twilio.missed_call(CUSTOMER)
    for _ in range(2):
        clock_at.advance(minutes=1)
        schedule("reconcile_sweep")
    page = twilio.phone(ANA).expect_sms("URGENT #1 (call +4917712345678): (missed call at").last["body"]
    assert page.isascii() and len(page) <= 160


def test_staff_texts_and_templates_stay_gsm7_and_count_emoji_right(api, team):
    assert templates.segments(HELP_TEXT) == {"encoding": "GSM-7", "characters": len(HELP_TEXT), "segments": 2}
    assert templates.segments("Danke 🙏")["characters"] == 8  # the emoji is two UTF-16 units
    assert templates.segments("🙏" * 35)["segments"] == 1 and templates.segments("🙏" * 36)["segments"] == 2


def test_the_answer_time_names_its_zone(api, twilio, team):
    twilio.sms(CUSTOMER, "hello, where is my order?")
    assert "We'll answer by Mon 09:00 CET" in twilio.phone(CUSTOMER).expect_sms("ticket #1").last["body"]


def test_two_first_texts_sent_at_once_make_one_ticket(api, twilio, team, clock_at, monkeypatch):
    """Two threads, both past reading the (empty) contact before either writes: one opens the
    ticket, the other loses the contact's condition, reads again and joins it."""
    import threading

    # Real DynamoDB applies each call atomically and in isolation. moto does not under threads: a
    # transaction that fails restores a copy of the tables taken before it ran, erasing another
    # thread's transaction that committed meanwhile. One lock per DynamoDB call restores what
    # DynamoDB guarantees; the race between the calls (read the contact, then write) stays open.
    from botocore.client import BaseClient

    from chalicelib import clock, store
    from chalicelib.channels import sms
    from tests.fake_twilio import ACCOUNT_SID, new_sid

    real_call, call_lock = BaseClient._make_api_call, threading.Lock()

    def atomic_call(client, operation, params):
        if client.meta.service_model.service_name != "dynamodb":
            return real_call(client, operation, params)
        with call_lock:
            return real_call(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", atomic_call)
    real_get_contact = store.get_contact
    barrier = threading.Barrier(2, timeout=10)
    first_reads = {"n": 0}

    def get_contact_together(phone):
        contact = real_get_contact(phone)
        if phone == CUSTOMER and first_reads["n"] < 2:
            first_reads["n"] += 1
            barrier.wait()  # both have read the empty contact: now race
        return contact

    monkeypatch.setattr(store, "get_contact", get_contact_together)
    answers, errors = [], []

    def text(body: str) -> None:
        try:
            store.begin_unit()
            clock.set_now(clock_at.now)
            params = {"MessageSid": new_sid("SM"), "AccountSid": ACCOUNT_SID, "From": CUSTOMER,
                      "To": twilio.support, "Body": body, "NumMedia": "0"}
            answers.append(sms.webhook(params, params["MessageSid"], clock_at.now))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    bodies = ("hi, my order has not arrived", "it never came, where is it?")
    threads = [threading.Thread(target=text, args=(body,)) for body in bodies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    items = api.get("/tickets").json_body["items"]
    assert [t["id"] for t in items] == [items[0]["id"]]  # one ticket
    ticket = api.get(f"/tickets/{items[0]['id']}").json_body
    assert sorted(m["text"] for m in ticket["messages"] if m["author"] == "customer") == sorted(bodies)
    assert sum(m["author"] == "system" for m in ticket["messages"]) == 1  # the one acknowledgement
    assert ticket["status"] == "open" and "resolved" not in [e["type"] for e in ticket["events"]]
    assert sum("ticket #" in a for a in answers) == 1  # one acknowledgement for the burst, no survey


def test_a_chat_nobody_wrote_in_pages_nobody(api, twilio, team, clock_at, schedule):
    session = api.post("/chat/sessions", {"name": "Mike"}, key=None).json_body
    for _ in range(3):  # past tier 1, 2 and 3 deadlines had the clock run
        clock_at.advance(hours=20)
        schedule("tier_sweep")
        schedule("page_sweep")
    ticket = api.get(f"/tickets/{session['ticket_id']}").json_body
    assert ticket["tier"] == 1 and ticket["tier_due_at"] is None
    assert not {"escalated", "breach", "page_opened"} & {e["type"] for e in ticket["events"]}
    r = api.post(f"/chat/sessions/{session['session_id']}/messages", {"text": "hello?"}, key=None,
                 headers={"Authorization": f"Bearer {session['token']}"})
    assert r.status_code == 201
    assert api.get(f"/tickets/{session['ticket_id']}").json_body["tier_due_at"] is not None  # now it counts
    # A session nobody writes in closes quietly when it ends (7 days): no survey, no page, off the queue.
    empty = api.post("/chat/sessions", {"name": "Nora"}, key=None).json_body
    clock_at.advance(days=7, minutes=1)
    schedule("tier_sweep")
    ticket = api.get(f"/tickets/{empty['ticket_id']}").json_body
    assert ticket["status"] == "closed" and ticket["survey"] is None
    assert ticket["events"][-1]["type"] == "closed"
    assert empty["ticket_id"] not in [t["id"] for t in api.get("/tickets?status=open").json_body["items"]]
    twilio.inbox.clear()  # (the handoff notices of those days: tests/test_rota.py)


def test_a_voice_tickets_survey_answer_lands_on_the_voice_ticket_and_the_comment_is_shown(
        api, twilio, team, clock_at):
    clock_at.set(SATURDAY_NIGHT)
    caller = "+447911123456"  # a British mobile: the line and its texts speak English (issue 34)
    call = twilio.call(caller)  # a new caller: the voice ticket (#1) becomes their conversation
    call.answer(press="1")
    assert api.post("/tickets/1/resolve", key=team["ana"]["api_key"]).status_code == 200
    twilio.phone(caller).expect_sms("Did this answer your question?")
    twilio.sms(caller, "NO")
    twilio.phone(caller).expect_sms("How could we do better?")
    twilio.sms(caller, "nobody called me back")
    twilio.phone(caller).expect_sms("Thank you")
    voice = api.get("/tickets/1").json_body
    assert voice["survey"] == {"state": "done", "answer": "no", "comment": "nobody called me back",
                               "expires_at": voice["survey"]["expires_at"]}
    # v1.2: the comment is the customer's message on the ticket (the YES/NO is the survey's answer).
    # and what the customer read is there too, in order (v1.2: the ticket tells the whole story).
    assert [(m["author"], m["text"]) for m in voice["messages"]] == [
        ("system", "Did this answer your question? Reply YES or NO"),
        ("system", "Sorry to hear that. How could we do better? (we have reopened your ticket)"),
        ("customer", "nobody called me back"),
        ("system", "Thank you - we'll use this to do better.")]
    assert api.get("/tickets?status=open").json_body["items"][0]["id"] == 1  # the NO reopened it; no new one
    report = api.get("/reports/monthly?month=2026-11").json_body
    assert report["survey_comments"] == [{"ticket_id": 1, "at": report["survey_comments"][0]["at"],
                                          "channel": "voice", "comment": "nobody called me back"}]
    csv = api.get("/reports/monthly?month=2026-11&format=csv").body.decode()
    assert csv.split("# survey comments\r\n")[1].splitlines()[1].endswith(",voice,nobody called me back")
    assert "nobody called me back" in api.get("/reports/monthly.html?month=2026-11").body.decode()
    twilio.inbox.clear()


def test_a_call_joins_the_customers_open_sms_conversation(api, twilio, team, clock_at):
    clock_at.set(SATURDAY_NIGHT)
    twilio.sms(CUSTOMER, "my invoice is wrong")  # an open SMS ticket (#1)
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    call = twilio.call(CUSTOMER)  # the same customer calls the emergency line
    call.answer(press="1")
    listed = api.get("/tickets").json_body["items"]
    assert [t["id"] for t in listed] == [1]  # one conversation, not two tickets
    ticket = api.get("/tickets/1").json_body
    assert ticket["priority"] == "urgent"
    assert "call_in" in [e["type"] for e in ticket["events"]]
    assert api.post("/tickets/1/resolve", key=team["ana"]["api_key"]).status_code == 200
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?")
    twilio.sms(CUSTOMER, "YES")
    twilio.phone(CUSTOMER).expect_sms("Thank you")
    assert api.get("/tickets/1").json_body["survey"]["answer"] == "yes"
    twilio.inbox.clear()


def test_a_late_survey_answer_opens_nothing(api, twilio, team, clock_at):
    clock_at.set(SATURDAY_NIGHT)
    twilio.sms(CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    assert api.post("/tickets/1/resolve", key=team["ana"]["api_key"]).status_code == 200
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?")
    clock_at.advance(days=8)  # the survey expired (3 days), the reopen window too (7)
    twilio.sms(CUSTOMER, "YES")
    twilio.phone(CUSTOMER).expect_nothing()
    assert [t["id"] for t in api.get("/tickets?status=open").json_body["items"]] == []
    ticket = api.get("/tickets/1").json_body
    assert ticket["status"] == "resolved" and ticket["messages"][-1]["text"] == "YES"
    assert ticket["events"][-1]["type"] == "thanked"
    twilio.inbox.clear()


def test_an_urgent_ticket_that_changes_hands_tells_its_new_owner(api, twilio, team, clock_at, schedule):
    from tests.data import CHLOE

    urgent = api.ticket("payments fail for everyone", contact=CUSTOMER, priority="urgent")
    normal = api.ticket("invoice is wrong", contact="+4917700000042")
    for t in (urgent, normal):
        r = api.post(f"/tickets/{t['id']}/pass-up", {"reason": "needs billing access"},
                     key=team["ben"]["api_key"])
        assert r.status_code == 200 and r.json_body["owner"] == team["chloe"]["id"]
    twilio.phone(CHLOE).expect_sms(f"#{urgent['id']} is yours now (tier 2, urgent)").expect_nothing()
    kinds = [e["type"] for e in api.get(f"/tickets/{urgent['id']}").json_body["events"]]
    assert "owner_told" in kinds
    # The normal one waits for the morning: one digest at the next opening (Mon 09:00 Berlin),
    # listing only what is still Chloe's and still open.
    third = api.ticket("refund for order 77", contact="+4917700000043")
    gone = api.ticket("password reset", contact="+4917700000044")
    for t in (third, gone):
        api.post(f"/tickets/{t['id']}/pass-up", {"reason": "billing"}, key=team["ben"]["api_key"])
    api.post(f"/tickets/{gone['id']}/resolve", key=team["chloe"]["api_key"])
    assert "owner_told_later" in [e["type"] for e in api.get(f"/tickets/{normal['id']}").json_body["events"]]
    clock_at.set(datetime(2026, 11, 23, 7, 59, tzinfo=timezone.utc))
    schedule("page_sweep")
    twilio.phone(CHLOE).expect_nothing()
    clock_at.set(datetime(2026, 11, 23, 8, 0, 30, tzinfo=timezone.utc))
    schedule("page_sweep")
    digest = twilio.phone(CHLOE).expect_sms("2 tickets are yours: ").last["body"]
    assert f"#{normal['id']} tier 2, due " in digest and f"#{third['id']} tier 2" in digest
    assert f"#{gone['id']}" not in digest
    assert templates.segments(digest)["segments"] == 1
    schedule("page_sweep")
    twilio.phone(CHLOE).expect_nothing()  # once
    twilio.inbox.clear()


def test_a_reply_to_a_customer_we_cannot_reach_says_so(api, twilio, team, clock_at):
    clock_at.set(SATURDAY_NIGHT)
    call = twilio.call("anonymous")  # a withheld number
    call.answer(press="1")
    ben = twilio.phone(BEN)
    ben.reply("1 we saw your call - please write to us").expect("left no number: nothing was sent")
    r = api.post("/tickets/1/reply", {"text": "please write to us"}, key=team["ben"]["api_key"])
    assert r.status_code == 201 and r.json_body["delivery"]["status"] == "not_sent"
    # A customer who texted STOP: the reply is stored, and staff are told it could not go out.
    twilio.sms(CUSTOMER, "my invoice is wrong")
    twilio.phone(CUSTOMER).expect_sms("ticket #2")
    twilio.sms(CUSTOMER, "STOP")
    r = api.post("/tickets/2/reply", {"text": "fixed it"}, key=team["ben"]["api_key"])
    assert r.status_code == 201 and r.json_body["delivery"]["status"] == "failed"
    assert "opted out" in r.json_body["delivery"]["error"]
    twilio.phone(CUSTOMER).expect_nothing()
    twilio.inbox.clear()


def test_a_customer_answering_a_ticket_staff_opened_for_them_joins_it(api, twilio, team, clock_at):
    """A customer called Ben's mobile; Ben opened the ticket and texted a question. The customer's
    answer is on that ticket, not on a new one (it opened ticket #2, unowned by Ben)."""
    clock_at.set(FRIDAY_NIGHT)
    opened = api.post("/tickets", {"contact": CUSTOMER, "customer_name": "Mia", "text": "Called: the shop is down"},
                      key=team["ben"]["api_key"])
    assert opened.status_code == 201, opened.json_body
    ticket = opened.json_body["id"]
    assert api.post(f"/tickets/{ticket}/reply", {"text": "Which shop URL?"}).status_code == 201
    twilio.phone(CUSTOMER).expect_sms("Which shop URL?")
    clock_at.advance(minutes=3)
    twilio.sms(CUSTOMER, "shop.example.com")
    twilio.phone(CUSTOMER).expect_nothing()  # Ben's conversation: no "ticket #2" (a second one), no ack
    listed = api.get("/tickets").json_body["items"]
    assert [t["id"] for t in listed] == [ticket]
    said = [m["text"] for m in api.get(f"/tickets/{ticket}").json_body["messages"] if m["author"] == "customer"]
    assert said == ["Called: the shop is down", "shop.example.com"]


def test_staff_get_their_command_replies_in_their_own_language(api, twilio, team, clock_at):
    """Ana set German as hers (people.language): the engine answers her commands in German; Ben,
    with none, in the business language (issue 24)."""
    clock_at.set(SATURDAY_NIGHT)
    assert api.patch(f"/people/{team['ana']['id']}", {"language": "de"}).status_code == 200
    twilio.sms(CUSTOMER, "URGENT the shop is down")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(ANA).expect_sms("DRINGEND #1 (sms)").reply("ACK 1").expect("#1 übernommen: es gehört Ihnen")
    twilio.phone(ANA).reply("1 which shop URL?").expect("An den Kunden von #1 gesendet.")
    twilio.phone(CUSTOMER).expect_sms("which shop URL?")
    twilio.phone(ANA).reply("ACK 99").expect("Es gibt kein Ticket #99")
    twilio.phone(BEN).reply("RES 1").expect("Resolved #1. Thank you!")
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?")  # the customer's own language


def test_a_customer_answering_a_person_gets_no_automatic_acknowledgement(api, twilio, team, clock_at):
    """Once a person has written, the customer's answer within the hour is a conversation: no
    "Thanks - this is ticket #1. We'll answer by Mon…" in the middle of it (it was sent whenever
    ten minutes had passed since the last one). After an hour of silence it is a new burst again."""
    clock_at.set(SATURDAY_NIGHT)
    twilio.sms(CUSTOMER, "the shop shows a blank page")
    twilio.phone(CUSTOMER).expect_sms("Thanks - this is ticket #1")
    clock_at.advance(minutes=20)
    assert api.post("/tickets/1/reply", {"text": "Which browser do you use?"},
                    key=team["ben"]["api_key"]).status_code == 201
    twilio.phone(CUSTOMER).expect_sms("Which browser do you use?")
    clock_at.advance(minutes=25)
    twilio.sms(CUSTOMER, "Firefox, the newest")
    twilio.phone(CUSTOMER).expect_nothing()  # Ben is talking with them
    assert api.get("/tickets/1").json_body["messages"][-1]["text"] == "Firefox, the newest"
    clock_at.advance(minutes=90)
    twilio.sms(CUSTOMER, "hello? still broken")
    twilio.phone(CUSTOMER).expect_sms("Thanks - this is ticket #1")  # nobody wrote for over an hour
    twilio.sms(CUSTOMER, "URGENT nobody can pay")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")  # urgency is always answered
    twilio.inbox.clear()


def test_when_the_office_closed_after_the_agents_last_word_the_customer_hears_it(api, twilio, team, clock_at):
    """Ben answered at 16:55 (open); the customer's answer at 17:10 is in the hour, but we are
    closed now: silence would hide that, so they hear when we answer."""
    from datetime import timezone as tz

    friday_afternoon = datetime(2026, 11, 20, 15, 30, tzinfo=tz.utc)  # 16:30 CET, open
    clock_at.set(friday_afternoon)
    twilio.sms(CUSTOMER, "the invoice shows the wrong address")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    clock_at.advance(minutes=25)  # 16:55 CET
    assert api.post("/tickets/1/reply", {"text": "Which address should it show?"},
                    key=team["ben"]["api_key"]).status_code == 201
    twilio.phone(CUSTOMER).expect_sms("Which address should it show?")
    clock_at.advance(minutes=15)  # 17:10 CET: closed
    twilio.sms(CUSTOMER, "Hauptstrasse 5, Berlin")
    twilio.phone(CUSTOMER).expect_sms("We'll answer by Mon 09:00 CET")
    twilio.inbox.clear()  # the staff side of the story is told elsewhere
