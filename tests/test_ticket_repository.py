"""One contract, two repositories: the in-memory fake and DynamoDB (moto) keep tickets alike."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from chalicelib import store
from chalicelib.domain import tickets as t_
from chalicelib.domain.actors import Actor
from chalicelib.domain.tiers import Hours, TierRules
from chalicelib.store.memory import MemoryTickets

NOW = datetime(2026, 11, 20, 21, 0, tzinfo=timezone.utc)
RULES = TierRules({"tiers": [{"tier": 1, "sla_hours": 20}, {"tier": 2}]},
                  Hours(frozenset(range(5)), time(9), time(17), ZoneInfo("Europe/Berlin")))
BEN = Actor("p_ben", "Ben Okafor")


@pytest.fixture(params=["memory", "dynamodb"])
def repo(request):
    if request.param == "memory":
        return MemoryTickets()
    return store  # the real repository, on moto's tables (conftest's autouse fixture)


def _open(repo, text="our shop is down", owner="p_ana") -> t_.Ticket:
    number = repo.next_number("ticket")
    change = t_.open_ticket(number, channel="sms", now=NOW, rules=RULES, owner=owner, text=text,
                            contact="+4915112345678")
    return repo.save_ticket(change, before=None, now=NOW)


def test_a_ticket_comes_back_as_it_was_committed(repo):
    saved = _open(repo)
    loaded = repo.get_ticket(saved.id)
    assert loaded == saved and loaded.version == 1 and loaded.clock == t_.TIER_CLOCK
    assert loaded.tier_due_at == NOW + timedelta(hours=20)
    items = repo.ticket_items(saved.id)
    assert [i.id for i in items] == ["evt#000000001", "evt#000000002", "evt#000000004", "msg#000000003"]
    assert items[3].text == "our shop is down" and items[3].ticket_id == saved.id
    assert [m.id for m in repo.ticket_items(saved.id, prefix="msg#")] == ["msg#000000003"]


def test_a_stale_change_is_refused_and_nothing_of_it_lands(repo):
    t = _open(repo)
    repo.save_ticket(t_.pend(t, BEN, NOW, RULES), before=t)
    with pytest.raises(store.ConditionFailed):
        repo.save_ticket(t_.resolve(t, BEN, NOW), before=t)  # decided on the version before the pend
    assert repo.get_ticket(t.id).status == "pending"
    assert [e.type for e in repo.ticket_items(t.id, prefix="evt#")][-1] == "pending"


def test_a_claimed_change_happens_once(repo):
    t = _open(repo)
    change = t_.customer_wrote(t, "hello again", NOW, RULES, urgent=False, kept=False)
    repo.save_ticket(change, before=t, claim="msg#SM1", now=NOW)
    fresh = repo.get_ticket(t.id)
    with pytest.raises(store.AlreadyDone):
        repo.save_ticket(t_.customer_wrote(fresh, "hello again", NOW, RULES, urgent=False, kept=False),
                         before=fresh, claim="msg#SM1", now=NOW)
    assert [m.text for m in repo.ticket_items(t.id, prefix="msg#")] == ["our shop is down", "hello again"]


def test_open_counters_follow_the_owner(repo):
    t = _open(repo)
    moved = repo.save_ticket(t_.assign(t, "p_ben", BEN, NOW), before=t)
    assert repo.open_counts(["p_ana", "p_ben"]) == {"p_ana": 0, "p_ben": 1}
    repo.save_ticket(t_.resolve(moved, BEN, NOW), before=moved)
    assert repo.open_counts(["p_ana", "p_ben"]) == {"p_ana": 0, "p_ben": 0}


def test_the_contact_and_the_settings_come_in_one_read_and_unprocessed_keys_are_asked_again(monkeypatch):
    """Issue 25: a cold process reads the contact with the policy, the rota and the automatic
    templates' keywords in one BatchGetItem; keys DynamoDB leaves unprocessed are asked for again."""
    from botocore.client import BaseClient

    from bench.counting import counted
    from chalicelib.domain.contacts import Contact

    store.put_setting("policy", {"ack_timeout_minutes": 7}, NOW)
    store.save_contact(Contact(phone="+4917712345678", language="de"))
    store.clear_shared()
    real, throttled = BaseClient._make_api_call, []

    def once_unprocessed(client, operation, params):
        if operation == "BatchGetItem" and not throttled:
            throttled.append(params)
            return {"Responses": {}, "UnprocessedKeys": params["RequestItems"]}
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", once_unprocessed)
    with counted() as r:
        contact = store.get_contact("+4917712345678")
        assert store.get_setting("policy") == {"ack_timeout_minutes": 7} and store.get_setting("rota") is None
    assert contact.language == "de" and throttled
    assert dict(r["calls"]) == {"BatchGetItem": 2}  # the second asked for what the first left
    with counted() as r:
        assert store.get_contact("+4917700000000").phone == "+4917700000000"  # unknown: a fresh one
    assert dict(r["calls"]) == {"GetItem": 1}  # the settings are known now: the contact alone
