"""Web chat API: sessions, isolation, the cursor, staff replies, urgency."""
from __future__ import annotations

import re

from chalicelib.store import rare_models
from tests.data import ANA, BEN


def start(api, name="Mike Lee", **extra):
    r = api.post("/chat/sessions", {"name": name, **extra}, key=None)
    assert r.status_code == 201, r.body
    return r.json_body


def say(api, s, text):
    return api.post(f"/chat/sessions/{s['session_id']}/messages", {"text": text}, key=s["token"])


def poll(api, s, after=None):
    path = f"/chat/sessions/{s['session_id']}/messages" + (f"?after={after}" if after else "")
    r = api.get(path, key=s["token"])
    assert r.status_code == 200, r.body
    return r.json_body


def test_a_session_is_a_webchat_ticket_with_a_strong_token_stored_hashed(api, team):
    s = start(api)
    assert len(s["token"]) >= 43  # 256 bits, url-safe base64
    assert "ticket #" in s["expectation"] and "Mike" in s["expectation"]
    t = api.get(f"/tickets/{s['ticket_id']}").json_body
    assert (t["channel"], t["customer"]["name"]) == ("webchat", "Mike Lee")
    stored = rare_models.ChatSession.get(s["session_id"])
    assert stored.token_hash != s["token"] and s["token"] not in stored.token_hash


def test_the_chat_tells_the_truth_as_the_ticket_moves(api, team, twilio, clock_at):
    """Issue 21 #4: the header said "We'll answer by Thu 09:00" after an URGENT message had paged
    someone, and kept saying so after the resolve. Now it follows the ticket, in the customer's zone."""
    page = api.get("/chat", key=None).body.decode()
    assert "We&#x27;re closed now; a person will answer by Mon 09:00 CET" in page  # Friday night
    assert "usually within minutes" not in page
    s = start(api, timezone="Europe/Lisbon")
    assert "Mon 08:00 WET" in s["expectation"]
    assert poll(api, s)["ticket"]["expectation"] == ("Ticket #1: we'll answer by Mon 08:00 WET. "
                                                     "Write URGENT if it can't wait.")
    say(api, s, "URGENT our checkout is down")
    seen = poll(api, s)
    assert seen["ticket"]["expectation"] == "Ticket #1 is urgent: we are reaching the person on call."
    assert "paged" in seen["messages"][-1]["text"] and seen["messages"][-1]["author"] == "system"
    assert api.post("/tickets/1/ack", key=team["ana"]["api_key"]).status_code == 200
    assert poll(api, s)["ticket"]["expectation"] == "Ticket #1 is urgent and the person on call has it."
    assert api.post("/tickets/1/resolve", key=team["ana"]["api_key"]).status_code == 200
    assert poll(api, s)["ticket"]["expectation"] == "Ticket #1 is resolved. Just write again if you need us."
    twilio.inbox.clear()
    assert api.post("/chat/sessions", {"name": "Zed", "timezone": "Mars/Olympus"}, key=None).status_code == 400


def test_a_token_opens_only_its_own_session(api, team):
    a, b = start(api, "Ann"), start(api, "Bob")
    assert say(api, a, "hello from Ann").status_code == 201
    r = api.get(f"/chat/sessions/{b['session_id']}/messages", key=a["token"])
    assert r.status_code == 404
    r = api.post(f"/chat/sessions/{b['session_id']}/messages", {"text": "hi"}, key=a["token"])
    assert r.status_code == 404
    assert api.get(f"/chat/sessions/{a['session_id']}/messages", key=None).status_code == 401
    assert api.get("/chat/sessions/cs_unknown/messages", key=a["token"]).status_code == 404
    assert [m["author"] for m in poll(api, b)["messages"]] == ["system"]  # Bob's own welcome, nothing of Ann's


def test_the_cursor_never_skips_or_repeats_even_with_equal_timestamps(api, team, clock_at):
    s = start(api)
    seen, cursor = [], None
    for round_ in range(4):
        for i in range(3):  # three messages at the same instant (the clock does not move)
            assert say(api, s, f"m{round_}.{i}").status_code == 201
        page = poll(api, s, cursor)
        seen += [m["text"] for m in page["messages"] if m["author"] == "customer"]
        cursor = page["cursor"]
        assert poll(api, s, cursor)["messages"] == []
    assert seen == [f"m{r}.{i}" for r in range(4) for i in range(3)]


def test_one_dynamodb_query_per_poll(api, team):
    from bench.counting import counted

    s = start(api)
    say(api, s, "hello")
    with counted() as r:
        poll(api, s)
    assert r["calls"]["Query"] == 1


def test_staff_replies_appear_signed_with_the_agents_first_name(api, twilio, team):
    s = start(api)
    say(api, s, "where is my order?")
    first = poll(api, s)
    api.post(f"/tickets/{s['ticket_id']}/reply", {"text": "It ships today"}, key=team["ben"]["api_key"])
    twilio.phone(BEN).reply(f"{s['ticket_id']} Tracking: 1Z999").expect("Posted to the web chat")
    new = poll(api, s, first["cursor"])["messages"]
    assert [(m["author"], m.get("author_name"), m["text"]) for m in new] == [
        ("agent", "Ben", "It ships today"), ("agent", "Ben", "Tracking: 1Z999")]


def test_the_urgency_rule_is_the_same_as_for_sms(api, twilio, team):
    s = start(api)
    say(api, s, "this is an EMERGENCY, checkout broken")
    twilio.phone(ANA).expect_sms(f"URGENT #{s['ticket_id']}")
    texts = [m["text"] for m in poll(api, s)["messages"] if m["author"] == "system"]
    assert any("on-call person has been paged" in t for t in texts)
    assert api.get(f"/tickets/{s['ticket_id']}").json_body["priority"] == "urgent"


def test_bad_input_and_rate_limits(api, team, monkeypatch):

    assert api.post("/chat/sessions", {}, key=None).json_body["error"]["field"] == "name"
    assert api.post("/chat/sessions", {"name": "x", "contact": "12"}, key=None).json_body["error"]["field"] == "contact"
    s = start(api)
    r = api.get(f"/chat/sessions/{s['session_id']}/messages?after=zzz", key=s["token"])
    assert r.status_code == 400 and r.json_body["error"]["field"] == "after"
    monkeypatch.setenv("CHAT_MESSAGES_PER_MINUTE", "3")
    codes = [say(api, s, f"spam {i}").status_code for i in range(5)]
    assert codes == [201, 201, 201, 429, 429]
    monkeypatch.setenv("CHAT_STARTS_PER_HOUR", "1")
    assert api.post("/chat/sessions", {"name": "y"}, key=None).status_code == 429


def test_the_chat_page_is_served(api):
    r = api.get("/chat", key=None)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    html = r.body.decode() if isinstance(r.body, bytes) else r.body
    assert '<label for="text">' in html and '<script src="chat.js"></script>' in html
    assert "<script>" not in html  # no inline script: the CSP needs no 'unsafe-inline' for scripts
    js = api.get("/chat.js", key=None)
    assert js.headers["Content-Type"].startswith("application/javascript") and b"localStorage" in js.body


def test_pages_carry_their_security_headers(api, team):
    """Issue 23: no Content-Security-Policy, nosniff or frame policy on /chat, /widget.js and the report."""
    chat = api.get("/chat", key=None)
    assert chat.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'self'" in chat.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in chat.headers["Content-Security-Policy"]  # the widget frames it anywhere
    assert api.get("/widget.js", key=None).headers["X-Content-Type-Options"] == "nosniff"
    report = api.get("/reports/monthly.html?month=2026-11")
    assert report.status_code == 200
    assert "frame-ancestors 'none'" in report.headers["Content-Security-Policy"]
    assert "script-src" not in report.headers["Content-Security-Policy"]  # default-src 'none': no script runs
    assert report.headers["X-Frame-Options"] == "DENY" and report.headers["X-Content-Type-Options"] == "nosniff"


def test_a_long_conversation_comes_a_page_at_a_time(api, team, monkeypatch):
    """Issue 23: a ticket shows its newest 50 messages and events; older ones are a cursor away, so
    an answer never grows with the conversation (25 long chat messages were 49 KB; hours of them
    passed Lambda's 6 MB)."""
    monkeypatch.setenv("CHAT_MESSAGES_PER_MINUTE", "1000")
    s = start(api)
    for i in range(64):
        assert say(api, s, f"line {i:02d} " + "x" * 1990).status_code == 201
    t = api.get(f"/tickets/{s['ticket_id']}").json_body
    texts = [m["text"][:7] for m in t["messages"]]
    assert len(texts) == 50 and texts[-1] == "line 63" and texts == sorted(texts)  # the newest, oldest first
    assert len(api.get(f"/tickets/{s['ticket_id']}").body) < 120_000
    seen, cursor = texts, t["older"]["messages"]
    while cursor:
        page = api.get(f"/tickets/{s['ticket_id']}/messages?cursor={cursor}&limit=10").json_body
        seen, cursor = [m["text"][:7] for m in page["items"]] + seen, page["next"]
    customer = [x for x in seen if x.startswith("line")]
    assert customer == [f"line {i:02d}" for i in range(64)]  # every one, once, in order
    assert t["older"]["events"] is None or api.get(
        f"/tickets/{s['ticket_id']}/events?cursor={t['older']['events']}").status_code == 200
    other = start(api, name="Someone Else")
    r = api.get(f"/tickets/{other['ticket_id']}/messages?cursor={t['older']['messages']}")
    assert r.status_code == 400 and r.json_body["error"]["field"] == "cursor"  # a cursor of another ticket
    assert api.get("/tickets/999/messages").status_code == 404


def test_a_chat_session_has_a_length(api, team, monkeypatch, clock_at):
    monkeypatch.setenv("CHAT_MESSAGES_PER_SESSION", "4")
    s = start(api)
    codes = []
    for i in range(6):
        clock_at.advance(minutes=1)  # slow enough for the per-minute limit
        codes.append(say(api, s, f"message {i}").status_code)
    assert codes == [201, 201, 201, 201, 429, 429]
    r = say(api, s, "still there?")
    assert "start a new chat" in r.json_body["error"]["message"]
    assert len([m for m in api.get(f"/tickets/{s['ticket_id']}").json_body["messages"]
                if m["author"] == "customer"]) == 4


def test_every_page_and_script_carries_its_headers_and_only_the_shop_frames_the_chat(api, team, monkeypatch):
    """Issue 23: security headers on every HTML and JS answer; frames refused except /chat, which
    only the origins in WIDGET_ORIGINS may frame (default: any)."""
    html = ["/chat", "/console", "/console/rota", "/console/tickets/1", "/reports/monthly.html?month=2026-11"]
    scripts = ["/chat.js", "/widget.js", "/console.js", "/console.css"]
    for path in html + scripts:
        r = api.get(path, key="default" if path.startswith("/reports") else None)
        assert r.status_code == 200, path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        assert r.headers["Referrer-Policy"] == "no-referrer", path
        if path in html:
            csp = r.headers["Content-Security-Policy"]
            scripts_from = re.search(r"script-src ([^;]*)", csp)
            assert "unsafe-inline" not in (scripts_from.group(1) if scripts_from else "") and "default-src" in csp, path
            assert "frame-ancestors" in csp, path
            if path != "/chat":
                assert "frame-ancestors 'none'" in csp and r.headers["X-Frame-Options"] == "DENY", path
    monkeypatch.setenv("WIDGET_ORIGINS", "https://shop.example, https://www.shop.example/, javascript:alert(1)")
    csp = api.get("/chat", key=None).headers["Content-Security-Policy"]
    assert "frame-ancestors 'self' https://shop.example https://www.shop.example" in csp and "javascript" not in csp
