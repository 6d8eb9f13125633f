"""Every customer is a person (issue 38, contract v1.3): a name, a history, answered by name."""
from __future__ import annotations

from urllib.parse import quote

from tests.data import CUSTOMER


def test_a_named_customer_is_greeted_by_name_and_their_history_is_on_every_ticket(api, twilio, team, clock_at):
    twilio.sms(CUSTOMER, "my order 5521 never came")
    twilio.phone(CUSTOMER).expect_sms("ticket #1")
    assert api.post("/tickets/1/resolve").status_code == 200
    twilio.inbox.clear()
    # Any common form of the number, URL-encoded.
    r = api.patch(f"/contacts/{quote('+49 177 1234 5678')}", {"name": "Mike Lee"})
    assert r.status_code == 200, r.body
    assert r.json_body["name"] == "Mike Lee" and r.json_body["phone"] == CUSTOMER
    assert [t["id"] for t in r.json_body["tickets"]] == [1]
    # Nine days later (not a reopen): a new ticket, and the acknowledgement greets him by first name.
    clock_at.advance(days=9)
    twilio.sms(CUSTOMER, "the invoice is wrong too")
    ack = twilio.phone(CUSTOMER).expect_sms("#2").last["body"]
    assert "Mike" in ack, ack
    detail = api.get("/tickets/2").json_body
    assert detail["customer"]["name"] == "Mike Lee"
    assert [(t["id"], t["subject"]) for t in detail["customer"]["earlier"]] == [(1, "my order 5521 never came")]
    got = api.get(f"/contacts/{quote(CUSTOMER)}").json_body
    assert [t["id"] for t in got["tickets"]] == [2, 1]  # newest first
    twilio.inbox.clear()


def test_contacts_answer_clear_errors(api, team):
    assert api.get(f"/contacts/{quote('+4917700000000')}").status_code == 404  # never wrote
    bad = api.get("/contacts/not-a-number")
    assert bad.status_code == 400 and bad.json_body["error"]["field"] == "phone"
    assert api.patch(f"/contacts/{quote(CUSTOMER)}", {}).status_code == 400  # nothing to change
    assert api.patch(f"/contacts/{quote(CUSTOMER)}", {"nickname": "x"}).status_code == 400
    assert api.get(f"/contacts/{quote(CUSTOMER)}", key=None).status_code == 401


def test_the_console_names_a_customer_and_links_their_earlier_tickets(chromium, proxy, api, twilio, team,
                                                                      clock_at):
    import re

    from playwright.sync_api import expect

    from tests.data import ANA
    from tests.test_console_browser import PHONE, accessible, sign_in

    twilio.sms(CUSTOMER, "my order 5521 never came")
    api.post("/tickets/1/resolve")
    clock_at.advance(days=9)
    twilio.sms(CUSTOMER, "the invoice is wrong too")
    twilio.inbox.clear()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, twilio, proxy, ANA)
    page.goto(proxy + "/console/tickets/2")
    page.get_by_label("Customer name").fill("Mike Lee")
    page.get_by_role("button", name="Save name").click()
    expect(page.get_by_role("status")).to_contain_text("Name saved: done.")
    expect(page.get_by_label("Customer name")).to_have_value("Mike Lee")
    expect(page.locator(".facts")).to_contain_text("Mike Lee")
    earlier = page.get_by_role("link", name=re.compile(r"^#1 my order 5521"))
    expect(earlier).to_be_visible()
    accessible(page, "ticket with its customer")
    earlier.click()
    expect(page.get_by_role("heading", name=re.compile(r"^#1 "))).to_be_visible()
    assert api.get(f"/contacts/{quote(CUSTOMER)}").json_body["name"] == "Mike Lee"
    twilio.inbox.clear()
    context.close()


def test_a_french_ticket_goes_to_the_tier_member_who_reads_french(api, twilio, team):
    """A French chat passed up went to Erik (tier 2, fewest open), not to Chloe who reads French."""
    erik = api.person("Erik Berg", "+4915100000009", tier=2)
    assert api.patch(f"/people/{team['chloe']['id']}", {"language": "fr"}).status_code == 200
    for n in range(2):  # Chloe already has more open tickets than Erik
        t = api.ticket(f"billing question {n}", contact=f"+4917700001{n:03d}")
        api.post(f"/tickets/{t['id']}/assign", {"person_id": team["chloe"]["id"]})
    chat = api.post("/chat/sessions", {"name": "Camille", "language": "fr"}, key=None).json_body
    api.post(f"/chat/sessions/{chat['session_id']}/messages", {"text": "Bonjour, ma commande est perdue"},
             key=chat["token"])
    r = api.post(f"/tickets/{chat['ticket_id']}/pass-up", {"reason": "needs billing"}, key=team["ben"]["api_key"])
    assert r.status_code == 200 and r.json_body["owner"] == team["chloe"]["id"], (r.json_body, erik["id"])
    german = api.ticket("Rechnung falsch", contact="+4917700002000")  # nobody in tier 2 reads German:
    r = api.post(f"/tickets/{german['id']}/pass-up", {"reason": "billing"}, key=team["ben"]["api_key"])
    assert r.json_body["owner"] == erik["id"]  # the fewest open, as before
    twilio.inbox.clear()


def test_a_template_greets_a_customer_the_team_named_after_their_ticket_opened(api, twilio, team):
    twilio.sms(CUSTOMER, "my order 5521 never came")
    twilio.inbox.clear()
    api.post("/templates", {"name": "sorry", "body": "Hi {first_name}, sorry about ticket {ticket}."})
    api.patch(f"/contacts/{quote(CUSTOMER)}", {"name": "Mike Lee"})
    assert api.post("/tickets/1/reply", {"template": "sorry"}).status_code == 201
    assert twilio.phone(CUSTOMER).expect_sms("sorry").last["body"] == "Hi Mike, sorry about ticket 1."


def test_a_staff_phone_is_no_customer_to_rename(api, team):
    from tests.data import ANA

    api.ticket("a call I took myself", contact=ANA)  # the number wrote: it is known
    r = api.patch(f"/contacts/{quote(ANA)}", {"name": "Someone"})
    assert r.status_code in (404, 409) and r.json_body["error"]["code"] in ("staff_phone", "contact_not_found")


def test_the_inbox_shows_each_tickets_language(chromium, proxy, api, twilio, team):
    import re

    from playwright.sync_api import expect

    from tests.data import ANA
    from tests.test_console_browser import PHONE, sign_in

    twilio.sms("+4917755500001", "Hallo, unser Shop ist seit heute Morgen offline, bitte helfen Sie uns")
    twilio.sms("+33612345678", "Bonjour, ma commande 5521 n'est jamais arrivée, pouvez-vous m'aider")
    twilio.inbox.clear()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, twilio, proxy, ANA)
    expect(page.get_by_role("link", name=re.compile(r"^#1 "))).to_contain_text("Deutsch")
    expect(page.get_by_role("link", name=re.compile(r"^#2 "))).to_contain_text("Français")
    twilio.inbox.clear()
    context.close()
