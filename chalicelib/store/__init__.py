"""Persistence: the only code that imports pynamodb. Repositories per aggregate:

- ``models``    the tables a webhook touches and their indexes (``rare_models``: the others;
                ``tables``: all of them, created from these classes, also in the template)
- ``tickets``   tickets with their messages and events, counters, idempotency claims
- ``contacts``  the numbers that write or call: consent, current ticket, budgets, name, language, zone
- ``people``    people and API keys, settings (policy, rota), templates
- ``shifts``    the emergency phone's history (shift records)
- ``delivery``  pages, the outbox, provider statuses, chat sessions, rate limits
- ``_base``     transactions (retried on TransactionConflict and throttling), caches, cursors

Callers use ``store.<name>``: functions and domain values, never a model (the models and their
index keys stay in here; tests/test_architecture.py checks). Each submodule is imported on first use (PEP 562), so a
cold start imports only the repositories its first request needs. Every racing write is
conditional; no Scan anywhere (lists use GSIs).
"""
from __future__ import annotations

import importlib

_WHERE = {
    "TIMELINE": "shifts",
    "events_between": "tickets",
    "setting_write": "people",
    "automatic_templates": "people",
    "AUTOMATIC": "people",
    "WITH_CONTACT": "contacts",
    "remember_setting": "people",
    "setting_known": "people",
    "remember_automatic": "people",
    "batch_read": "_base",
    "forget_setting": "people",
    "claim_write": "tickets",
    "last_shift": "shifts",
    "shifts_between": "shifts",
    "new_shift": "shifts",
    "open_shift_write": "shifts",
    "close_shift_write": "shifts",
    "cut_shift_write": "shifts",
    "replace_shift_write": "shifts",
    "delete_shift_write": "shifts",
    "ATTEMPTS": "_base",
    "AlreadyDone": "_base",
    "ConditionFailed": "_base",
    "OUTBOX_RETENTION": "delivery",
    "SHARED_TTL": "_base",
    "STATUS_RANK": "delivery",
    "Write": "_base",
    "advance_outbound": "delivery",
    "all_people": "people",
    "all_templates": "people",
    "backoff": "_base",
    "begin_unit": "_base",
    "budget_write": "delivery",
    "spent": "delivery",
    "change_setting": "people",
    "claim": "tickets",
    "claim_exists": "tickets",
    "claims_existing": "tickets",
    "claim_state": "tickets",
    "clear_shared": "_base",
    "create_chat_session": "delivery",
    "create_person": "people",
    "create_tables": "tables",
    "decode_cursor": "_base",
    "delete_person": "people",
    "delete_template": "people",
    "due_pages": "delivery",
    "encode_cursor": "_base",
    "end_page": "delivery",
    "get_api_key": "people",
    "get_by_key": "_base",
    "get_chat_session": "delivery",
    "get_contact": "contacts",
    "get_outbox": "delivery",
    "digest_write": "delivery",
    "get_page": "delivery",
    "get_person": "people",
    "get_setting": "people",
    "get_template": "people",
    "get_ticket": "tickets",
    "loose_event_write": "tickets",
    "contact_write": "contacts",
    "get_tickets": "tickets",
    "lease_outbox": "delivery",
    "list_people": "people",
    "next_number": "tickets",
    "nudge_page": "delivery",
    "open_count_write": "tickets",
    "open_counts": "tickets",
    "open_tickets_of": "tickets",
    "outbox_due": "delivery",
    "outbox_end_writes": "delivery",
    "outbox_health": "delivery",
    "outbox_put": "delivery",
    "outbox_retry_later": "delivery",
    "outbox_sent_writes": "delivery",
    "page_open_write": "delivery",
    "page_sent_write": "delivery",
    "page_step_write": "delivery",
    "person_by_phone": "people",
    "postpone_page": "delivery",
    "put_setting": "people",
    "query_tickets": "tickets",
    "release": "tickets",
    "retryable": "_base",
    "retrying": "_base",
    "save_contact": "contacts",
    "save_person": "people",
    "save_template": "people",
    "save_ticket": "tickets",
    "change_writes": "tickets",
    "put_code": "signin",
    "get_code": "signin",
    "spend_try": "signin",
    "open_staff_session": "signin",
    "get_staff_session": "signin",
    "end_staff_session": "signin",
    "set_claim_result": "tickets",
    "spend": "delivery",
    "staff_phone_write": "people",
    "table_schemas": "tables",
    "take_over": "tickets",
    "ticket_items": "tickets",
    "ticket_items_newest": "tickets",
    "ticket_still_paging": "delivery",
    "tickets_due": "tickets",
    "tickets_of": "tickets",
    "claim_result_write": "tickets",
    "empty_chats_due": "tickets",
    "transact": "_base",
    "update_page": "delivery",
}


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'chalicelib.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"chalicelib.store.{module}"), name)
    globals()[name] = value  # once resolved, a plain attribute (monkeypatch works as usual)
    return value


def __dir__() -> list[str]:
    return sorted(_WHERE)
