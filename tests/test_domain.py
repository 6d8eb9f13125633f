"""Pure rules, no DynamoDB: the paging chain with rounds and skips, the page text, survey rules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import conversation, paging, signin, surveys
from chalicelib.domain.conversation import APPEND, CONFIRM, KEEP, NEW, REOPEN, SURVEY, Thread
from chalicelib.domain.paging import Link, Position

pytestmark = pytest.mark.pure
NOW = datetime(2026, 11, 21, 21, 0, tzinfo=timezone.utc)
CHAIN = [Link("ana", "holder"), Link("ben", "backup"), Link("dana", "lead")]


def _walk(links, phones, rounds):
    has = phones.__contains__
    pos, skips = paging.first(links, has, rounds)
    seen = []
    while pos is not None:
        seen.append((pos.round, links[pos.step].person_id, pos.attempt))
        pos, more = paging.after(pos, links, has, rounds)
        skips += more
    return seen, skips


def test_the_chain_is_holder_backup_then_leads_without_repeats():
    links = paging.chain("ana", "ben", ["ana", "dana", "ben", "erik"])
    assert [(link.person_id, link.role) for link in links] == [
        ("ana", "holder"), ("ben", "backup"), ("dana", "lead"), ("erik", "lead")]
    assert [link.role for link in paging.chain(None, None, ["dana"])] == ["lead"]  # a breach: leads only


def test_each_person_gets_an_sms_then_a_call_and_the_chain_starts_again_in_rounds():
    seen, skips = _walk(CHAIN, {"ana", "ben", "dana"}, rounds=2)
    one_round = [("ana", "sms"), ("ana", "call"), ("ben", "sms"), ("ben", "call"), ("dana", "sms"), ("dana", "call")]
    assert [(p, a) for _, p, a in seen] == one_round * 2
    assert [r for r, _, _ in seen] == [0] * 6 + [1] * 6
    assert skips == []


def test_people_without_a_phone_are_skipped_and_said_once():
    seen, skips = _walk(CHAIN, {"ben"}, rounds=3)
    assert [(p, a) for _, p, a in seen] == [("ben", "sms"), ("ben", "call")] * 3
    assert [(s.person_id, s.why) for s in skips] == [("ana", "no phone number"), ("dana", "no phone number")]


def test_nobody_reachable_means_no_page_at_all():
    assert paging.first(CHAIN, lambda _: False, 6) == (None, [
        paging.Skip("ana", "holder", "no phone number"), paging.Skip("ben", "backup", "no phone number"),
        paging.Skip("dana", "lead", "no phone number")])
    assert paging.first([], lambda _: True, 6) == (None, [])


def test_a_failed_contact_moves_to_the_next_person():
    # The caller passes attempt="call" for a contact that failed for good: the next link, not a call.
    pos, _ = paging.after(Position(0, 0, "call"), CHAIN, lambda _: True, 1)
    assert pos == Position(0, 1, "sms")


@pytest.mark.parametrize("reason", [None, "tier breach"])
def test_the_page_text_is_gsm7_so_it_costs_one_segment(reason):
    text = paging.page_text(42, "sms", "the shop is down and nobody can pay", 3, reason)
    assert text.isascii() and len(text) <= 160
    assert "ACK 42" in text and "RES 42" in text


def test_survey_rules():
    ask = dict(opened_by="customer", survey_state=None, channel="sms", phone="+4917712345678", opted_out=False,
               last_survey_at=None, now=NOW)
    assert surveys.should_ask(**ask)
    assert not surveys.should_ask(**{**ask, "opened_by": "p_ben"})  # staff-opened tickets: no survey
    assert not surveys.should_ask(**{**ask, "opted_out": True})
    assert not surveys.should_ask(**{**ask, "last_survey_at": NOW - timedelta(days=6)})
    assert surveys.should_ask(**{**ask, "last_survey_at": NOW - timedelta(days=8)})
    assert surveys.should_ask(**{**ask, "channel": "webchat", "phone": None})
    assert [surveys.yes_no(t) for t in ("yes!", "Nein", "👍", "maybe")] == ["yes", "no", "yes", None]


# --- one conversation per customer ---------------------------------------------------

_NOW = datetime(2026, 11, 21, 22, 0, tzinfo=timezone.utc)
_OPEN = Thread(id=7, status="open")
_RESOLVED = Thread(id=7, status="resolved", resolved_at=_NOW - timedelta(hours=2))
_ASKED = Thread(id=7, status="resolved", resolved_at=_NOW - timedelta(hours=2), survey_step="asked1",
                survey_expires_at=_NOW + timedelta(days=2))
_COMMENT = Thread(id=7, status="open", survey_step="asked2", survey_expires_at=_NOW + timedelta(days=2))
_OLD = Thread(id=7, status="closed", resolved_at=_NOW - timedelta(days=9))
_OLD_SURVEYED = Thread(id=7, status="closed", resolved_at=_NOW - timedelta(days=9), survey_step="asked1",
                       survey_expires_at=_NOW - timedelta(days=6))


@pytest.mark.parametrize(("thread", "text", "urgent", "kind"), [
    (None, "hello", False, NEW),
    (None, "YES", False, NEW),  # nothing was asked: a new customer's YES is a conversation
    (_OPEN, "and another thing", False, APPEND),
    (Thread(id=7, status="open", awaiting_confirmation=True), "yes", False, CONFIRM),
    (_ASKED, "YES", False, SURVEY),
    (_ASKED, "n", False, SURVEY),
    (_ASKED, "URGENT the shop is down again", True, REOPEN),  # urgency is never a survey answer
    (_ASKED, "the shop is down again", False, REOPEN),  # not an answer to the question asked
    (_COMMENT, "faster please", False, SURVEY),  # the comment was asked: free text fits
    (_COMMENT, "URGENT down again", True, APPEND),
    (_RESOLVED, "thanks a lot!", False, KEEP),
    (_RESOLVED, "mulțumesc", False, KEEP),
    (_RESOLVED, "Danke schön", False, KEEP),
    (_RESOLVED, "👍", False, KEEP),
    (_RESOLVED, "ok", False, KEEP),
    (_RESOLVED, "thanks, but it broke again", False, REOPEN),
    (_RESOLVED, "thanks?", False, REOPEN),
    (_OLD, "hello again", False, NEW),
    (_OLD, "thanks", False, NEW),  # long after: a new conversation
    (_OLD_SURVEYED, "YES", False, KEEP),  # a late survey answer opens nothing
    (_OLD_SURVEYED, "URGENT", True, NEW),
])
def test_where_a_customers_message_goes(thread, text, urgent, kind):
    route = conversation.route(thread, text, _NOW, urgent=urgent)
    assert route.kind == kind
    assert route.ticket_id == (None if kind == NEW else 7)


def test_the_morning_digest_stays_short_and_names_local_times():
    from zoneinfo import ZoneInfo
    berlin = ZoneInfo("Europe/Berlin")
    monday = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
    text = conversation.digest_text([(12, 2, monday + timedelta(hours=5)), (15, 1, monday + timedelta(days=1)),
                                     (16, 2, None)], monday, berlin)
    assert text == "3 tickets are yours: #12 tier 2, due 14:00 CET; #15 tier 1, due Tue 09:00 CET; #16 tier 2"
    many = conversation.digest_text([(n, 2, monday) for n in range(100, 140)], monday, berlin)
    assert len(many) <= 300 and many.endswith("more") and many.startswith("40 tickets are yours")
    assert conversation.digest_text([(7, 3, None)], monday, berlin) == "1 ticket is yours: #7 tier 3"


@pytest.mark.parametrize("lang", ["en", "de", "fr", "ro"])
def test_every_staff_text_is_gsm7_and_a_page_is_one_segment(lang):
    """In every language staff read (issue 24): GSM-7, at most two segments, a page in one."""
    import inspect
    from zoneinfo import ZoneInfo

    from chalicelib.domain import texts
    berlin = ZoneInfo("Europe/Berlin")
    start, end = datetime(2026, 11, 20, 17, 0, tzinfo=timezone.utc), datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)
    excerpt = "Our checkout page shows error 500 for every single customer!"  # 60 characters
    assert len(excerpt) == 60
    samples = {
        "gist": [("x " * 30,)],
        "when": [(start, ZoneInfo("America/Sao_Paulo"))],
        "owner_now": [(12345, 3, "urgent", excerpt)],
        "unacknowledged": [(12345, 6)],
        "storm_bundle": [(12345,)],
        "take_ask": [(start, end, berlin)],
        "shift_started": [(end, berlin)],
        "take_missed_holder": [("Bartholomew",)],
        "take_missed_admin": [("Bartholomew", "Anastasia")],
        "take_thanks": [(start, end, berlin), (None, end, berlin)],
        "rota_changed": [("Bartholomew Featherstonehaugh", start, end, berlin)],
        "automation_confirmed": [(12345,)],
        "swap_asked": [("Bartholomew Featherstonehaugh", start, end, berlin, "4821")],
        "help_text": [()],
        "not_understood": [()],
        "no_rota": [()],
        "nothing_to_take": [()],
        "holds_until": [("Bartholomew Featherstonehaugh", end, berlin), (None, end, berlin)],
    }
    functions = {n for n, f in inspect.getmembers(texts, inspect.isfunction)
                 if f.__module__ == texts.__name__ and not n.startswith("_") and n != "segments"}
    assert functions == set(samples), "a new staff text needs a sample here"
    written = [getattr(texts, name)(*args, **({} if name in ("gist", "when") else {"lang": lang}))
               for name, calls in samples.items() for args in calls]
    written += [conversation.digest_text([(n, 2, start) for n in range(1000, 1040)], start, berlin, lang),
                conversation.forward_line(12345, "+4917712345678", excerpt), signin.code_text("123456", lang)]
    pages = [paging.in_round(paging.page_text(12345, channel, excerpt, 3, reason, caller="+4917712345678",
                                              lang=lang), r, 6, lang)
             for channel in ("sms", "webchat", "voice") for reason in ("urgent sms", "tier breach", "voicemail")
             for r in (1, 6)]
    for text in written + pages:
        counted = texts.segments(text)
        assert counted["encoding"] == "GSM-7", text
        assert counted["segments"] <= 2, text
    first_round = pages[::2]  # a later round's page says "round 6/6" and may take two
    one = first_round + [texts.owner_now(12345, 3, "urgent", excerpt, lang), texts.unacknowledged(12345, 6, lang)]
    for text in one:
        assert texts.segments(text)["segments"] == 1, text


def test_every_time_names_its_zone_in_the_readers_zone():
    from zoneinfo import ZoneInfo

    from chalicelib.domain import texts

    t = datetime(2026, 11, 27, 17, 0, tzinfo=timezone.utc)
    assert texts.when(t, ZoneInfo("Europe/Berlin")) == "Fri 27 Nov 18:00 CET"
    assert texts.when(t, ZoneInfo("Europe/Lisbon")) == "Fri 27 Nov 17:00 WET"
    assert texts.when(t.replace(month=7), ZoneInfo("Europe/Berlin")) == "Mon 27 Jul 19:00 CEST"  # summer time
