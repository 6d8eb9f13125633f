"""What happens when a customer writes, whatever the channel (SMS, web chat).

One shared rule, not a copy per channel: a message with URGENT or EMERGENCY
marks the ticket urgent and pages the on-call holder at once (API.md).
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import expectations, tickets
from chalicelib.escalation import paging
from chalicelib.store import Ticket


def urgency(ticket: Ticket, text: str | None, now: datetime, *, was_urgent: bool,
            channel: str) -> tuple[Ticket, bool, bool]:
    """Applies the urgency rule: returns (ticket, newly urgent, paged)."""
    if not expectations.is_urgent(text) or was_urgent:
        return ticket, False, False
    ticket = tickets.mark_urgent(ticket.id, now)
    page = paging.open_page(ticket, now, reason=f"urgent {channel}")
    return ticket, True, page is not None and page.status == "open"


def expectation(ticket: Ticket, now: datetime, *, paged: bool = False) -> str:
    """The acknowledgement a customer gets: ticket number and when to expect an answer."""
    return expectations.acknowledgement(ticket.id, now=now, urgent=ticket.priority == "urgent", paged=paged,
                                        name=ticket.customer_name, channel=ticket.channel)


def automate(ticket: Ticket, text: str, now: datetime) -> str | None:
    """An automatic template answers a matching first message; returns the text sent."""
    from chalicelib import templates

    template = templates.match(text)
    if template is None:
        return None
    answer = templates.render(template, ticket, "", now)
    full = f"{answer}\n{templates.CONFIRM} (ticket #{ticket.id})"
    tickets.reply(ticket.id, full, tickets.SYSTEM, now, template_id=template.id, automated=True,
                  awaiting=template.id)
    return full
