"""Conditional polls (issue 36): JSON answers are never stored by a browser or a proxy, and a poll
that would get the same answer gets 304 without a body."""
from __future__ import annotations

from tests.data import CUSTOMER


def test_a_poll_that_finds_nothing_new_gets_304_and_no_body(api, twilio, team):
    twilio.sms(CUSTOMER, "my invoice is wrong")
    for path in ("/tickets", "/tickets/1", "/team", "/people", "/oncall", "/templates", "/status"):
        first = api.get(path)
        assert first.status_code == 200, (path, first.body)
        assert first.headers["Cache-Control"] == "private, no-store", path  # a customer's words: never kept
        etag = first.headers["ETag"]
        again = api.get(path, headers={"If-None-Match": etag})
        assert (again.status_code, again.body, again.headers["ETag"]) == (304, b"", etag), path
        assert api.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    etag = api.get("/tickets").headers["ETag"]
    twilio.sms(CUSTOMER, "and the address too")  # something changed: the whole answer again
    changed = api.get("/tickets", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    twilio.inbox.clear()


def test_writes_and_errors_carry_no_etag_and_are_not_kept_either(api, team):
    r = api.post("/tickets", {"text": "a call about an invoice", "contact": "+4915112345678"})
    assert r.status_code == 201 and "ETag" not in r.headers and r.headers["Cache-Control"] == "private, no-store"
    missing = api.get("/tickets/999")
    assert missing.status_code == 404 and "ETag" not in missing.headers


def test_the_consoles_inbox_polls_conditionally(chromium, proxy, api, twilio, team):
    """The console sends back what each list last answered: an unchanged inbox costs a 304 and no body,
    a new text still shows."""
    import re

    from playwright.sync_api import expect

    from tests.data import ANA
    from tests.test_console_browser import PHONE, sign_in

    twilio.sms(CUSTOMER, "my invoice is wrong")
    twilio.inbox.clear()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    polls = []
    page.on("response", lambda r: polls.append(r.status) if re.search(r"/tickets\?", r.url) else None)
    sign_in(page, twilio, proxy, ANA)
    expect(page.get_by_role("link", name=re.compile(r"^#1 "))).to_be_visible()
    page.wait_for_timeout(11_000)  # two polls of the inbox
    assert 304 in polls and 200 in polls, polls
    twilio.sms("+4917700000042", "is the shop open tomorrow?")
    expect(page.get_by_role("link", name=re.compile(r"^#2 "))).to_be_visible(timeout=15_000)
    twilio.inbox.clear()
    context.close()


def test_the_urgent_view_shows_an_urgent_ticket_behind_110_newer_ones(chromium, proxy, api, twilio, team):
    """Issue 36: the console filtered the newest 100 open tickets in the browser: an urgent ticket
    behind 110 newer normal ones was not in the Urgent view, the one view that must never miss one."""
    import re

    from playwright.sync_api import expect

    from tests.data import ANA
    from tests.test_console_browser import PHONE, sign_in

    urgent = api.ticket("the card terminal is dead", contact="+4915112340000", priority="urgent")
    for n in range(110):
        api.ticket(f"question {n}", contact=f"+49151123{n:05d}")
    listed = api.get("/tickets?status=open&priority=urgent").json_body
    assert [t["id"] for t in listed["items"]] == [urgent["id"]] and listed["next"] is None
    assert api.get("/tickets?priority=soon").status_code == 400
    twilio.inbox.clear()
    context = chromium.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(page, twilio, proxy, ANA)
    page.goto(proxy + "/console?view=urgent")
    expect(page.get_by_role("link", name=re.compile(rf"^#{urgent['id']} "))).to_be_visible()
    page.goto(proxy + "/console?view=all")  # every page of the list, not the newest 100
    expect(page.get_by_role("link", name=re.compile(rf"^#{urgent['id']} "))).to_be_visible()
    expect(page.locator("#tickets a")).to_have_count(111)
    twilio.inbox.clear()
    context.close()
