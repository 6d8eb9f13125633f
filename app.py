"""Friday Night — every door into the system, on one screen.

Routes authenticate, parse, call one use case in chalicelib and shape the
answer. Use cases live one hop away (chalicelib/usecases, chalicelib/channels), their rules
two hops away (chalicelib/domain).
"""
from __future__ import annotations

import functools
import gc
import re
from datetime import timedelta

from chalice import Chalice, Rate, Response

from chalicelib import clock, config, lazy, metrics, store
from chalicelib.errors import ApiError, BadRequest, Forbidden, NotFound, TooLarge, Unauthorized
from chalicelib.logs import logger

# A cold start imports the code its first event needs, botocore's included: long-lived objects
# only, so the cyclic collector finds nothing there, yet each full pass walks the whole heap (about
# half of the webhook path's extra import time, `make bench`). It stays off until the first event
# has been answered (after_the_cold_start below); reference counting frees everything meanwhile.
# Then, as long-lived Python services do after loading (gc.freeze's documented use), what the cold
# start made goes to the permanent generation before the collector resumes: turned on alone, its
# first pass walked everything made since the start (≈160 ms, issue 25) and the next ones again.
gc.disable()

openapi = lazy.module("chalicelib.openapi")
people = lazy.module("chalicelib.usecases.people")
replies = lazy.module("chalicelib.usecases.replies")
tickets = lazy.module("chalicelib.usecases.tickets")
validate = lazy.module("chalicelib.validate")
twilio_hooks = lazy.module("chalicelib.channels.twilio_hooks")
auth = lazy.module("chalicelib.auth")  # staff routes only: Twilio's webhooks are checked by signature
FORM = ["application/x-www-form-urlencoded"]  # Twilio's webhooks
# Every page and script (issue 23): it is what it says it is, and it tells no other site where it was read.
_PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

app = Chalice(app_name="friday-night")
app.api.binary_types = []  # every answer here is text (JSON, TwiML, HTML)


# --- edges: errors, auth, JSON -------------------------------------------------

_CHALICE_CODES = {  # Chalice's own error bodies, mapped into the contract's shape
    "UnsupportedMediaType": "unsupported_media_type",
    "MethodNotAllowedError": "method_not_allowed",
    "BadRequestError": "bad_request",
    "NotFoundError": "not_found",
    "InternalServerError": "internal",
}


@app.middleware("all")
def after_the_cold_start(event, get_response):
    """The cyclic collector resumes once the first event (request, sweep) is answered, with the
    cold start's objects frozen: it never walks them."""
    try:
        return get_response(event)
    finally:
        if not gc.isenabled():
            gc.freeze()
            gc.enable()


@app.middleware("http")
def contract_errors(event, get_response):
    """Body limit, ApiError → contract shape, and no Chalice-shaped errors."""
    store.begin_unit()
    refusal = _refuse_half_set(getattr(event, "path", "") or "")
    if refusal is not None:
        return refusal
    raw = event.raw_body if event is not None else b""
    if raw and len(raw) > config.MAX_BODY_BYTES:
        err = TooLarge(f"the body is {len(raw)} bytes; at most {config.MAX_BODY_BYTES} are accepted")
        if (getattr(event, "path", "") or "").startswith("/twilio/"):  # Twilio gets TwiML, always
            return Response('<?xml version="1.0" encoding="UTF-8"?><Response/>', status_code=413,
                            headers={"Content-Type": "text/xml"})
        return _error(err)
    path = getattr(event, "path", "") or ""
    try:
        response = get_response(event)
    except ApiError as err:
        if path.startswith("/twilio/") and (err.status == 409 or err.status >= 500):
            return _webhook_busy(path, err.code)
        return _error(err)
    except Exception:  # noqa: BLE001 - the last line of defence: log, answer in shape
        logger.exception("unhandled error", extra={"path": path or "?"})
        if path.startswith("/twilio/"):
            return _webhook_busy(path, "internal")
        return Response({"error": {"code": "internal", "message": "something went wrong on our side"}},
                        status_code=500)
    finally:
        metrics.flush()
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        code = _CHALICE_CODES.get(body["Code"], "error")
        response.body = {"error": {"code": code, "message": str(body.get("Message", ""))}}
    return response


_REPORTED: set[str] = set()


def _misconfigured(where: str) -> list[str]:
    """What this deployed stage is missing; logged once per cold start as one ERROR."""
    missing = config.problems()
    if missing and where not in _REPORTED:
        _REPORTED.add(where)
        logger.error("configuration incomplete: refusing to run", extra={"missing": missing, "where": where})
    return missing


def _webhook_busy(path: str, code: str) -> Response:
    """Twilio never gets JSON (issue 23): a webhook that could not finish (the ticket busy beyond its
    retries, a fault) answers 503 with empty TwiML, so Twilio calls the fallback URL, which tries
    again; a fallback that cannot finish either tells the truth (the reconcile sweep stores the text
    from Twilio's log, or pages for the missed call)."""
    from chalicelib.channels import twilio_hooks

    logger.warning("webhook could not finish", extra={"path": path, "code": code})
    if path == "/twilio/sms/fallback":
        return Response(twilio_hooks.messages_twiml([_STORED_LATER]), headers={"Content-Type": "text/xml"})
    if path == "/twilio/voice/fallback":
        return Response(twilio_hooks.sorry_call(), headers={"Content-Type": "text/xml"})
    empty = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return Response(empty, status_code=503, headers={"Content-Type": "text/xml", "Retry-After": "5"})


_STORED_LATER = "Thanks - we have your message and a person will answer. No need to send it again."


def _refuse_half_set(path: str) -> Response | None:
    """A deployed stage without its Twilio settings answers 503 (TwiML for Twilio) and does
    nothing: no local outbox, no page that goes nowhere while the customer is told "paged"."""
    missing = _misconfigured("http")
    if not missing:
        return None
    if path.startswith("/twilio/"):
        from twilio.twiml.messaging_response import MessagingResponse
        from twilio.twiml.voice_response import VoiceResponse

        sorry = "Sorry, our support line is not working right now. Please try again in a few minutes."
        if path == "/twilio/sms":
            twiml = MessagingResponse()
            twiml.message(sorry)
        else:
            twiml = VoiceResponse()
            if path == "/twilio/voice":
                twiml.say(sorry)
        return Response(str(twiml), status_code=503, headers={"Content-Type": "text/xml"})
    return Response({"error": {"code": "misconfigured", "message": "this service is not fully configured "
                                                                   "yet; the operator has been told"}},
                    status_code=503, headers={"Retry-After": "300"})


class _Internal(ApiError):
    status = 500
    code = "internal"


def _shield(view):
    """Unexpected errors reach our masked logger and the contract's shape, not
    Chalice's default handler (which would log the raw exception text)."""

    @functools.wraps(view)
    def shielded(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except ApiError:
            raise
        except Exception as exc:  # noqa: BLE001 - the last line of defence, logged
            logger.exception("unhandled error", extra={"path": app.current_request.path,
                                                        "error_type": type(exc).__name__})
            raise _Internal("something went wrong on our side; it has been logged") from None

    return shielded


def _error(err: ApiError) -> Response:
    return Response(err.body(), status_code=err.status, headers={"Content-Type": "application/json"})


def staff(role: str = "agent"):
    """Route decorator: a bearer API key or the console's session cookie (with X-CSRF-Token on a
    change) required; `role="admin"` for admin routes."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            headers = app.current_request.headers
            if headers.get("authorization") or not headers.get("cookie"):
                principal = auth.authenticate(headers.get("authorization"))
            else:
                from chalicelib.usecases import signin

                principal = signin.principal(signin.token_from(headers.get("cookie")), app.current_request.method,
                                             headers.get("x-csrf-token"), clock.now())
            auth.require(principal, role)
            return view(principal, *args, **kwargs)

        return wrapper

    return decorate


def body(model: str) -> dict:
    """The request's JSON object, checked against its model in chalicelib/schemas.py (the same
    model the OpenAPI document shows); the use case then checks what only it knows."""
    from chalicelib import schemas

    data = validate.json_object(app.current_request.raw_body)
    schemas.parse(getattr(schemas, model), data)
    return data


class _Query(dict):
    """The query's parameters. One the route reads that was given more than once is ambiguous
    (which one counts?): a 400 naming it. Parameters a route does not read are ignored, as before."""

    def __init__(self, params):
        super().__init__(params)
        self.repeated = {name for name in params if len(params.getlist(name)) > 1}

    def _once(self, name):
        if name in self.repeated:
            raise BadRequest(str(name)[:40], "is given more than once; send it once")

    def get(self, name, default=None):
        self._once(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self._once(name)
        return super().__getitem__(name)


def query() -> dict:
    params = app.current_request.query_params
    return _Query(params) if params else {}


def ticket_number(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,12}", raw):
        raise BadRequest("ticket_id", f"{raw[:20]!r} is not a ticket number; use digits like 42")
    return int(raw)


def created(payload: dict) -> Response:
    return Response(payload, status_code=201)


# --- meta ----------------------------------------------------------------------


@app.route("/openapi.json", methods=["GET"])
def openapi_document():
    return openapi.document(config.public_base_url())


@app.route("/chat", methods=["GET"])
def chat_page():
    from chalicelib import expectations
    from chalicelib.channels import webchat

    # Same origin only (scripts, styles, requests), no inline script; framed on the company's own
    # site by widget.js. The greeting says what is true now (out of hours: when we answer).
    from chalicelib.domain import words

    # The visitor's choice from the page's menu (?lang=de), else their browser's language.
    lang = (words.supported((app.current_request.query_params or {}).get("lang"))
            or words.from_accept_language(app.current_request.headers.get("accept-language")))
    return Response(webchat.page(expectations.chat_greeting(clock.now(), lang), lang or words.business()), headers={
        "Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
        **_PAGE_HEADERS,
        # Framed by the widget on the company's own site: only there when WIDGET_ORIGINS names it.
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                                   "style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
                                   f"form-action 'self'; frame-ancestors {config.frame_ancestors()}"})


# --- signing in and the staff console (API v1.2) --------------------------------------------


@app.route("/auth/code", methods=["POST"])
def auth_code():
    from chalicelib.usecases import signin

    return Response(signin.request_code(body("CodeRequest"), clock.now()), status_code=202)


@app.route("/auth/session", methods=["POST"])
def auth_sign_in():
    from chalicelib.usecases import signin

    answer, token = signin.open_session(body("SignInInput"), clock.now())
    return Response(answer, headers={"Set-Cookie": signin.cookie(token), "Cache-Control": "no-store"})


@app.route("/auth/session", methods=["GET"])
def auth_whoami():
    from chalicelib.usecases import signin

    now = clock.now()
    session = signin.current(signin.token_from(app.current_request.headers.get("cookie")), now)
    if session is None:
        raise Unauthorized("not signed in", code="missing_credentials")
    signin.principal(signin.token_from(app.current_request.headers.get("cookie")), "GET", None, now)  # still staff?
    return Response({"person": signin.whoami(session.person_id), "csrf": session.csrf, "now": now.isoformat()},
                    headers={"Cache-Control": "no-store"})


@app.route("/auth/session", methods=["DELETE"])
def auth_sign_out():
    from chalicelib.usecases import signin

    signin.close(signin.token_from(app.current_request.headers.get("cookie")))
    return Response({"signed_out": True}, headers={"Set-Cookie": signin.cookie("", clear=True)})


def _console_language() -> str:
    """The console's language: the signed-in person's (people.language), else the browser's, else
    the business language."""
    from chalicelib.domain import words
    from chalicelib.usecases import signin

    headers = app.current_request.headers
    token = signin.token_from(headers.get("cookie"))
    person = signin.person_of(token, clock.now()) if token else None
    return (words.supported(person.language if person is not None else None)
            or words.from_accept_language(headers.get("accept-language")) or words.business())


def _console_page(depth: int) -> Response:
    from chalicelib.channels import console

    return Response(console.page(depth, _console_language()), headers={
        "Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
        "X-Frame-Options": "DENY", "Vary": "Cookie, Accept-Language", **_PAGE_HEADERS,
        "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                   "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"})


@app.route("/console", methods=["GET"])
def console_inbox():
    return _console_page(0)


@app.route("/console/{page}", methods=["GET"])
def console_section(page):
    from chalicelib.channels import console

    if page not in console.PAGES:
        raise NotFound(f"the console has no page {page[:40]!r}", code="not_found")
    return _console_page(1)


@app.route("/console/tickets/{ticket_id}", methods=["GET"])
def console_ticket(ticket_id):
    ticket_number(ticket_id)
    return _console_page(2)


def _asset(name: str, content_type: str) -> Response:
    """A console file, with an ETag: a browser that has it gets 304 and no body."""
    from chalicelib.channels import console

    text, etag = console.asset(name)
    headers = {"Content-Type": content_type, "ETag": etag, "Cache-Control": "no-cache", **_PAGE_HEADERS}
    if app.current_request.headers.get("if-none-match") == etag:
        return Response("", status_code=304, headers=headers)
    return Response(text, headers=headers)


@app.route("/console.js", methods=["GET"])
def console_script():
    return _asset("console.js", "application/javascript; charset=utf-8")


@app.route("/console.css", methods=["GET"])
def console_styles():
    return _asset("console.css", "text/css; charset=utf-8")


@app.route("/chat.js", methods=["GET"])
def chat_script():
    from chalicelib.channels import webchat

    return Response(webchat.script(), headers={"Content-Type": "application/javascript; charset=utf-8",
                                               "Cache-Control": "public, max-age=300", **_PAGE_HEADERS})


@app.route("/widget.js", methods=["GET"])
def chat_widget():
    """The chat on the company's own site: a launcher button that opens /chat in an iframe, in the
    visitor's language (`?lang=` on the script's address, else their browser's)."""
    from chalicelib.channels import webchat
    from chalicelib.domain import words

    lang = (words.supported((app.current_request.query_params or {}).get("lang"))
            or words.from_accept_language(app.current_request.headers.get("accept-language")) or words.business())
    return Response(webchat.widget(lang), headers={"Content-Type": "application/javascript; charset=utf-8",
                                                   "Cache-Control": "public, max-age=300", "Vary": "Accept-Language",
                                                   **_PAGE_HEADERS})


@app.route("/chat/sessions", methods=["POST"])
def start_chat():
    from chalicelib.usecases import chat

    identity = app.current_request.context.get("identity") or {}
    return created(chat.start(body("ChatStart"), identity.get("sourceIp") or "unknown", clock.now()))


@app.route("/chat/sessions/{session_id}/messages", methods=["POST"])
def post_chat_message(session_id):
    from chalicelib.usecases import chat

    now = clock.now()
    session = chat.open_session(session_id, app.current_request.headers.get("authorization"), now)
    # The chat's hot path checks its two fields in the use case (chat.post: the same rules as
    # ChatMessageInput, which tests/test_openapi.py holds it to) without loading pydantic: a cold
    # chat answers 60 ms sooner (issue 25).
    return created(chat.post(session, validate.json_object(app.current_request.raw_body), now))


@app.route("/chat/sessions/{session_id}/messages", methods=["GET"])
def poll_chat_messages(session_id):
    from chalicelib.usecases import chat

    now = clock.now()
    session = chat.open_session(session_id, app.current_request.headers.get("authorization"), now)
    return chat.poll(session, query().get("after"), now)


# --- people --------------------------------------------------------------------


@app.route("/people", methods=["POST"])
@staff("admin")
def create_person(principal):
    person, key = people.create(body("PersonInput"), clock.now())
    return created(people.person_json(person, api_key=key))


@app.route("/people", methods=["GET"])
@staff("admin")
def list_people(principal):
    return people.list_json(query())


@app.route("/team", methods=["GET"])
@staff()
def team_names(principal):
    """Colleagues by name (to assign a ticket, to ask for a swap): no phone numbers, any staff."""
    return {"items": [{"id": p.id, "name": p.name, "role": p.role, "tier": p.tier, "timezone": p.timezone}
                      for p in sorted(store.all_people(), key=lambda p: p.name)]}


@app.route("/rota/swaps", methods=["POST"])
@staff()
def ask_swap(principal):
    from chalicelib.usecases import oncall

    data = body("SwapInput")
    me = None if principal.actor.id == auth.BOOTSTRAP_ID else store.get_person(principal.actor.id)
    return created(oncall.ask_swap(me, data, clock.now()))


@app.route("/rota/swaps", methods=["GET"])
@staff()
def list_swaps(principal):
    from chalicelib.usecases import oncall

    return oncall.swaps_for(None if principal.actor.id == auth.BOOTSTRAP_ID else principal.actor.id, clock.now())


@app.route("/rota/swaps/{swap_id}/accept", methods=["POST"])
@staff()
def accept_swap(principal, swap_id):
    from chalicelib.usecases import oncall

    me = store.get_person(principal.actor.id)
    if me is None:
        raise Forbidden("the bootstrap admin key is nobody: sign in as the colleague asked", code="not_a_person")
    return oncall.accept_swap(me, clock.now(), swap_id=swap_id[:40])


@app.route("/people/me", methods=["GET"])
@staff()
def my_profile(principal):
    """The caller as a Person, whoever it is (issue 23: the bootstrap key answered another shape)."""
    if principal.actor.id != auth.BOOTSTRAP_ID:
        return people.person_json(people.get(principal.actor.id))
    from chalicelib.domain import words

    return {"id": auth.BOOTSTRAP_ID, "name": "Admin (bootstrap key)", "phone": None, "role": "admin", "tier": 1,
            "timezone": config.business_timezone(), "language": words.business(), "created_at": None}


@app.route("/people/{person_id}", methods=["GET"])
@staff("admin")
def get_person(principal, person_id):
    return people.person_json(people.get(person_id))


@app.route("/people/{person_id}", methods=["PATCH"])
@staff("admin")
def update_person(principal, person_id):
    return people.person_json(people.update(person_id, body("PersonPatch")))


@app.route("/people/{person_id}", methods=["DELETE"])
@staff("admin")
def delete_person(principal, person_id):
    people.delete(person_id, principal.actor, clock.now())
    return Response("", status_code=204)


# --- tickets -------------------------------------------------------------------


@app.route("/tickets", methods=["GET"])
@staff()
def list_tickets(principal):
    return tickets.list_json(query(), me=None if principal.actor.id == auth.BOOTSTRAP_ID else principal.actor.id)


@app.route("/tickets", methods=["POST"])
@staff()
def open_ticket(principal):
    """Staff open a ticket for a customer who reached them another way."""
    from chalicelib.usecases import intake

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


@app.route("/tickets/{ticket_id}", methods=["GET"])
@staff()
def get_ticket(principal, ticket_id):
    return tickets.detail_json(tickets.get(ticket_number(ticket_id)))


@app.route("/tickets/{ticket_id}/messages", methods=["GET"])
@staff()
def ticket_messages(principal, ticket_id):
    """Earlier messages of a long conversation (issue 23): the ticket shows the newest 50."""
    return tickets.older_json(ticket_number(ticket_id), "messages", query())


@app.route("/tickets/{ticket_id}/events", methods=["GET"])
@staff()
def ticket_events(principal, ticket_id):
    return tickets.older_json(ticket_number(ticket_id), "events", query())


@app.route("/tickets/{ticket_id}/reply", methods=["POST"])
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


@app.route("/tickets/{ticket_id}/notes", methods=["POST"])
@staff()
def note_ticket(principal, ticket_id):
    data = body("NoteInput")
    validate.unknown_fields(data, {"text"})
    text = validate.text(data, "text", max_len=4000)
    return created(tickets.summary_json(replies.note(ticket_number(ticket_id), text, principal.actor, clock.now())))


@app.route("/tickets/{ticket_id}/language", methods=["PUT"])
@staff()
def set_ticket_language(principal, ticket_id):
    """The customer's language (API v1.2): staff who know better than the detector set it."""
    from chalicelib.domain import words
    from chalicelib.usecases import intake

    data = body("LanguageInput")
    validate.unknown_fields(data, {"language"})
    lang = validate.choice(data, "language", words.LANGUAGES)
    return tickets.summary_json(intake.set_language(ticket_number(ticket_id), lang, principal.actor, clock.now()))


@app.route("/tickets/{ticket_id}/preview", methods=["GET"])
@staff()
def preview_reply(principal, ticket_id):
    template = query().get("template")
    if not template:
        raise BadRequest("template", "is required: a template id or name")
    return replies.preview(ticket_number(ticket_id), principal.actor, clock.now(), template[:64])


@app.route("/tickets/{ticket_id}/ack", methods=["POST"])
@staff()
def ack_ticket(principal, ticket_id):
    now, number = clock.now(), ticket_number(ticket_id)
    return tickets.summary_json(tickets.ack(number, principal.actor, now))  # the page stops now


@app.route("/tickets/{ticket_id}/resolve", methods=["POST"])
@staff()
def resolve_ticket(principal, ticket_id):
    now, number = clock.now(), ticket_number(ticket_id)
    # The survey question commits with the resolve and goes out at once.
    return tickets.summary_json(tickets.resolve(number, principal.actor, now, dispatch=True))


@app.route("/tickets/{ticket_id}/pending", methods=["POST"])
@staff()
def pending_ticket(principal, ticket_id):
    return tickets.summary_json(tickets.set_pending(ticket_number(ticket_id), principal.actor, clock.now()))


@app.route("/tickets/{ticket_id}/close", methods=["POST"])
@staff()
def close_ticket(principal, ticket_id):
    return tickets.summary_json(tickets.close(ticket_number(ticket_id), principal.actor, clock.now()))


@app.route("/tickets/{ticket_id}/reopen", methods=["POST"])
@staff()
def reopen_ticket(principal, ticket_id):
    return tickets.summary_json(tickets.reopen(ticket_number(ticket_id), principal.actor, clock.now()))


@app.route("/tickets/{ticket_id}/pass-up", methods=["POST"])
@staff()
def pass_up_ticket(principal, ticket_id):
    data = body("PassUpInput")
    validate.unknown_fields(data, {"reason"})
    reason = validate.text(data, "reason", max_len=500)
    return tickets.summary_json(tickets.pass_up(ticket_number(ticket_id), principal.actor, reason, clock.now()))


@app.route("/tickets/{ticket_id}/assign", methods=["POST"])
@staff()
def assign_ticket(principal, ticket_id):
    data = body("AssignInput")
    validate.unknown_fields(data, {"person_id"})
    person_id = validate.text(data, "person_id", max_len=64)
    return tickets.summary_json(tickets.assign(ticket_number(ticket_id), person_id, principal.actor, clock.now()))



# --- templates and reports -----------------------------------------------------


@app.route("/templates", methods=["POST"])
@staff("admin")
def create_template(principal):
    from chalicelib.usecases import templates

    return created(templates.template_json(templates.create(body("TemplateInput"), clock.now())))


@app.route("/templates", methods=["GET"])
@staff()
def list_templates(principal):
    from chalicelib.usecases import templates

    return templates.list_json()


@app.route("/templates/{template_id}", methods=["GET"])
@staff()
def get_template(principal, template_id):
    from chalicelib.usecases import templates

    return templates.template_json(templates.get(template_id))


@app.route("/templates/{template_id}", methods=["PUT"])
@staff("admin")
def update_template(principal, template_id):
    from chalicelib.usecases import templates

    return templates.template_json(templates.update(template_id, body("TemplatePatch"), clock.now()))


@app.route("/templates/{template_id}", methods=["DELETE"])
@staff("admin")
def delete_template(principal, template_id):
    from chalicelib.usecases import templates

    templates.delete(template_id, clock.now())
    return Response("", status_code=204)


@app.route("/reports/monthly", methods=["GET"])
@staff("admin")
def monthly_report(principal):
    from chalicelib.usecases import reports

    q = query()
    report = reports.monthly(q.get("month"), clock.now())
    fmt = q.get("format", "json")
    if fmt == "csv":
        return Response(reports.to_csv(report), headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="friday-night-{report["month"]}.csv"'})
    if fmt != "json":
        raise BadRequest("format", "must be json or csv")
    return dict(report, html_url=reports.html_link(report["month"], clock.now()))


@app.route("/reports/monthly.html", methods=["GET"])
def monthly_report_html():
    """A browser opens it through the short-lived signed link the JSON report carries
    (`html_url`); a bearer admin key works too."""
    from chalicelib.usecases import reports

    q, now = query(), clock.now()
    if "sig" in q:
        reports.check_link(q, now)
    else:
        auth.require(auth.authenticate(app.current_request.headers.get("authorization")), "admin")
    return Response(reports.to_html(reports.monthly(q.get("month"), now)),
                    headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "private, no-store",
                             "Referrer-Policy": "no-referrer", **_PAGE_HEADERS,
                             # No script at all, and no site may frame the signed page.
                             "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                                        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
                             "X-Frame-Options": "DENY"})


# --- rota, on-call, policy --------------------------------------------------------


@app.route("/rota", methods=["PUT"])
@staff("admin")
def put_rota(principal):
    from chalicelib.usecases import oncall

    return oncall.put_rota(body("RotaInput"), clock.now())


@app.route("/rota", methods=["GET"])
@staff()
def get_rota(principal):
    from chalicelib.usecases import oncall

    return oncall.rota_json()


@app.route("/rota/overrides", methods=["POST"])
@staff("admin")
def add_override(principal):
    from chalicelib.usecases import oncall

    return created(oncall.add_override(body("OverrideInput"), clock.now(), actor_id=principal.actor.id))


@app.route("/rota/overrides/{override_id}", methods=["DELETE"])
@staff("admin")
def delete_override(principal, override_id):
    from chalicelib.usecases import oncall

    oncall.delete_override(override_id, clock.now())
    return Response("", status_code=204)


@app.route("/oncall", methods=["GET"])
@staff()
def get_oncall(principal):
    from chalicelib.usecases import oncall

    return oncall.oncall(validate.instant(query().get("at"), "at") or clock.now())


@app.route("/oncall/plan", methods=["GET"])
@staff("admin")
def get_oncall_plan(principal):
    """Dry run: the paging timeline an urgent ticket at `at` would produce."""
    from chalicelib.usecases import handoff

    return handoff.plan(validate.instant(query().get("at"), "at") or clock.now())


@app.route("/rota/shifts", methods=["GET"])
@staff("admin")
def get_rota_shifts(principal):
    """What happened on the emergency phone (shift records) between `from` and `to` (default: 4 weeks)."""
    from chalicelib.usecases import shifts

    q = query()
    return shifts.history_json(validate.instant(q.get("from"), "from"), validate.instant(q.get("to"), "to"),
                               clock.now())


@app.route("/rota/stats", methods=["GET"])
@staff("admin")
def get_rota_stats(principal):
    from chalicelib.usecases import handoff

    year = validate.query_int(query(), "year", minimum=2000, maximum=2100) or clock.now().year
    return handoff.stats(year, clock.now())


@app.route("/rota/schedule", methods=["GET"])
@staff()
def get_schedule(principal):

    from chalicelib.usecases import oncall

    q, now = query(), clock.now()
    frm = validate.instant(q.get("from"), "from") or now
    to = validate.instant(q.get("to"), "to") or frm + timedelta(days=28)
    return oncall.schedule(frm, to, now)


@app.route("/rota.ics", methods=["GET"])
def rota_ics():
    """Calendar apps send no headers: a per-rota token in the query instead."""
    from chalicelib.usecases import oncall

    authorization = app.current_request.headers.get("authorization")
    if authorization:  # a bearer key works too (API.md v1.1)
        auth.authenticate(authorization)
    doc = oncall.check_ics_token(query().get("token"), principal_ok=bool(authorization))
    return Response(oncall.ics(doc, clock.now()), headers={"Content-Type": "text/calendar; charset=utf-8"})


@app.route("/rota/ics-token", methods=["POST"])
@staff("admin")
def rotate_ics_token(principal):
    """A new calendar token: the old link stops working."""
    from chalicelib.usecases import oncall

    return oncall.rotate_ics_token(clock.now())


@app.route("/policy", methods=["PUT"])
@staff("admin")
def put_policy(principal):
    from chalicelib.usecases import oncall

    return oncall.put_policy(body("PolicyInput"), clock.now())


@app.route("/status", methods=["GET"])
@staff("admin")
def engine_status(principal):
    """The engine's health: sweep heartbeats, the outbox, reconciliation (README: "Is it running?")."""
    from chalicelib.usecases import health

    return health.status(clock.now())


@app.route("/policy", methods=["GET"])
@staff()
def get_policy(principal):
    from chalicelib.usecases import tiers

    return tiers.policy()


# --- Twilio webhooks (form-encoded, signed; TwiML answers) ------------------------


def twilio_params(path: str) -> dict:
    request = app.current_request
    return twilio_hooks.verified_params(path, request.raw_body, request.headers.get("x-twilio-signature"))


def twiml(xml: str) -> Response:
    return Response(xml, headers={"Content-Type": "text/xml"})


@app.route("/twilio/sms", methods=["POST"], content_types=FORM)
def twilio_sms():
    from chalicelib.channels import sms

    params = twilio_params("/twilio/sms")
    return twiml(sms.webhook(params, twilio_hooks.require(params, "MessageSid"), clock.now()))


@app.route("/twilio/sms/fallback", methods=["POST"], content_types=FORM)
def twilio_sms_fallback():
    """Twilio's SmsFallbackUrl: the main webhook failed. Try once more (it is idempotent per
    MessageSid); if that fails too, the text is in Twilio's log and the reconcile sweep stores it."""
    from chalicelib.channels import sms

    params = twilio_params("/twilio/sms/fallback")
    try:
        return twiml(sms.webhook(params, twilio_hooks.require(params, "MessageSid"), clock.now()))
    except ApiError as err:
        if err.status < 409:
            raise
        logger.warning("sms fallback could not finish: the reconcile sweep will store the message")
        return twiml(twilio_hooks.messages_twiml([_STORED_LATER]))
    except Exception:  # noqa: BLE001 - the customer still gets the truth
        logger.exception("sms fallback failed too: the reconcile sweep will store the message")
        return twiml(twilio_hooks.messages_twiml([_STORED_LATER]))


@app.route("/twilio/voice/fallback", methods=["POST"], content_types=FORM)
def twilio_voice_fallback():
    """Twilio's VoiceFallbackUrl: the main webhook failed; try once more, else an apology (the
    missed call is in Twilio's log: the reconcile sweep opens its ticket and pages)."""
    from chalicelib.channels import voice

    params = twilio_params("/twilio/voice/fallback")
    now = clock.now()
    try:
        return twiml(voice.call_webhook(params, now))
    except ApiError:
        raise
    except Exception:  # noqa: BLE001
        logger.exception("voice fallback failed too: the reconcile sweep will page for the missed call")
        return twiml(twilio_hooks.sorry_call())


@app.route("/twilio/sms/status", methods=["POST"], content_types=FORM)
def twilio_sms_status():
    from chalicelib.usecases import delivery as status

    params = twilio_params("/twilio/sms/status")
    status.message_status(twilio_hooks.require(params, "MessageSid"),
                          twilio_hooks.require(params, "MessageStatus"), clock.now())
    return twiml(twilio_hooks.EMPTY_TWIML)


@app.route("/twilio/voice", methods=["POST"], content_types=FORM)
def twilio_voice():
    from chalicelib.channels import voice

    return twiml(voice.call_webhook(twilio_params("/twilio/voice"), clock.now()))


@app.route("/twilio/voice/status", methods=["POST"], content_types=FORM)
def twilio_voice_status():
    from chalicelib.usecases import delivery as status

    params = twilio_params("/twilio/voice/status")
    status.call_status(twilio_hooks.require(params, "CallSid"), twilio_hooks.require(params, "CallStatus"),
                       clock.now())
    return twiml(twilio_hooks.EMPTY_TWIML)


@app.route("/twilio/voice/screen/{ticket_id}/{step}", methods=["POST"], content_types=FORM)
def twilio_voice_screen(ticket_id, step):
    from chalicelib.channels import voice

    params = twilio_params(f"/twilio/voice/screen/{ticket_id}/{step}")
    return twiml(voice.screen(ticket_number(ticket_id), step_number(step), params))


@app.route("/twilio/voice/accept/{ticket_id}/{step}", methods=["POST"], content_types=FORM)
def twilio_voice_accept(ticket_id, step):
    from chalicelib.channels import voice

    params = twilio_params(f"/twilio/voice/accept/{ticket_id}/{step}")
    return twiml(voice.accept_webhook(ticket_number(ticket_id), step_number(step), params, clock.now()))


@app.route("/twilio/voice/dialed/{ticket_id}/{step}", methods=["POST"], content_types=FORM)
def twilio_voice_dialed(ticket_id, step):
    from chalicelib.channels import voice

    params = twilio_params(f"/twilio/voice/dialed/{ticket_id}/{step}")
    return twiml(voice.dialed_webhook(ticket_number(ticket_id), step_number(step), params, clock.now()))


@app.route("/twilio/voice/recorded/{ticket_id}", methods=["POST"], content_types=FORM)
def twilio_voice_recorded(ticket_id):
    from chalicelib.channels import voice

    params = twilio_params(f"/twilio/voice/recorded/{ticket_id}")
    return twiml(voice.recorded_webhook(ticket_number(ticket_id), params, clock.now()))


@app.route("/twilio/voice/transcript/{ticket_id}", methods=["POST"], content_types=FORM)
def twilio_voice_transcript(ticket_id):
    from chalicelib.channels import voice

    params = twilio_params(f"/twilio/voice/transcript/{ticket_id}")
    return twiml(voice.transcript_webhook(ticket_number(ticket_id), params, clock.now()))


@app.route("/twilio/voice/page/{ticket_id}", methods=["POST"], content_types=FORM)
def twilio_voice_page(ticket_id):
    from chalicelib.channels import voice

    params = twilio_params(f"/twilio/voice/page/{ticket_id}")
    return twiml(voice.page_call(ticket_number(ticket_id), params))


@app.route("/twilio/voice/page/{ticket_id}/ack", methods=["POST"], content_types=FORM)
def twilio_voice_page_ack(ticket_id):
    from chalicelib.channels import voice

    params = twilio_params(f"/twilio/voice/page/{ticket_id}/ack")
    return twiml(voice.page_call_ack(ticket_number(ticket_id), params, clock.now()))


def step_number(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,2}", raw):
        raise BadRequest("step", "must be a small number")
    return int(raw)


# --- schedules (EventBridge runs in UTC; local times are decided in code) ---------


def _sweep(name: str, run) -> None:
    """One scheduled sweep: a fresh unit of work, then a heartbeat (GET /status) and the metrics.

    A sweep that raises writes no heartbeat and fails the invocation: the Errors alarm and
    the on-failure destination see it, and /status shows it stale.
    """
    from chalicelib import metrics
    from chalicelib.usecases import health

    store.begin_unit()
    missing = _misconfigured(name)
    if missing:  # fail the run: the Errors alarm and /status see it; nothing is sent anywhere
        raise RuntimeError(f"{name} refused: configuration incomplete: {'; '.join(missing)}")
    now = clock.now()
    try:
        facts = run(now) or {}
    finally:
        metrics.flush()
    health.beat(name, now, **(facts if isinstance(facts, dict) else {"looked_at": facts}))


@app.schedule(Rate(1, unit=Rate.MINUTES), name="page_sweep")
def page_sweep(event):
    """Delivers the outbox's due items and takes every due page step."""
    from chalicelib.usecases import paging

    _sweep("page_sweep", paging.sweep)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="tier_sweep")
def tier_sweep(event):
    """The 20-hour rule: expired tickets move up a tier; the top tier's expiry pages the leads."""
    _sweep("tier_sweep", tickets.tier_sweep)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="handoff_sweep")
def handoff_sweep(event):
    """TAKE requests before a handoff; the current holder stays if nobody takes it."""
    from chalicelib.usecases import handoff

    _sweep("handoff_sweep", handoff.sweep)


@app.schedule(Rate(2, unit=Rate.MINUTES), name="reconcile_sweep")
def reconcile_sweep(event):
    """Nothing missed: Twilio's logs of inbound SMS and calls, read back for webhooks that never ran."""
    from chalicelib.usecases import reconcile

    _sweep("reconcile_sweep", reconcile.sweep)


for _methods in app.routes.values():  # every door, shielded (see _shield)
    for _entry in _methods.values():
        _entry.view_function = _shield(_entry.view_function)
