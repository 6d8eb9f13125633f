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
        try:
            return notify.send_sms(ticket.customer_contact, message.text, now=now)
        except notify.SendError:
            logger.warning("reply not delivered", extra={"ticket": ticket.id})
            return None
    return None
