"""The ticket's rules and the tier clock as pure values: no DynamoDB, no clock, milliseconds."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib.domain import tickets as t_
from chalicelib.domain.actors import CUSTOMER, SYSTEM, Actor
from chalicelib.domain.tiers import UP_FOR_GRABS, Hours, TierRules, business_time_between, pick_owner

pytestmark = pytest.mark.pure
BERLIN = ZoneInfo("Europe/Berlin")
FRIDAY_NIGHT = datetime(2026, 11, 20, 21, 0, tzinfo=timezone.utc)  # Fri 22:00 Berlin
HOURS = Hours(frozenset(range(5)), time(9), time(17), BERLIN)
RULES = TierRules({"tiers": [{"tier": 1, "sla_hours": 20}, {"tier": 2, "sla_hours": 10}, {"tier": 3}]}, HOURS)
BEN = Actor("p_ben", "Ben Okafor")
ANA = Actor("p_ana", "Ana Lopez")


def opened(text: str | None = "our shop is down", **kw) -> t_.Ticket:
    kw.setdefault("owner", "p_ana")
    return t_.open_ticket(7, channel="sms", now=FRIDAY_NIGHT, rules=RULES, contact="+4915112345678", text=text,
                          **kw).ticket


def types(change: t_.Change) -> list[str]:
    return [e.type for e in change.events]


def test_a_new_ticket_has_an_owner_a_running_tier_clock_and_its_first_message():
    change = t_.open_ticket(7, channel="sms", now=FRIDAY_NIGHT, rules=RULES, owner="p_ana", text="hi there")
    t = change.ticket
    assert (t.status, t.tier, t.owner, t.clock) == ("open", 1, "p_ana", t_.TIER_CLOCK)
    assert t.tier_due_at == FRIDAY_NIGHT + timedelta(hours=20)
    assert types(change) == ["created", "assigned", "message_in"]
    assert [i.id for i in change.items] == ["evt#000000001", "evt#000000002", "msg#000000003", "evt#000000004"]
    assert t.seq == 4 and t.subject == "hi there"


def test_an_empty_chat_waits_on_the_quiet_clock_and_closes_quietly():
    until = FRIDAY_NIGHT + timedelta(hours=1)
    t = t_.open_ticket(8, channel="webchat", now=FRIDAY_NIGHT, rules=RULES, owner=UP_FOR_GRABS, text=None,
                       quiet_until=until).ticket
    assert (t.clock, t.tier_due_at) == (t_.QUIET_CLOCK, until)
    closed = t_.close_unused(t, until)
    assert closed.ticket.status == "closed" and closed.ticket.clock is None and types(closed) == ["closed"]
    wrote = t_.customer_wrote(t, "hello?", FRIDAY_NIGHT, RULES, urgent=False, kept=False)
    assert wrote.ticket.clock == t_.TIER_CLOCK and wrote.ticket.subject == "hello?"
    assert t_.close_unused(wrote.ticket, until).items == ()  # someone wrote: it stays


def test_transitions_never_change_the_ticket_they_were_given():
    t = opened()
    t_.resolve(t, BEN, FRIDAY_NIGHT)
    assert t.status == "open"
    with pytest.raises(AttributeError):
        t.status = "closed"


def test_pending_pauses_the_tier_clock_and_a_reply_resumes_it_with_the_time_left():
    t = opened()
    later = FRIDAY_NIGHT + timedelta(hours=5)
    paused = t_.pend(t, BEN, later, RULES).ticket
    assert paused.clock is None and paused.tier_remaining_seconds == 15 * 3600
    back = t_.customer_wrote(paused, "here is the order number", later + timedelta(days=2), RULES, urgent=False,
                             kept=False)
    assert back.ticket.status == "open" and types(back) == ["message_in", "customer_replied"]
    assert back.ticket.tier_due_at == later + timedelta(days=2, hours=15)


def test_resolve_is_allowed_only_while_someone_owes_an_answer():
    t = t_.resolve(opened(), BEN, FRIDAY_NIGHT).ticket
    assert (t.status, t.resolved_by, t.clock) == ("resolved", "p_ben", None)
    with pytest.raises(t_.NotAllowed) as err:
        t_.resolve(t, BEN, FRIDAY_NIGHT)
    assert err.value.code == "invalid_transition" and "open or pending" in err.value.message


def test_a_customer_back_within_the_week_reopens_as_a_repeat_contact_a_thank_you_does_not():
    resolved = t_.resolve(opened(), BEN, FRIDAY_NIGHT).ticket
    thanks = t_.customer_wrote(resolved, "thanks!", FRIDAY_NIGHT + timedelta(hours=1), RULES, urgent=False, kept=True)
    assert thanks.ticket.status == "resolved" and types(thanks) == ["message_in", "thanked"]
    back = t_.customer_wrote(resolved, "still broken", FRIDAY_NIGHT + timedelta(days=2), RULES, urgent=False,
                             kept=False)
    assert back.ticket.status == "open" and back.ticket.reopen_count == 1
    assert [e.data for e in back.events if e.type == "reopened"] == [{"repeat_contact": True}]


def test_urgent_once_per_episode():
    t = opened()
    first = t_.customer_wrote(t, "URGENT now", FRIDAY_NIGHT, RULES, urgent=True, kept=False)
    assert first.has(t_.BECAME_URGENT) and first.ticket.priority == "urgent"
    again = t_.customer_wrote(first.ticket, "URGENT!!", FRIDAY_NIGHT, RULES, urgent=True, kept=False)
    assert not again.has(t_.BECAME_URGENT)
    assert t_.mark_urgent(first.ticket, SYSTEM, FRIDAY_NIGHT).items == ()


def test_acknowledge_takes_the_ticket_and_twice_is_harmless():
    change = t_.acknowledge(opened(), BEN, FRIDAY_NIGHT)
    assert change.ticket.owner == "p_ben" and change.ticket.acked_by == "p_ben"
    assert types(change) == ["acked", "assigned"]
    assert t_.acknowledge(change.ticket, BEN, FRIDAY_NIGHT).items == ()


def test_pass_up_and_escalation_are_one_move_with_a_reason_and_stop_at_the_top():
    t = opened()
    passed = t_.move_up(t, BEN, FRIDAY_NIGHT, RULES, owner="p_chloe", reason="needs billing")
    assert types(passed) == ["passed_up", "assigned"] and passed.ticket.tier == 2
    assert passed.events[0].data == {"from_tier": 1, "to_tier": 2, "reason": "needs billing",
                                     "previous_owner": "p_ana"}
    assert passed.ticket.tier_due_at == FRIDAY_NIGHT + timedelta(hours=10)
    due = FRIDAY_NIGHT + timedelta(hours=20)
    assert t_.tier_expired(t, due) and not t_.tier_expired(t, due - timedelta(seconds=1))
    escalated = t_.move_up(t, SYSTEM, due, RULES, owner=UP_FOR_GRABS)
    assert types(escalated) == [t_.TIER_EXPIRED, "assigned"]
    top = t_.move_up(passed.ticket, BEN, FRIDAY_NIGHT, RULES, owner="p_dana").ticket
    with pytest.raises(t_.NotAllowed) as err:
        t_.move_up(top, BEN, FRIDAY_NIGHT, RULES, owner="p_dana")
    assert err.value.code == "top_tier"
    breach = t_.breach(top, FRIDAY_NIGHT)
    assert types(breach) == ["breach"] and breach.ticket.clock is None and not t_.tier_expired(breach.ticket, due)


def test_a_survey_no_reopens_for_the_last_owner_without_counting_a_repeat_contact():
    resolved = t_.resolve(opened(), BEN, FRIDAY_NIGHT).ticket
    asked = t_.survey_asked(resolved, FRIDAY_NIGHT, FRIDAY_NIGHT + timedelta(days=3)).ticket
    no = t_.survey_answered(asked, FRIDAY_NIGHT + timedelta(hours=1), RULES, yes=False)
    assert no.ticket.status == "open" and no.ticket.survey_state == "asked2" and no.ticket.owner == "p_ana"
    assert types(no) == ["survey_answered", "reopened"] and no.events[1].data is None
    commented = t_.survey_commented(no.ticket, FRIDAY_NIGHT, "x" * 2000)
    assert len(commented.ticket.survey_comment) == 1000 and len(commented.events[0].data["comment"]) == 500


def test_yes_to_an_automated_answer_resolves_by_the_automation():
    t = t_.staff_replied(opened(), "Your order ships today", SYSTEM, FRIDAY_NIGHT, automated=True,
                         template_id="tpl_1", awaiting="tpl_1").ticket
    done = t_.resolve(t, CUSTOMER, FRIDAY_NIGHT, automation=t.awaiting_confirmation)
    assert (done.ticket.resolved_by, done.ticket.survey_answer, done.ticket.awaiting_confirmation) == (
        "automation", "yes", None)
    assert types(done) == ["resolved", "survey_answered"]


def test_the_counters_follow_the_one_owner_rule():
    t = opened()
    assert t_.counter_deltas(None, t) == {"p_ana": 1}
    moved = t_.assign(t, "p_ben", ANA, FRIDAY_NIGHT).ticket
    assert t_.counter_deltas(t, moved) == {"p_ana": -1, "p_ben": 1}
    assert t_.counter_deltas(moved, t_.resolve(moved, BEN, FRIDAY_NIGHT).ticket) == {"p_ben": -1}
    assert t_.counter_deltas(None, opened(owner=UP_FOR_GRABS)) == {}


def test_the_business_clock_skips_nights_and_weekends_across_dst():
    rules = TierRules({"tiers": [{"tier": 1, "sla_hours": 20, "clock": "business"}]}, HOURS)
    start = datetime(2026, 10, 23, 16, 0, tzinfo=BERLIN)  # Friday, summer time
    due = rules.deadline(1, start.astimezone(timezone.utc))
    assert due.astimezone(BERLIN) == datetime(2026, 10, 28, 12, 0, tzinfo=BERLIN)  # Wed, winter time
    assert business_time_between(start, due, HOURS) == timedelta(hours=20)
    assert rules.time_left(1, datetime(2026, 10, 26, 9, 0, tzinfo=BERLIN), due) == timedelta(hours=19)


def test_a_new_ticket_goes_to_the_least_loaded_member_or_up_for_grabs():
    assert pick_owner([("p_b", 2), ("p_a", 2), ("p_c", 3)]) == "p_a"
    assert pick_owner([("p_b", 0), ("p_a", 2)]) == "p_b"
    assert pick_owner([]) == UP_FOR_GRABS
