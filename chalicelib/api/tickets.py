"""Tickets: the list, one ticket, and every change a person makes to it."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import clock, lazy
from chalicelib.api.edge import body, created, query, staff, ticket_number
from chalicelib.errors import BadRequest

auth = lazy.module("chalicelib.auth")
intake = lazy.module("chalicelib.usecases.intake")
replies = lazy.module("chalicelib.usecases.replies")
tickets = lazy.module("chalicelib.usecases.tickets")
tier_moves = lazy.module("chalicelib.usecases.tier_moves")
validate = lazy.module("chalicelib.validate")
words = lazy.module("chalicelib.domain.words")

bp = Blueprint(__name__)


@bp.route("/tickets", methods=["GET"])
@staff()
def list_tickets(principal):
    return tickets.list_json(query(), me=None if principal.actor.id == auth.BOOTSTRAP_ID else principal.actor.id)


@bp.route("/tickets", methods=["POST"])
@staff()
def open_ticket(principal):
    """Staff open a ticket for a customer who reached them another way."""
    data = body("TicketInput")
    validate.unknown_fields(data, {"channel", "customer_name", "contact", "text", "priority"})
    channel = validate.choice(data, "channel", tickets.CHANNELS, required=False, default="sms")
    contact = validate.phone(data, "contact", required=channel != "webchat")
    ticket = intake.staff_opened(
        channel=channel, now=clock.now(), contact=contact,
        customer_name=validate.text(data, "customer_name", required=False, max_len=100),
        text=validate.text(data, "text"), priority=validate.choice(
            data, "priority", tickets.PRIORITIES, required=False, default="normal"),
        actor=principal.actor)
    return created(tickets.detail_json(ticket))


@bp.route("/tickets/{ticket_id}", methods=["GET"])
@staff()
def get_ticket(principal, ticket_id):
    return tickets.detail_json(tickets.get(ticket_number(ticket_id)))


@bp.route("/tickets/{ticket_id}/messages", methods=["GET"])
@staff()
def ticket_messages(principal, ticket_id):
    """Earlier messages of a long conversation (issue 23): the ticket shows the newest 50."""
    return tickets.older_json(ticket_number(ticket_id), "messages", query())


@bp.route("/tickets/{ticket_id}/events", methods=["GET"])
@staff()
def ticket_events(principal, ticket_id):
    return tickets.older_json(ticket_number(ticket_id), "events", query())


@bp.route("/tickets/{ticket_id}/reply", methods=["POST"])
@staff()
def reply_ticket(principal, ticket_id):
    data = body("ReplyInput")
    validate.unknown_fields(data, {"text", "template"})
    template = validate.text(data, "template", required=False, max_len=64)
    if template is not None and "text" in data:
        raise BadRequest("text", "send either text or template, not both")
    outcome = replies.answer(ticket_number(ticket_id), principal.actor, clock.now(), template=template,
                             text=validate.text(data, "text") if template is None else None)
    # The truth about delivery: sent, queued (retried by the outbox), failed and why, or posted to the chat.
    return created({**tickets.message_json(outcome.message), "delivery": outcome.delivery_json()})


@bp.route("/tickets/{ticket_id}/notes", methods=["POST"])
@staff()
def note_ticket(principal, ticket_id):
    data = body("NoteInput")
    validate.unknown_fields(data, {"text"})
    text = validate.text(data, "text", max_len=4000)
    return created(tickets.summary_json(replies.note(ticket_number(ticket_id), text, principal.actor, clock.now())))


@bp.route("/tickets/{ticket_id}/language", methods=["PUT"])
@staff()
def set_ticket_language(principal, ticket_id):
    """The customer's language (API v1.2): staff who know better than the detector set it."""
    data = body("LanguageInput")
    validate.unknown_fields(data, {"language"})
    lang = validate.choice(data, "language", words.LANGUAGES)
    return tickets.summary_json(intake.set_language(ticket_number(ticket_id), lang, principal.actor, clock.now()))


@bp.route("/tickets/{ticket_id}/preview", methods=["GET"])
@staff()
def preview_reply(principal, ticket_id):
    template = query().get("template")
    if not template:
        raise BadRequest("template", "is required: a template id or name")
    return replies.preview(ticket_number(ticket_id), principal.actor, clock.now(), template[:64])


@bp.route("/tickets/{ticket_id}/ack", methods=["POST"])
@staff()
def ack_ticket(principal, ticket_id):
    now, number = clock.now(), ticket_number(ticket_id)
    return tickets.summary_json(tickets.ack(number, principal.actor, now))  # the page stops now


@bp.route("/tickets/{ticket_id}/resolve", methods=["POST"])
@staff()
def resolve_ticket(principal, ticket_id):
    now, number = clock.now(), ticket_number(ticket_id)
    # The survey question commits with the resolve and goes out at once.
    return tickets.summary_json(tickets.resolve(number, principal.actor, now, dispatch=True))


@bp.route("/tickets/{ticket_id}/pending", methods=["POST"])
@staff()
def pending_ticket(principal, ticket_id):
    return tickets.summary_json(tickets.set_pending(ticket_number(ticket_id), principal.actor, clock.now()))


@bp.route("/tickets/{ticket_id}/close", methods=["POST"])
@staff()
def close_ticket(principal, ticket_id):
    return tickets.summary_json(tickets.close(ticket_number(ticket_id), principal.actor, clock.now()))


@bp.route("/tickets/{ticket_id}/reopen", methods=["POST"])
@staff()
def reopen_ticket(principal, ticket_id):
    return tickets.summary_json(tickets.reopen(ticket_number(ticket_id), principal.actor, clock.now()))


@bp.route("/tickets/{ticket_id}/pass-up", methods=["POST"])
@staff()
def pass_up_ticket(principal, ticket_id):
    data = body("PassUpInput")
    validate.unknown_fields(data, {"reason"})
    reason = validate.text(data, "reason", max_len=500)
    return tickets.summary_json(tier_moves.pass_up(ticket_number(ticket_id), principal.actor, reason, clock.now()))


@bp.route("/tickets/{ticket_id}/assign", methods=["POST"])
@staff()
def assign_ticket(principal, ticket_id):
    data = body("AssignInput")
    validate.unknown_fields(data, {"person_id"})
    person_id = validate.text(data, "person_id", max_len=64)
    return tickets.summary_json(tickets.assign(ticket_number(ticket_id), person_id, principal.actor, clock.now()))
