"""What happens when a customer writes, whatever the channel (SMS, web chat).

One shared rule, not a copy per channel: a message with URGENT or EMERGENCY
marks the ticket urgent and pages the on-call holder at once (API.md); that
rule runs inside the message's own transaction (tickets.customer_message).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import expectations
from chalicelib.domain.tickets import Ticket
from chalicelib.usecases import templates, tickets


def expectation(ticket: Ticket, now: datetime, *, paged: bool = False) -> str:
    """The acknowledgement a customer gets: ticket number and when to expect an answer."""
    return expectations.acknowledgement(ticket.id, now=now, urgent=ticket.priority == "urgent", paged=paged,
                                        name=ticket.customer_name, channel=ticket.channel)


def automate(ticket: Ticket, text: str, now: datetime) -> str | None:
    """An automatic template answers a matching first message; returns the text to answer with
    (the caller sends it: the SMS webhook's TwiML, the chat's message list)."""
    template = templates.match(text)
    if template is None:
        return None
    answer = templates.render(template, ticket, "", now)
    full = f"{answer}\n{templates.CONFIRM} (ticket #{ticket.id})"
    tickets.reply(ticket.id, full, tickets.SYSTEM, now, template_id=template.id, automated=True,
                  awaiting=template.id, deliver=False)
    return full
