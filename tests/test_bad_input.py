"""Bad input found by fuzzing and by hand: each is a clear 4xx in the contract's shape (or friendly
TwiML where Twilio expects it), never a 500."""
from __future__ import annotations

import pytest

from tests.data import CUSTOMER


def _error(r, status: int, field: str | None = None) -> dict:
    assert r.status_code == status, (r.status_code, r.body[:300])
    body = r.json_body
    assert set(body) == {"error"} and body["error"]["code"] and body["error"]["message"], body
    if field is not None:
        assert body["error"].get("field") == field, body
    return body["error"]


@pytest.mark.parametrize("path", ["/chat/sessions", "/tickets", "/people"])
def test_deeply_nested_json_is_a_400(api, path):
    raw = '{"name": ' + "[" * 30_000 + "]" * 30_000 + "}"  # under the 64 KiB limit, past the recursion limit
    _error(api.post(path, raw=raw, key=None if path.startswith("/chat") else "default"), 400, "body")


@pytest.mark.parametrize(("path", "payload", "field"), [
    ("/people", {"name": "Ana \ud800"}, "name"),
    ("/people", {"name": "Ana\u0000Lopez"}, "name"),
    ("/templates", {"name": "hi", "body": "Hello \udfff"}, "body"),
    ("/tickets", {"text": "hello", "customer_name": "\ud83d"}, "customer_name"),
    ("/chat/sessions", {"name": "Mike\ud800"}, "name"),
])
def test_unstorable_text_is_a_400_naming_the_field(api, path, payload, field):
    import json

    raw = json.dumps(payload)  # json escapes the lone surrogate as \\ud800, as a client would send it
    _error(api.post(path, raw=raw, key=None if path.startswith("/chat") else "default"), 400, field)


@pytest.mark.parametrize("path", ["/oncall", "/oncall/plan"])
@pytest.mark.parametrize("at", ["0001-01-01T00:00:00%2B00:00", "9999-12-31T23:59:59%2B00:00",
                                "9999-12-31T23:59:59-14:00"])
def test_instants_out_of_range_are_a_400(api, team, path, at):
    _error(api.get(f"{path}?at={at}"), 400, "at")


def test_months_out_of_range_are_a_400(api):
    for month in ("9999-12", "1999-12", "0000-01"):
        _error(api.get(f"/reports/monthly?month={month}"), 400, "month")


def test_a_cursor_from_another_list_is_a_400(api, team):
    for i in range(3):
        api.ticket(f"question {i}", contact=f"+49177000000{i}")
    people_cursor = api.get("/people?limit=1").json_body["next"]
    assert people_cursor
    _error(api.get(f"/tickets?cursor={people_cursor}"), 400, "cursor")
    open_cursor = api.get("/tickets?status=open&limit=1").json_body["next"]
    assert open_cursor
    assert api.get(f"/tickets?status=open&limit=1&cursor={open_cursor}").status_code == 200
    _error(api.get(f"/tickets?owner={team['ana']['id']}&cursor={open_cursor}"), 400, "cursor")
    _error(api.get(f"/people?cursor={open_cursor}"), 400, "cursor")
    _error(api.get("/tickets?cursor=eyJzIjoidGlja2V0c3xOb25lfE5vbmV8Tm9uZXxOb25lIiwiayI6eyJpZCI6eyJCT09MIjp0cnVlfX19"),
           400, "cursor")  # well-formed, right list, a key of the wrong type


def test_odd_path_parameters_are_a_400(api):
    for raw in ("²", "١٢", "12a", "9" * 13):
        _error(api.get(f"/tickets/{raw}"), 400, "ticket_id")


def test_malformed_twilio_numbers_get_their_twiml(api, twilio, team):
    call = twilio.call(CUSTOMER)
    call.no_answer()
    call.busy()
    twilio.phone(team["ana"]["phone"]).expect_sms("URGENT #1")
    for path, params in (("/twilio/voice/recorded/1", {"RecordingSid": "RE" + "0" * 32, "RecordingDuration": "abc",
                                                       "RecordingUrl": "https://api.twilio.com/x"}),
                         ("/twilio/voice/dialed/1/0", {"DialCallStatus": "completed", "DialCallDuration": "²"})):
        r = twilio.post(path, {"CallSid": call.sid, "AccountSid": "AC" + "0" * 32, **params}, replay=False)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/xml"), r.body
    twilio.inbox.clear()
    r = twilio.post("/twilio/sms", {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": CUSTOMER,
                                    "To": twilio.support, "Body": "hi", "NumMedia": "many"}, replay=False)
    assert r.status_code == 200
    twilio.inbox.clear()


def test_a_query_parameter_given_twice_or_empty_is_a_400(api, team):
    """Which of two `format`s counts? Neither: the caller hears which one is ambiguous (schemathesis
    sent ?format=false&format= and got the JSON report). An empty `format` is not "json" either."""
    r = api.get("/reports/monthly?month=2026-11&format=csv&format=json")
    assert r.status_code == 400 and r.json_body["error"]["field"] == "format"
    assert "more than once" in r.json_body["error"]["message"]
    r = api.get("/reports/monthly?month=2026-11&format=")
    assert r.status_code == 400 and r.json_body["error"]["field"] == "format"
    assert api.get("/tickets?limit=5&limit=6").json_body["error"]["field"] == "limit"
    assert api.get("/reports/monthly?month=2026-11&format=csv").status_code == 200
