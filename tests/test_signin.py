"""Signing in by phone (API v1.2): codes by SMS, sessions server-side, the cookie and its CSRF token."""
from __future__ import annotations

import re

from tests.data import ADMIN_KEY, ANA, BEN


def _code(twilio, phone) -> str:
    body = twilio.phone(phone).expect_sms("sign-in code").last["body"]
    return re.match(r"(\d{6}) ", body)[1]


def _cookie(response) -> str:
    header = response.headers["Set-Cookie"]
    return header.split(";")[0]


def sign_in(api, twilio, phone) -> tuple[str, str, dict]:
    assert api.post("/auth/code", {"phone": phone}, key=None).status_code == 202
    r = api.post("/auth/session", {"phone": phone, "code": _code(twilio, phone)}, key=None)
    assert r.status_code == 200, r.body
    return _cookie(r), r.json_body["csrf"], r.json_body["person"]


def test_a_code_by_sms_signs_a_person_in_and_the_cookie_is_strict(api, twilio, team):
    r = api.post("/auth/code", {"phone": BEN}, key=None)
    assert (r.status_code, r.json_body) == (202, {"sent": True})
    code = _code(twilio, BEN)
    r = api.post("/auth/session", {"phone": BEN, "code": code}, key=None)
    assert r.status_code == 200 and r.json_body["person"]["name"] == "Ben Okafor" and r.json_body["csrf"]
    attrs = [a.strip() for a in r.headers["Set-Cookie"].split(";")]
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Max-Age=43200" in attrs
    assert any(a.startswith("Path=") for a in attrs)
    cookie = _cookie(r)
    me = api.get("/auth/session", key=None, headers={"Cookie": cookie})
    assert me.status_code == 200 and me.json_body["person"]["id"] == team["ben"]["id"]
    assert api.get("/tickets", key=None, headers={"Cookie": cookie}).status_code == 200
    # The code worked once.
    assert api.post("/auth/session", {"phone": BEN, "code": code}, key=None).status_code == 401


def test_any_number_gets_the_same_answer_and_only_staff_get_a_code(api, twilio, team):
    stranger = "+4917700009999"
    assert api.post("/auth/code", {"phone": stranger}, key=None).json_body == {"sent": True}
    twilio.phone(stranger).expect_nothing()
    assert api.post("/auth/session", {"phone": stranger, "code": "123456"}, key=None).status_code == 401
    r = api.post("/auth/code", {"phone": "not a phone"}, key=None)
    assert r.status_code == 400 and r.json_body["error"]["field"] == "phone"


def test_three_codes_per_phone_per_quarter_hour_then_429(api, twilio, team, clock_at):
    for _ in range(3):
        assert api.post("/auth/code", {"phone": ANA}, key=None).status_code == 202
    r = api.post("/auth/code", {"phone": ANA}, key=None)
    assert r.status_code == 429
    assert len([m for m in twilio.inbox[ANA] if "sign-in code" in m["body"]]) == 3
    clock_at.advance(minutes=15)
    assert api.post("/auth/code", {"phone": ANA}, key=None).status_code == 202
    twilio.inbox.clear()


def test_five_wrong_tries_and_ten_minutes_end_a_code(api, twilio, team, clock_at):
    api.post("/auth/code", {"phone": BEN}, key=None)
    code = _code(twilio, BEN)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        assert api.post("/auth/session", {"phone": BEN, "code": wrong}, key=None).status_code == 401
    assert api.post("/auth/session", {"phone": BEN, "code": code}, key=None).status_code == 401  # no tries left
    api.post("/auth/code", {"phone": BEN}, key=None)
    code = _code(twilio, BEN)
    clock_at.advance(minutes=10, seconds=1)
    assert api.post("/auth/session", {"phone": BEN, "code": code}, key=None).status_code == 401  # expired


def test_a_write_with_the_cookie_needs_the_csrf_token(api, twilio, team):
    cookie, csrf, _ = sign_in(api, twilio, ANA)
    payload = {"text": "our shop is down", "contact": "+4915112345678"}
    r = api.post("/tickets", payload, key=None, headers={"Cookie": cookie})
    assert r.status_code == 403 and r.json_body["error"]["code"] == "csrf"
    r = api.post("/tickets", payload, key=None, headers={"Cookie": cookie, "X-CSRF-Token": "x" + csrf})
    assert r.status_code == 403
    r = api.post("/tickets", payload, key=None, headers={"Cookie": cookie, "X-CSRF-Token": csrf})
    assert r.status_code == 201
    twilio.inbox.clear()


def test_without_a_session_staff_routes_are_401_and_signing_out_ends_it(api, twilio, team):
    for path in ("/tickets", "/oncall", "/templates", "/team", "/auth/session"):
        assert api.get(path, key=None).status_code == 401, path
        assert api.get(path, key=None, headers={"Cookie": "fn_session=forged"}).status_code == 401, path
    cookie, _, _ = sign_in(api, twilio, BEN)
    assert api.delete("/auth/session", key=None, headers={"Cookie": cookie}).status_code == 200
    assert api.get("/tickets", key=None, headers={"Cookie": cookie}).status_code == 401  # gone server-side


def test_removing_a_person_ends_their_sessions_at_once(api, twilio, team):
    cookie, _, _ = sign_in(api, twilio, BEN)
    api.put("/rota", {"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"},
                      "shift_days": 7, "members": [team["ana"]["id"], team["chloe"]["id"]], "start": "2026-11-20"})
    assert api.delete(f"/people/{team['ben']['id']}").status_code in (200, 204)
    assert api.get("/tickets", key=None, headers={"Cookie": cookie}).status_code == 401
    twilio.inbox.clear()


def test_an_agent_session_is_an_agent_and_the_bootstrap_key_can_sign_in(api, twilio, team):
    cookie, csrf, person = sign_in(api, twilio, BEN)
    assert person["role"] == "agent"
    assert api.get("/people", key=None, headers={"Cookie": cookie}).status_code == 403
    names = api.get("/team", key=None, headers={"Cookie": cookie}).json_body["items"]
    assert [p["name"] for p in names] == ["Ana Lopez", "Ben Okafor", "Chloe Martin"] and "phone" not in names[0]
    r = api.post("/auth/session", {"api_key": ADMIN_KEY}, key=None)
    assert r.status_code == 200 and r.json_body["person"]["role"] == "admin"
    assert api.get("/people", key=None, headers={"Cookie": _cookie(r)}).status_code == 200
    assert api.post("/auth/session", {"api_key": "fn_wrong"}, key=None).status_code == 401


def test_an_internal_note_is_never_sent_and_never_in_the_chat(api, twilio, team):
    s = api.post("/chat/sessions", {"name": "Mike"}, key=None).json_body
    api.post(f"/chat/sessions/{s['session_id']}/messages", {"text": "my invoice is wrong"}, key=s["token"])
    r = api.post(f"/tickets/{s['ticket_id']}/notes", {"text": "customer is on the old plan"})
    assert r.status_code == 201
    detail = api.get(f"/tickets/{s['ticket_id']}").json_body
    assert [e for e in detail["events"] if e["type"] == "note"][0]["text"] == "customer is on the old plan"
    seen = api.get(f"/chat/sessions/{s['session_id']}/messages", key=s["token"]).json_body["messages"]
    assert all("old plan" not in m["text"] for m in seen)
    twilio.inbox.clear()
    twilio.phone("+4915112345678").expect_nothing()


def test_a_template_preview_is_what_the_customer_would_read(api, twilio, team):
    tid = api.post("/templates", {"name": "shipping", "body": "Hi {first_name}, ticket {ticket} ships today."}
                   ).json_body["id"]
    t = api.ticket("where is my parcel?", contact="+4915112345678", customer_name="Mike Lee")
    r = api.get(f"/tickets/{t['id']}/preview?template=shipping")
    assert r.status_code == 200 and r.json_body["text"] == f"Hi Mike, ticket {t['id']} ships today."
    assert r.json_body["template_id"] == tid
    assert api.get(f"/tickets/{t['id']}/preview?template=nope").status_code == 400
    twilio.inbox.clear()


def test_the_console_is_one_shell_with_strict_headers_and_cached_files(api):
    for path in ("/console", "/console/rota", "/console/tickets/7"):
        r = api.get(path, key=None)
        assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html"), path
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "frame-ancestors 'none'" in csp and r.headers["X-Frame-Options"] == "DENY"
        assert "<script>" not in r.body.decode()  # no inline script
    assert '<script type="module" src="../../console.js">' in api.get("/console/tickets/7", key=None).body.decode()
    assert api.get("/console/nope", key=None).status_code == 404
    js = api.get("/console.js", key=None)
    assert js.status_code == 200 and js.headers["ETag"]
    again = api.get("/console.js", key=None, headers={"If-None-Match": js.headers["ETag"]})
    assert again.status_code == 304 and not again.body


def test_a_swap_counts_only_once_the_colleague_accepts_by_sms(api, twilio, team):
    """Issue 22: an agent's override was 403 and there was no swap. Ana (holding the phone this week)
    asks Ben for Saturday; nothing changes until Ben texts YES <code>; then both are told."""
    saturday = "2026-11-21T12:00:00+01:00"
    ask = {"person_id": team["ben"]["id"], "start": "2026-11-21T09:00:00+01:00", "end": "2026-11-21T21:00:00+01:00"}
    r = api.post("/rota/swaps", ask, key=team["ana"]["api_key"])
    assert r.status_code == 201, r.body
    asked = twilio.phone(BEN).expect_sms("Ana Lopez asks you to hold the emergency phone from Sat 21 Nov 09:00 CET"
                                         ).last["body"]
    code = re.search(r"YES (\d{4})", asked)[1]
    assert api.get(f"/oncall?at={saturday}").json_body["primary"]["name"] == "Ana Lopez"  # not yet
    twilio.sms(BEN, "yes 0000" if code != "0000" else "yes 1111")
    twilio.phone(BEN).expect_sms("no swap waits for your answer")
    twilio.sms(BEN, f"YES {code}")
    twilio.phone(BEN).expect_sms("the swap is on")
    assert api.get(f"/oncall?at={saturday}").json_body["primary"]["name"] == "Ben Okafor"
    twilio.phone(BEN).expect_sms("Rota changed: Ben Okafor holds the emergency phone from Sat 21 Nov 09:00 CET")
    twilio.phone(ANA).expect_sms("Rota changed: Ben Okafor holds")
    swaps = api.get("/rota/swaps", key=team["ben"]["api_key"]).json_body["items"]
    assert [(s["status"], s["from"]["name"]) for s in swaps] == [("accepted", "Ana Lopez")]
    # Accepted once: the same code again changes nothing; Chloe cannot give away a shift she does not hold.
    twilio.sms(BEN, f"YES {code}")
    twilio.phone(BEN).expect_sms("no swap waits")
    r = api.post("/rota/swaps", {**ask, "person_id": team["ana"]["id"]}, key=team["chloe"]["api_key"])
    assert r.status_code == 400 and r.json_body["error"]["field"] == "start"
    assert len(api.get("/rota").json_body["overrides"]) == 1
    twilio.inbox.clear()
