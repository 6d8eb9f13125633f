"""Stories on the emergency line: screened dialling, fail-over, voicemail, paging."""
from __future__ import annotations

from chalicelib.usecases import templates
from tests.data import ANA, BEN, CUSTOMER


def events(api, ticket_id=1):
    return api.get(f"/tickets/{ticket_id}").json_body["events"]


def test_the_holder_answers_after_pressing_1(api, twilio, team):
    call = twilio.call(CUSTOMER)
    assert call.dialing() == ANA  # Friday 22:00: Ana holds the phone
    call.answer(press="1", talk_seconds=240)
    assert call.ended()
    t = api.get("/tickets/1").json_body
    assert (t["channel"], t["priority"], t["owner"]) == ("voice", "urgent", team["ana"]["id"])
    evs = events(api)
    answered = [e for e in evs if e["type"] == "call_answered"][0]
    completed = [e for e in evs if e["type"] == "call_completed"][0]
    assert answered["actor"] == team["ana"]["id"] and completed["seconds"] == 240
    assert not any(e["type"] == "page_opened" for e in evs)


def test_voicemail_answering_the_holders_phone_is_not_a_connection(api, twilio, team):
    call = twilio.call(CUSTOMER)
    call.answer(press="")  # the holder's voicemail picks up: nobody presses 1
    assert call.dialing() == BEN  # so the backup rings next


def test_no_answer_then_backup_then_voicemail_with_transcript_pages_the_chain(api, twilio, team):
    call = twilio.call(CUSTOMER)
    assert call.dialing() == ANA
    call.no_answer()
    assert call.dialing() == BEN
    call.busy()
    assert call.dialing() is None
    # Nobody answered: the page goes out at once, and the caller can leave a voicemail.
    twilio.phone(ANA).expect_sms("URGENT #1")
    call.leave_voicemail("Our checkout is broken, please call back", seconds=25)
    assert call.ended()
    # The caller (a German mobile) learns their ticket by SMS, in German (issue 34).
    twilio.phone(CUSTOMER).expect_sms("Wir haben Ihre Sprachnachricht - Ticket #1.")
    # The transcript follows the page to the phone it reached, with the caller's number.
    follow = twilio.phone(ANA).expect_sms(f"#1 {CUSTOMER}: (voicemail transcript) Our checkout is broken").last["body"]
    assert templates.segments(follow)["segments"] == 1
    t = api.get("/tickets/1").json_body
    texts = [m["text"] for m in t["messages"]]
    assert "(voicemail)" in texts
    assert "(voicemail transcript) Our checkout is broken, please call back" in texts
    assert t["messages"][0]["media"][0].startswith("https://api.twilio.com/")
    types = [e["type"] for e in t["events"]]
    assert types.count("page_opened") == 1 and "voicemail" in types


def test_nobody_on_call_goes_straight_to_voicemail(api, twilio):
    call = twilio.call(CUSTOMER)
    assert call.dialing() is None
    call.leave_voicemail("hello?")
    assert call.ended()
    twilio.phone(CUSTOMER).expect_sms("Ticket #1")
    assert api.get("/tickets/1").json_body["channel"] == "voice"


def test_a_retried_call_webhook_opens_one_ticket(api, twilio, team):
    twilio.call(CUSTOMER)  # the fake posts every webhook twice
    assert len(api.get("/tickets").json_body["items"]) == 1


def test_voice_urls_carry_no_query_string_and_verbs_have_actions(api, twilio, team):
    call = twilio.call(CUSTOMER)
    dial = call.twiml.find("./Dial")
    assert "?" not in dial.get("action") and dial.get("timeout")
    call.no_answer().no_answer()
    record = call.twiml.find("./Record")
    assert record.get("action").endswith("/twilio/voice/recorded/1")
    assert int(record.get("maxLength")) <= 300
    twilio.phone(ANA).expect_sms("URGENT #1")
