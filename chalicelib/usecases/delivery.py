"""Delivery status callbacks: statuses only move forward; a failure changes only what it names.

A callback names a sid. It moves that sid's status forward (never back: a
late "sent" after "failed" is ignored by a condition), and a failure fails
over only the page step that sent that sid — a late "undelivered" for an
earlier step leaves the current step its full timeout.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import store
from chalicelib.usecases import paging, tickets

FAILED = {"failed", "undelivered"}
CALL_FAILED = {"failed", "busy", "no-answer", "canceled"}


def message_status(sid: str, status: str, now: datetime) -> None:
    item = store.advance_outbound(sid, status, now)
    if item is None or status not in FAILED:
        return
    if item.page_id:
        paging.delivery_failed(item.page_id, item.page_key, now)
    elif item.ticket_id:
        tickets.record_event(item.ticket_id, "delivery_failed", tickets.SYSTEM, now, status=status)


def call_status(sid: str, status: str, now: datetime) -> None:
    mapped = {"busy": "failed", "no-answer": "failed", "completed": "delivered", "in-progress": "sent",
              "ringing": "sending", "initiated": "queued"}.get(status, status)
    item = store.advance_outbound(sid, mapped, now)
    if item is not None and status in CALL_FAILED and item.page_id:
        paging.delivery_failed(item.page_id, item.page_key, now)
