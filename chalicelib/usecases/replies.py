"""Staff answer a customer, from any door (the API, an SMS, later the console): one use case.

The answer is a text or a template (by id, or by name as staff type it: ``/address``) rendered
for this ticket; the message and its outbox item commit together, the item is dispatched at
once over the ticket's own channel, and the outcome says the truth (sent, queued for retry,
failed and why, or only posted where the customer reads it). Adding e-mail later is a new
channel; this stays.
"""
from __future__ import annotations

from datetime import datetime

from chalicelib import outbox, store
from chalicelib.domain import tickets as rules
from chalicelib.domain.actors import Actor
from chalicelib.domain.record import Record
from chalicelib.domain.tickets import Message, Ticket
from chalicelib.domain.words import translate_ctx
from chalicelib.effects import Effects
from chalicelib.errors import BadRequest
from chalicelib.usecases import templates, tickets


class UnknownTemplate(BadRequest):
    """The template named is not there; the message lists the ones that are."""

    def __init__(self, ref: str):
        names = ", ".join("/" + t.name for t in sorted(store.all_templates(), key=lambda t: t.name)) or "none yet"
        super().__init__("template", f"there is no template {ref!r} (an id or a name); templates: {names}")
        self.ref, self.names = ref, names


class ReplyOutcome(Record):
    ticket: Ticket
    message: Message | None
    status: str  # sent | queued | failed | posted (web chat) | not_sent (no number to send to)
    error: str | None = None

    @property
    def sms_text(self) -> str:
        """The truth, for the staff member who texted the reply (in the business language)."""
        return self.told(None)

    def told(self, lang: str | None) -> str:
        """The truth, for the staff member who texted the reply, in their language."""
        n = self.ticket.id
        if self.status == "sent":
            return translate_ctx(lang, "staff", "Sent to the customer of #{ticket}.", ticket=n)
        if self.status == "queued":
            return translate_ctx(lang, "staff", "Saved on #{ticket}. Twilio has not taken it yet: it is queued and "
                                                "will be retried.", ticket=n)
        if self.status == "failed":
            return translate_ctx(lang, "staff", "Saved on #{ticket}, but it could not be delivered: {error}.",
                                 ticket=n, error=self.error or "unknown error")
        if self.status == "posted":
            return translate_ctx(lang, "staff", "Posted to the web chat of #{ticket}; the customer sees it in the "
                                                "chat window.", ticket=n)
        return translate_ctx(lang, "staff", "Saved on #{ticket}, but the customer left no number: nothing was sent.",
                             ticket=n)

    def delivery_json(self) -> dict:
        out = {"status": self.status}
        if self.error:
            out["error"] = self.error
        return out


def _status(result: outbox.Result | None, ticket: Ticket) -> tuple[str, str | None]:
    if result is None:
        return ("posted" if ticket.channel == "webchat" else "not_sent"), None
    if result.status == "sent":
        return "sent", None
    if result.status == "dead":
        return "failed", result.error
    return "queued", result.error  # due (failed attempt, retried by the sweep) or in flight


def answer(ticket_id: int, actor: Actor, now: datetime, *, text: str | None = None, template: str | None = None,
           key: str | None = None) -> ReplyOutcome:
    """Stores the answer with its outbox item (once per `key`), sends it, tells the truth."""
    template_id = None
    if template is not None:
        found = templates.find(template)
        if found is None:
            raise UnknownTemplate(template)
        text, template_id = templates.render(found, tickets.get(ticket_id), actor.name, now), found.id
    fx = Effects()
    try:
        ticket, message = tickets.reply(ticket_id, text, actor, now, template_id=template_id, fx=fx, key=key)
    except store.AlreadyDone:
        # A retried delivery of the same staff SMS: stored before; send it only if it has not gone.
        result = outbox.dispatch([key], now)[key]
        ticket = tickets.get(ticket_id)
        status, error = _status(result, ticket)
        return ReplyOutcome(ticket, None, status, error)
    fx.dispatch(now)
    status, error = _status(fx.results.get(fx.reply_id) if fx.reply_id else None, ticket)
    return ReplyOutcome(ticket, message, status, error)


def preview(ticket_id: int, actor: Actor, now: datetime, template: str) -> dict:
    """A template as this ticket's customer would read it now (what Send with it would send)."""
    found = templates.find(template)
    if found is None:
        raise UnknownTemplate(template)
    text = templates.render(found, tickets.get(ticket_id), actor.name, now)
    return {"text": text, "template_id": found.id, "segments": templates.segments(text)["segments"]}


def note(ticket_id: int, text: str, actor: Actor, now: datetime) -> Ticket:
    """An internal note on the ticket: staff read it in the history; it is never sent."""
    return tickets.mutate(ticket_id, now, lambda t: rules.note(t, text, actor, now))[0]
