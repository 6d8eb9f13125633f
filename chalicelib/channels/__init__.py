"""Channels: adapters between a way customers reach us and the ticket domain.

`deliver()` is the one interface for sending a staff answer to a customer over
the ticket's own channel; adding e-mail later is a new module here.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import notify
from chalicelib.logs import logger
from chalicelib.store import Ticket, TicketItem


def deliver(ticket: Ticket, message: TicketItem, now: datetime) -> str | None:
    """Sends a stored outbound message; returns the provider id, if any.

    Web chat needs no push: the widget polls the ticket's messages.
    """
    if ticket.channel in ("sms", "voice") and ticket.customer_contact:
        from chalicelib import store, tickets

        try:
            sid = notify.send_sms(ticket.customer_contact, message.text, now=now)
        except notify.SendError as exc:
            # Stored on the ticket either way; staff see it was not delivered and can retry.
            logger.warning("reply not delivered", extra={"ticket": ticket.id})
            tickets.record_event(ticket.id, "delivery_failed", tickets.SYSTEM, now, message=message.sk,
                                 error=str(exc)[:200])
            return None
        if sid is None:
            tickets.record_event(ticket.id, "delivery_failed", tickets.SYSTEM, now, message=message.sk,
                                 error="the customer opted out of SMS (STOP)")
            return None
        store.record_outbound(sid, "sms", now, ticket_id=ticket.id)
        return sid
    return None
