"""Pure rules, no DynamoDB: the paging chain with rounds and skips, the page text, survey rules."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.domain import paging, surveys
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
