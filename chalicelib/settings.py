"""The admin-edited documents the rules read: the tier policy and the rota.

Read once per unit of work (store caches settings per request or sweep).
"""
from __future__ import annotations

from datetime import timedelta

from chalicelib import store
from chalicelib.domain import rota as rota_rules

DEFAULT_SLA_HOURS = 20
DEFAULT_MAX_PAGE_ROUNDS = 6  # an unacknowledged chain starts again, at most this many walks in all
DEFAULT_POLICY = {
    "tiers": [{"tier": 1, "sla_hours": DEFAULT_SLA_HOURS},
              {"tier": 2, "sla_hours": DEFAULT_SLA_HOURS},
              {"tier": 3, "sla_hours": DEFAULT_SLA_HOURS}],
    "ack_timeout_minutes": 10,
    "max_page_rounds": DEFAULT_MAX_PAGE_ROUNDS,
}


def policy() -> dict:
    return store.get_setting("policy") or DEFAULT_POLICY


def ack_timeout() -> timedelta:
    return timedelta(minutes=policy().get("ack_timeout_minutes", 10))


def max_page_rounds() -> int:
    return int(policy().get("max_page_rounds", DEFAULT_MAX_PAGE_ROUNDS))


def current_rota() -> rota_rules.Rotation | None:
    doc = store.get_setting("rota")
    if not doc or not doc.get("members"):
        return None
    return rota_rules.from_document(doc)
