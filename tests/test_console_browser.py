"""The staff console in real headless Chromium (Debian's), at 360 px, behind an /api-only proxy as
deployed, with axe-core (tests/vendor, from the npm registry; never served) on every page."""
from __future__ import annotations

import re
from pathlib import Path

from tests.browser import SHOTS
from tests.data import ANA, BEN, CUSTOMER

AXE = Path(__file__).resolve().parent / "vendor" / "axe-4.10.3.min.js"
PHONE = {"width": 360, "height": 740}


def accessible(page, name: str) -> None:
    """axe-core finds no serious or critical violation on the page as it is now."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: ["wcag2a", "wcag2aa", "best-practice"]});
        return r.violations.filter(v => ["serious", "critical"].includes(v.impact))
                           .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).join(", "));
    }""")
    assert found == [], f"{name}: {found}"


def no_sideways_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def sign_in(page, twilio, base: str, phone: str) -> None:
    from playwright.sync_api import expect

    page.goto(base + "/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Phone", exact=True).fill(phone)
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_label("Code", exact=True)).to_be_visible()
    body = twilio.phone(phone).expect_sms("sign-in code").last["body"]
    page.get_by_label("Code", exact=True).fill(re.match(r"\d{6}", body)[0])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()


def test_an_urgent_ticket_from_the_inbox_to_resolved_on_a_phone(chromium, proxy, api, twilio, team):
    from playwright.sync_api import expect

    api.post("/templates", {"name": "payments", "body": "Hi {first_name}, the payment provider is down; "
                                                        "we are switching to the backup now (ticket {ticket})."})
    twilio.sms(CUSTOMER, "URGENT checkout fails <img src=x onerror=alert(1)> please help")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(ANA).expect_sms("URGENT #1")
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(proxy + "/console/tickets/1")  # a deep link, not signed in: the sign-in first
    expect(page.get_by_label("Phone", exact=True)).to_be_visible()
    accessible(page, "sign-in")
    sign_in(page, twilio, proxy, ANA)

    row = page.get_by_role("link", name=re.compile(r"^#1 "))
    expect(row).to_contain_text("urgent")
    expect(row).to_contain_text("Ana Lopez")  # the owner's name, never an id
    expect(row).to_contain_text("checkout fails <img src=x onerror=alert(1)> please help")
    no_sideways_scroll(page)
    accessible(page, "inbox")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-inbox.png"), full_page=True)

    # A new text appears without a reload (the inbox polls; the contract says within 10 s).
    twilio.sms("+4917700000042", "hello, is the shop open tomorrow?")
    twilio.phone("+4917700000042").expect_sms("ticket #2")
    expect(page.get_by_role("link", name=re.compile(r"^#2 "))).to_contain_text("is the shop open tomorrow",
                                                                                timeout=10_000)
    expect(page.locator("#tickets li").first).to_contain_text("#1")  # urgent first
    page.keyboard.press("j")
    expect(row).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"^#1 "))).to_be_visible()
    conversation = page.get_by_role("list", name="Conversation")
    expect(conversation).to_contain_text("<img src=x onerror=alert(1)>")  # shown as text
    assert conversation.locator("img").count() == 0
    expect(conversation).to_contain_text("the on-call person has been paged now")  # what the customer read
    expect(conversation).to_contain_text("CET")  # times name their zone

    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#result")).to_have_text("Acknowledged: done.")
    assert api.get("/tickets/1").json_body["acked_at"] is not None

    reply = page.get_by_label("Reply", exact=True)
    reply.fill("/pay")
    expect(page.get_by_role("option", name=re.compile("payments"))).to_be_visible()
    reply.press("Enter")
    expect(reply).to_have_value("Hi there, the payment provider is down; "
                                "we are switching to the backup now (ticket 1).")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.locator("#result")).to_have_text("Reply sent.")
    twilio.phone(CUSTOMER).expect_sms("the payment provider is down")
    assert any(e.get("template") for e in api.get("/tickets/1").json_body["events"])  # counted as the template

    page.get_by_label("Internal note (staff only, never sent)").fill("provider status page says 20 min")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(".events")).to_contain_text("provider status page says 20 min")
    no_sideways_scroll(page)
    accessible(page, "ticket")
    page.screenshot(path=str(SHOTS / "console-ticket.png"), full_page=True)

    page.locator("body").click(position={"x": 5, "y": 200})
    page.keyboard.press("e")
    expect(page.locator("#result")).to_have_text("Resolved: done.")
    assert api.get("/tickets/1").json_body["status"] == "resolved"
    twilio.phone(CUSTOMER).expect_sms("Did this answer your question?").expect_nothing()
    twilio.phone(BEN).expect_nothing()
    assert dialogs == []  # the customer's markup ran nothing
    context.close()
    twilio.inbox.clear()


def test_the_rota_an_override_and_the_admin_pages(chromium, proxy, api, twilio, team, clock_at):
    from playwright.sync_api import expect

    context = chromium.new_context(viewport=PHONE, timezone_id="Europe/Berlin")
    page = context.new_page()
    sign_in(page, twilio, proxy, ANA)
    page.get_by_role("link", name="On call").click()
    expect(page.get_by_role("heading", name="On call")).to_be_visible()
    expect(page.locator(".facts")).to_contain_text("holds the phone until")
    expect(page.get_by_role("list", name="Coming shifts")).to_contain_text("Ben Okafor")
    accessible(page, "on call")
    page.get_by_label("Person").select_option(label="Chloe Martin")
    page.get_by_label(re.compile("^Start")).fill("2026-11-21T09:00")
    page.get_by_label(re.compile("^End")).fill("2026-11-21T21:00")
    page.get_by_role("button", name="Add override").click()
    expect(page.locator("#result")).to_have_text("Override added.")
    expect(page.get_by_role("list", name="Coming shifts").locator("li.override")).to_contain_text("Chloe Martin")
    # The week as a calendar in the reader's zone, Monday first, the override marked on its day:
    # Saturday 09:00-21:00 is Chloe's, the rest of the day Ana's (hers since Friday 18:00).
    calendar = page.get_by_role("list", name="Calendar (Europe/Berlin)")
    days = calendar.locator(":scope > li")
    expect(days).to_have_count(7)
    expect(days.first).to_contain_text("Mon 16 Nov")
    saturday = days.filter(has_text="Sat 21 Nov")
    expect(saturday.locator("li.override")).to_have_text("09:00–21:00 Chloe Martinoverride")
    expect(saturday).to_contain_text("00:00–09:00 Ana Lopez")
    expect(saturday).to_contain_text("21:00–24:00 Ana Lopez")
    expect(days.filter(has_text="Fri 20 Nov")).to_contain_text("18:00–24:00 Ana Lopez")
    calendar.screenshot(path=str(SHOTS / "console-calendar.png"))
    page.get_by_role("link", name="Month").click()
    expect(page.get_by_role("list", name="Calendar (Europe/Berlin)").locator(":scope > li")).to_have_count(35)
    no_sideways_scroll(page)
    accessible(page, "on call, a month")
    page.get_by_role("link", name="Week").click()
    [override] = api.get("/rota").json_body["overrides"]
    assert (override["start"], override["end"]) == ("2026-11-21T08:00:00+00:00", "2026-11-21T20:00:00+00:00")
    page.get_by_role("button", name="Remove override of Chloe Martin").click()
    expect(page.locator("#result")).to_have_text("Override removed.")
    assert api.get("/rota").json_body["overrides"] == []
    # Both changes told the people whose time on the phone moved (issue 21), each once.
    twilio.phone("+4915100000003").expect_sms("Rota changed: Chloe Martin holds").expect_sms("Rota changed: Ana")
    twilio.phone(ANA).expect_sms("Rota changed: Chloe Martin holds").expect_sms("Rota changed: Ana Lopez holds")
    # Ask to swap: Ben accepts by SMS, and only then Saturday is his.
    page.get_by_label("Colleague").select_option(label="Ben Okafor")
    page.get_by_label(re.compile("^From")).fill("2026-11-21T09:00")
    page.get_by_label(re.compile("^Until")).fill("2026-11-21T21:00")
    page.get_by_role("button", name="Ask to swap").click()
    expect(page.locator("#result")).to_contain_text("until then nothing changes")
    expect(page.get_by_role("list", name="Swaps")).to_contain_text("(asked)")
    code = re.search(r"YES (\d{4})", twilio.phone(BEN).expect_sms("asks you to hold").last["body"])[1]
    assert api.get("/rota").json_body["overrides"] == []
    twilio.sms(BEN, f"YES {code}")
    twilio.phone(BEN).expect_sms("the swap is on").expect_sms("Rota changed: Ben Okafor holds")
    twilio.phone(ANA).expect_sms("Rota changed: Ben Okafor holds")
    page.reload()
    expect(page.get_by_role("list", name="Swaps")).to_contain_text("(accepted)")
    expect(page.get_by_role("list", name="Coming shifts").locator("li.override")).to_contain_text("Ben Okafor")
    accessible(page, "on call with a swap")
    no_sideways_scroll(page)
    for name, heading in (("People", "People"), ("Templates", "Templates"), ("Status", "Status"),
                          ("Report", "Report 2026-11")):
        page.get_by_role("link", name=name, exact=True).click()
        expect(page.get_by_role("heading", name=heading)).to_be_visible()
        no_sideways_scroll(page)
        accessible(page, name)
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    assert api.get("/tickets", key=None).status_code == 401
    context.close()
    twilio.inbox.clear()


def test_an_agent_sees_no_admin_pages_and_the_console_is_small(chromium, proxy, api, twilio, team):
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sizes = []
    page.on("response", lambda r: sizes.append(len(r.body())) if r.status == 200 and r.request.resource_type in (
        "document", "script", "stylesheet") else None)
    twilio.sms(CUSTOMER, "the invoice address is wrong")
    twilio.sms("+4917700000042", "is the shop open tomorrow?")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone("+4917700000042").expect_sms("ticket #2")
    sign_in(page, twilio, proxy, BEN)
    nav = page.get_by_role("navigation", name="Console")
    expect(nav.get_by_role("link", name="On call")).to_be_visible()
    assert nav.get_by_role("link", name="People").count() == 0
    assert sum(sizes) <= 100_000, sizes  # the first load, everything the page needs
    # On a desktop the list and the ticket share the screen: opening one keeps the other.
    tickets = page.get_by_role("list", name="Tickets")
    expect(tickets.get_by_role("link")).to_have_count(2)
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"^#1\b"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/api/console/tickets/1$"))
    expect(tickets.get_by_role("link", name=re.compile(r"^#1 "))).to_have_attribute("aria-current", "true")
    tickets.get_by_role("link", name=re.compile(r"^#2 ")).click()
    expect(page.get_by_role("heading", name=re.compile(r"^#2\b"))).to_be_visible()
    expect(page.get_by_role("list", name="Conversation")).to_contain_text("is the shop open tomorrow?")
    box = lambda name: page.get_by_role("region", name=name, exact=True).bounding_box()  # noqa: E731
    assert box("Ticket list")["x"] + box("Ticket list")["width"] <= box("Ticket")["x"]  # side by side
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.locator("#result")).to_have_text("Acknowledged: done.")
    page.get_by_label("The customer's language").select_option(label="Deutsch")
    page.get_by_role("button", name="Set language").click()
    expect(page.locator("#result")).to_have_text("Language set: done.")
    assert api.get("/tickets/2").json_body["language"] == "de"
    accessible(page, "list and detail")
    page.go_back()
    expect(page.get_by_role("heading", name=re.compile(r"^#1\b"))).to_be_visible()
    page.reload()  # a deep link on a desktop opens in the same layout
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile(r"^#1\b"))).to_be_visible()
    page.screenshot(path=str(SHOTS / "console-desktop.png"))
    context.close()
    twilio.inbox.clear()


def test_the_console_speaks_the_signed_in_persons_language(chromium, proxy, api, twilio, team):
    """Issue 24: Ana reads German (people.language). The sign-in page follows the browser (English
    here); once she is signed in, the console's words, its dates and its page language are hers."""
    from playwright.sync_api import expect

    assert api.patch(f"/people/{team['ana']['id']}", {"language": "de"}).status_code == 200
    twilio.sms(CUSTOMER, "URGENT checkout fails")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    twilio.phone(ANA).expect_sms("DRINGEND #1")
    page = chromium.new_page(viewport=PHONE)
    page.goto(proxy + "/console")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Phone", exact=True).fill(ANA)
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_label("Code", exact=True)).to_be_visible()
    body = twilio.phone(ANA).expect_sms("Anmeldecode").last["body"]  # the code's SMS is German too
    page.get_by_label("Code", exact=True).fill(re.match(r"\d{6}", body)[0])
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("heading", name="Eingang")).to_be_visible()
    assert page.evaluate("document.documentElement.lang") == "de"
    expect(page.get_by_role("link", name="Bereitschaft")).to_be_visible()
    expect(page.locator("#tickets")).to_contain_text("dringend")
    page.locator("#tickets a").first.click()
    expect(page.get_by_role("button", name="Übernehmen")).to_be_visible()
    expect(page.get_by_label("Antwort", exact=True)).to_be_visible()
    expect(page.locator(".conversation")).to_contain_text("MEZ")  # de's name of CET: times still name their zone
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "console-ticket-de.png"), full_page=True)
    accessible(page, "the ticket in German")
    page.get_by_role("button", name="Übernehmen").click()
    expect(page.locator("#result")).to_contain_text("Übernommen: erledigt.")
    page.goto(proxy + "/console/rota")
    expect(page.get_by_role("heading", name="Bereitschaft")).to_be_visible()
    no_sideways_scroll(page)
    page.screenshot(path=str(SHOTS / "console-rota-de.png"), full_page=True)
    accessible(page, "on call in German")
    page.close()
    twilio.inbox.clear()
