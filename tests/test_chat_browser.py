"""The chat page in real headless Chromium (Debian's package, driven by Playwright)."""
from __future__ import annotations

import re

from tests.browser import SHOTS, _serve, _stage_proxy  # noqa: F401 - the chromium fixture is in conftest


def test_a_customer_chats_and_the_agents_reply_appears(chromium, live_server, api, team):
    from playwright.sync_api import expect

    # A phone screen, in New York: the customer's times come in the browser's zone, named (v1.2).
    context = chromium.new_context(viewport={"width": 390, "height": 760}, timezone_id="America/New_York")
    page = context.new_page()
    page.goto(live_server + "/chat")
    # Out of hours, before anything starts, the page says when we answer (not "within minutes").
    expect(page.locator("#status")).to_contain_text("We're closed now; a person will answer by Mon 09:00 CET")
    expect(page.get_by_label("Your name")).to_be_focused()
    page.get_by_label("Your name").fill("Mike Lee")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Phone (optional, so we can call or text you back)")).to_be_focused()
    page.get_by_role("button", name="Start chat").click()
    welcome = page.locator("#log li.system").first
    expect(welcome).to_have_text("Hi Mike, thanks - this is ticket #1. We'll answer by Mon 03:00 EST; "
                                 "write URGENT if it can't wait.")
    expect(page.locator("#status")).to_have_text("Ticket #1: we'll answer by Mon 03:00 EST. "
                                                 "Write URGENT if it can't wait.")

    page.get_by_label("Your message").fill("Hi, my order #5521 has not arrived")
    page.keyboard.press("Enter")
    expect(page.locator("#log li.customer")).to_have_text("Hi, my order #5521 has not arrived")
    expect(page.locator("#log li.customer")).not_to_have_class(re.compile("pending"))  # the server has it
    detail = api.get("/tickets/1").json_body
    assert [(m["author"], m["text"][:12]) for m in detail["messages"]] == [
        ("system", "Hi Mike, tha"), ("customer", "Hi, my order")]
    assert detail["customer"]["timezone"] == "America/New_York"

    r = api.post("/tickets/1/reply", {"text": "Hi Mike, this is Ben - it ships today."}, key=team["ben"]["api_key"])
    assert r.status_code == 201
    reply = page.locator("#log li.agent").last
    expect(reply).to_contain_text("Hi Mike, this is Ben - it ships today.", timeout=20_000)
    expect(reply.locator(".who")).to_have_text("Ben")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "chat.png"), full_page=True)

    # A reload keeps the session (localStorage) and the whole conversation.
    page.reload()
    expect(page.locator("#status")).to_contain_text("Ticket #1: we'll answer by Mon 03:00 EST.")
    expect(page.locator("#log li.agent").last).to_contain_text("it ships today", timeout=10_000)
    expect(page.locator("#log li.customer")).to_have_count(1)
    context.close()


def test_a_failed_send_shows_a_retry_that_delivers(chromium, live_server, api, team):
    from playwright.sync_api import expect

    context = chromium.new_context()
    page = context.new_page()
    page.goto(live_server + "/chat")
    page.get_by_label("Your name").fill("Ann")
    page.get_by_role("button", name="Start chat").click()
    expect(page.locator("#status")).to_contain_text(re.compile(r"[Tt]icket #1[.:]"))  # welcome or status

    page.route("**/chat/sessions/*/messages", lambda route: route.abort()
               if route.request.method == "POST" else route.continue_())
    page.get_by_label("Your message").fill("are you there?")
    page.get_by_role("button", name="Send").click()
    retry = page.get_by_role("button", name="Message not sent: Failed to fetch. Retry")
    expect(retry).to_be_visible()
    expect(retry).to_be_focused()
    page.unroute("**/chat/sessions/*/messages")
    retry.click()
    expect(page.locator("#log li.customer")).to_have_text("are you there?")
    expect(page.locator("#log li.customer")).not_to_have_class(re.compile("pending|failed"))
    assert [m["text"] for m in api.get("/tickets/1").json_body["messages"] if m["author"] == "customer"] == [
        "are you there?"]
    context.close()


def test_the_survey_shows_inline_after_resolve(chromium, live_server, api, team):
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 390, "height": 760})
    page = context.new_page()
    page.goto(live_server + "/chat")
    page.get_by_label("Your name").fill("Mike Lee")
    page.get_by_role("button", name="Start chat").click()
    page.get_by_label("Your message").fill("How do I reset my password?")
    page.keyboard.press("Enter")
    expect(page.locator("#log li.customer")).not_to_have_class(re.compile("pending"))
    api.post("/tickets/1/reply", {"text": "Use the 'forgot password' link."}, key=team["ben"]["api_key"])
    owner = api.get("/tickets/1").json_body["owner"]
    api.post("/tickets/1/resolve", key=team["ben"]["api_key"])
    survey = page.locator("#survey")
    expect(survey).to_contain_text("Did this answer your question?", timeout=20_000)
    page.get_by_role("button", name="No").click()
    expect(page.locator("#log li.system").last).to_contain_text("How could we do better?", timeout=10_000)
    page.get_by_label("Your message").fill("A link in the app itself would help")
    page.keyboard.press("Enter")
    expect(page.locator("#log li.system").last).to_contain_text("we'll use this", timeout=10_000)
    t = api.get("/tickets/1").json_body
    assert [e["type"] for e in t["events"] if e["type"].startswith("survey")] == [
        "survey_sent", "survey_answered", "survey_comment"]
    assert (t["status"], t["owner"]) == ("open", owner)  # the NO reopened it for its last owner
    context.close()


def test_the_monthly_report_opens_on_a_phone_through_its_link(chromium, live_server, api, twilio, team,
                                                                clock_at, schedule):
    """An admin opens the report on a phone: the JSON's html_url works without a bearer header,
    the charts scale to the screen (nothing clipped, no sideways scroll), rates read as percentages."""
    from urllib.parse import urlsplit

    from playwright.sync_api import expect

    twilio.sms("+4917712345678", "URGENT the shop is down")
    twilio.phone("+4917712345678").expect_sms("ticket #1")
    clock_at.advance(minutes=5)
    twilio.phone(team["ana"]["phone"]).expect_sms("URGENT #1").reply("ACK 1")
    api.post("/tickets/1/resolve", key=team["ana"]["api_key"])
    twilio.sms("+4917712345678", "no")
    twilio.sms("+4917712345678", "the first answer took too long")
    twilio.inbox.clear()
    schedule("handoff_sweep")
    report = api.get("/reports/monthly?month=2026-11").json_body
    link = urlsplit(report["html_url"])  # PUBLIC_BASE_URL (with its stage path) + the route
    path = "/reports/" + link.path.split("/reports/", 1)[1]
    assert api.get(f"{path}?{link.query}", key=None).status_code == 200
    assert api.get(f"{path}?{link.query.replace('sig=', 'sig=0')}", key=None).status_code == 403
    context = chromium.new_context(viewport={"width": 360, "height": 740})  # a small phone
    page = context.new_page()
    page.goto(f"{live_server}{path}?{link.query}")
    expect(page.get_by_role("heading", name="Friday Night report 2026-11")).to_be_visible()
    for section in ("Satisfaction", "Repeat contacts", "On call and pages", "Templates"):
        expect(page.get_by_role("heading", name=section, exact=True)).to_be_visible()
    expect(page.locator("body")).to_contain_text("the first answer took too long")
    expect(page.locator("body")).to_contain_text("0 %")  # a survey NO: satisfaction as a percentage
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    for box in page.locator("svg").evaluate_all("els => els.map(e => e.getBoundingClientRect().right)"):
        assert box <= 360
    # Issue 21: the tables ran off the right edge. Each fits the screen whole (nothing to scroll
    # to inside its box either), and a cell still says which column it is.
    widths = page.locator("table").evaluate_all(
        "els => els.map(e => [e.scrollWidth, e.parentElement.clientWidth, e.getBoundingClientRect().right])")
    assert widths and all(scroll <= box and right <= 360 for scroll, box, right in widths), widths
    expect(page.locator('td[data-label="Median minutes to ACK"]').first).to_be_visible()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "report-phone.png"), full_page=True)
    # Fifteen minutes later the link has expired: the page says so, nothing else.
    clock_at.advance(minutes=16)
    r = api.get(f"{path}?{link.query}", key=None)
    assert r.status_code == 403 and r.json_body["error"]["code"] == "link_expired"
    context.close()


def test_a_whole_chat_under_a_stage_path(chromium, live_server, api, team):
    """Behind a proxy that serves only /api/* (an API Gateway stage URL), the page derives every URL
    from where it was served: start, send, the agent's reply, the survey."""
    from playwright.sync_api import expect

    proxy, server = _serve(_stage_proxy(live_server))
    try:
        context = chromium.new_context(viewport={"width": 390, "height": 760})
        page = context.new_page()
        page.goto(proxy + "/api/chat")
        page.get_by_label("Your name").fill("Mike Lee")
        page.get_by_role("button", name="Start chat").click()
        expect(page.locator("#status")).to_contain_text("Ticket #1:")
        expect(page.locator("#log li.system").first).to_contain_text("this is ticket #1.")
        page.get_by_label("Your message").fill("Where is my parcel?")
        page.keyboard.press("Enter")
        expect(page.locator("#log li.customer")).not_to_have_class(re.compile("pending|failed"))
        api.post("/tickets/1/reply", {"text": "It arrives tomorrow."}, key=team["ben"]["api_key"])
        expect(page.locator("#log li.agent").last).to_contain_text("It arrives tomorrow.", timeout=20_000)
        api.post("/tickets/1/resolve", key=team["ben"]["api_key"])
        expect(page.locator("#survey")).to_contain_text("Did this answer your question?", timeout=20_000)
        page.get_by_role("button", name="Yes").click()
        expect(page.locator("#log li.system").last).to_contain_text("Thank you", timeout=10_000)
        assert api.get("/tickets/1").json_body["survey"]["answer"] == "yes"
        context.close()
    finally:
        server.shutdown()


def test_the_widget_on_another_site_opens_the_chat(chromium, live_server, api, team):
    """One <script src=".../widget.js" async> on the company's page (another origin) adds a launcher;
    the chat runs in an iframe from our origin, on a phone-sized screen."""
    from http.server import BaseHTTPRequestHandler

    from playwright.sync_api import expect

    page_html = (f'<!doctype html><html><head><meta name="viewport" content="width=device-width">'
                 f'<title>Shop</title></head><body><h1>Our shop</h1>'
                 f'<script src="{live_server}/widget.js" async></script></body></html>').encode()

    class Site(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page_html)))
            self.end_headers()
            self.wfile.write(page_html)

    site, server = _serve(Site)
    try:
        context = chromium.new_context(viewport={"width": 375, "height": 700})
        page = context.new_page()
        page.goto(site + "/")
        launcher = page.get_by_role("button", name="Chat with us")
        expect(launcher).to_be_visible()
        launcher.click()
        box = page.locator("#friday-night-chat").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375 and box["y"] >= 0  # fits the phone
        chat = page.frame_locator("#friday-night-chat")
        chat.get_by_label("Your name").fill("Nora")
        chat.get_by_role("button", name="Start chat").click()
        expect(chat.locator("#status")).to_contain_text(re.compile(r"[Tt]icket #1[.:]"))  # welcome or status
        chat.get_by_label("Your message").fill("Do you ship to Austria?")
        chat.get_by_label("Your message").press("Enter")
        expect(chat.locator("#log li.customer")).not_to_have_class(re.compile("pending|failed"))
        api.post("/tickets/1/reply", {"text": "Yes, in 3 days."}, key=team["ben"]["api_key"])
        expect(chat.locator("#log li.agent").last).to_contain_text("Yes, in 3 days.", timeout=20_000)
        assert api.get("/tickets/1").json_body["channel"] == "webchat"
        page.get_by_role("button", name="Close chat").click()
        expect(page.locator("#friday-night-chat")).to_be_hidden()
        context.close()
    finally:
        server.shutdown()


def test_a_customer_chooses_their_language_in_the_chat(chromium, live_server, api, team):
    """Issue 24: the page speaks the browser's language, and the customer can choose another; the
    chat then starts in it (the ticket's language, the first answer)."""
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 360, "height": 740}, locale="fr-FR")
    page = context.new_page()
    page.goto(live_server + "/chat")
    expect(page.get_by_role("heading", name="Discutez avec nous")).to_be_visible()
    page.get_by_label("Langue").select_option(label="Deutsch")
    expect(page.get_by_role("heading", name="Chatten Sie mit uns")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    page.get_by_label("Ihr Name").fill("Jonas Weber")
    page.get_by_role("button", name="Chat starten").click()
    expect(page.locator("#log li.system").first).to_contain_text("Hallo Jonas")
    assert api.get("/tickets/1").json_body["language"] == "de"
    context.close()
