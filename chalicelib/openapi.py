"""The OpenAPI 3.1 document of every route (GET /openapi.json).

The paths (summaries, parameters, status codes) are listed here; every schema
comes from the pydantic models in chalicelib/schemas.py, the same ones that
validate the request bodies. Tests fail when app.py has a route this document
does not describe, or a JSON route whose body is not checked by the model
the document names.
"""
from __future__ import annotations

import copy

from chalicelib import schemas
from chalicelib.channels.console import PAGES as CONSOLE_PAGES
from chalicelib.domain.tickets import STATUSES

_STR = {"type": "string"}

def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(name: str) -> dict:
    return {"application/json": {"schema": _ref(name)}}


def _errors(*codes: int) -> dict:
    text = {400: "Bad input (names the field)", 401: "Missing or invalid API key",
            403: "Not allowed (or a webhook's signature does not match)",
            404: "Not found", 409: "Conflict", 413: "Body too large", 415: "Unsupported media type",
            429: "Too many requests"}
    return {str(c): {"description": text[c], "content": _json("Error")} for c in codes}


def _op(summary: str, ok: int, ok_schema: str | None, *, body: str | None = None, auth: bool = True,
        params: list | None = None, errors: tuple = (), content_type: str = "application/json",
        ok_content: dict | None = None) -> dict:
    op: dict = {"summary": summary, "responses": {}}
    if ok_content is not None:
        op["responses"][str(ok)] = {"description": "OK", "content": ok_content}
    elif ok_schema:
        op["responses"][str(ok)] = {"description": "OK", "content": _json(ok_schema)}
    else:
        op["responses"][str(ok)] = {"description": "Done"}
    codes = set(errors)
    if auth:
        op["security"] = [{"bearer": []}]
        codes |= {401}
    if body:
        op["requestBody"] = {"required": True, "content": {content_type: {"schema": _ref(body)}}}
        codes |= {400, 413}
    op["responses"].update(_errors(*sorted(codes)))
    if params:
        op["parameters"] = params
    return op


def _path(name: str, desc: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "path", "required": True, "description": desc, "schema": schema or _STR}


def _q(name: str, schema: dict, desc: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": desc}


_TICKET_ID = _path("ticket_id", "ticket number", {"type": "string", "pattern": "^[0-9]{1,12}$"})
_PERSON_ID = _path("person_id", "person id")
_PHONE = _path("phone", "the customer's number, URL-encoded, in any common form (normalised)",
               {"type": "string", "format": "phone", "maxLength": 40})
_LIST = [_q("cursor", _STR, "the `next` of the previous page of this list (another is refused with 400)"),
         _q("limit", {"type": "integer", "minimum": 1, "maximum": 100})]


def _ticket_action(summary: str, body: str | None = None, ok: str = "Ticket") -> dict:
    return {"post": _op(summary, 201 if ok == "ReplyResult" else 200, ok, body=body, params=[_TICKET_ID],
                        errors=(400, 403, 404, 409))}


PATHS: dict = {
    "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {
        "description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}},
    "/chat": {"get": _op("The customer chat page", 200, None, auth=False,
                         ok_content={"text/html": {"schema": _STR}})},
    "/chat.js": {"get": _op("The chat page's script (a file, for a CSP without inline scripts)", 200, None,
                            auth=False, ok_content={"application/javascript": {"schema": _STR}})},
    "/widget.js": {"get": _op("The chat widget for the company's own site: <script src=\".../widget.js\" async>",
                              200, None, auth=False, ok_content={"application/javascript": {"schema": _STR}})},
    "/people": {
        "post": _op("Add a person; the API key is shown once", 201, "PersonCreated", body="PersonInput",
                    errors=(403, 409)),
        "get": _op("List people", 200, "PersonList", params=_LIST, errors=(400, 403)),
    },
    "/auth/code": {"post": _op("Text a sign-in code to a staff phone (202 for any number; 3 per 15 minutes)",
                               202, "CodeSent", body="CodeRequest", auth=False, errors=(429,))},
    "/auth/session": {
        "post": _op("Sign in with a phone and its code, or an API key: sets the session cookie", 200, "SignedIn",
                    body="SignInInput", auth=False, errors=(401,)),
        "get": _op("The signed-in person and the session's CSRF token", 200, "SignedIn"),
        "delete": _op("Sign out: the session ends server-side", 200, None, auth=False),
    },
    "/console": {"get": _op("The staff console (HTML; signs in when there is no session)", 200, None, auth=False,
                            ok_content={"text/html": {"schema": _STR}})},
    "/console/{page}": {"get": _op("A page of the staff console: rota, people, templates, status, report", 200,
                                   None, auth=False, errors=(404,),
                                   params=[_path("page", "the page", {"enum": list(CONSOLE_PAGES)})],
                                   ok_content={"text/html": {"schema": _STR}})},
    "/console/tickets/{ticket_id}": {"get": _op("A ticket in the staff console", 200, None, auth=False,
                                                params=[_TICKET_ID], errors=(400,),
                                                ok_content={"text/html": {"schema": _STR}})},
    "/console.js": {"get": _op("The console's script (an ES module)", 200, None, auth=False,
                               ok_content={"application/javascript": {"schema": _STR}})},
    "/console.css": {"get": _op("The console's styles", 200, None, auth=False,
                                ok_content={"text/css": {"schema": _STR}})},
    "/rota/swaps": {
        "post": _op("Ask a colleague to hold the phone for part of your shift: they get an SMS with a code; "
                    "the override exists only once they accept (SMS YES <code>, or the accept route); 403 for the "
                    "bootstrap key, which is nobody", 201, None, body="SwapInput", errors=(403, 404, 409)),
        "get": _op("Swaps asked by or of the caller (every swap for the bootstrap admin)", 200, None),
    },
    "/rota/swaps/{swap_id}/accept": {"post": _op("Accept a swap asked of you: the override exists now", 200, None,
                                                 params=[_path("swap_id", "the swap's id")],
                                                 errors=(403, 404, 409))},
    "/team": {"get": _op("Colleagues by name and tier, for assigning and swaps (no phone numbers; any staff)",
                         200, None, ok_content={"application/json": {"schema": {"type": "object"}}})},
    "/people/me": {"get": _op("The caller's own profile", 200, "Person")},
    "/people/{person_id}": {
        "get": _op("One person", 200, "Person", params=[_PERSON_ID], errors=(403, 404)),
        "patch": _op("Change a person", 200, "Person", body="PersonPatch", params=[_PERSON_ID],
                     errors=(403, 404, 409)),
        "delete": _op("Remove a person and their API key (409 while in the rota)", 204, None, params=[_PERSON_ID],
                      errors=(403, 404, 409)),
    },
    "/contacts/{phone}": {
        "get": _op("A customer: name, language, zone, consent and their tickets, newest first (v1.3)", 200,
                   "Contact", params=[_PHONE], errors=(400, 404)),
        "patch": _op("Name a customer, or set their language or zone (v1.3)", 200, "Contact",
                     body="ContactPatch", params=[_PHONE], errors=(400, 404, 409)),
    },
    "/tickets": {
        "get": _op("List tickets, newest first", 200, "TicketList", errors=(400,), params=[
            _q("status", {"enum": list(STATUSES)}),
            _q("owner", _STR, "a person id, or `me` (the caller)"),
            _q("tier", {"type": "integer", "minimum": 1, "maximum": 10}),
            _q("channel", {"enum": ["sms", "voice", "webchat"]}),
            _q("priority", {"enum": ["normal", "urgent"]}, "only tickets of this priority (the Urgent view)"),
            *_LIST]),
        "post": _op("Open a ticket for a customer (staff-opened)", 201, "TicketDetail", body="TicketInput"),
    },
    "/tickets/{ticket_id}": {"get": _op("A ticket with its newest 50 messages and events (`older`: a cursor "
                                        "for each list's earlier page)", 200, "TicketDetail",
                                        params=[_TICKET_ID], errors=(400, 404))},
    "/tickets/{ticket_id}/messages": {"get": _op("A ticket's messages, newest page first; `next` pages back "
                                                 "(start from the ticket's `older.messages`)", 200, "MessageList",
                                                 params=[_TICKET_ID, *_LIST], errors=(400, 404))},
    "/tickets/{ticket_id}/events": {"get": _op("A ticket's events, newest page first; `next` pages back "
                                               "(start from the ticket's `older.events`)", 200, "EventList",
                                               params=[_TICKET_ID, *_LIST], errors=(400, 404))},
    "/tickets/{ticket_id}/reply": _ticket_action("Answer the customer over the ticket's channel",
                                                 "ReplyInput", ok="ReplyResult"),
    "/tickets/{ticket_id}/ack": _ticket_action("Acknowledge: stops paging, the caller becomes owner"),
    "/tickets/{ticket_id}/resolve": _ticket_action("Resolve"),
    "/tickets/{ticket_id}/pending": _ticket_action("Wait on the customer (stops the tier clock)"),
    "/tickets/{ticket_id}/close": _ticket_action("Close a resolved ticket"),
    "/tickets/{ticket_id}/reopen": _ticket_action("Reopen a resolved or closed ticket"),
    "/tickets/{ticket_id}/pass-up": _ticket_action("Pass up one tier now, with a reason", "PassUpInput"),
    "/tickets/{ticket_id}/assign": _ticket_action("Give the ticket to a person", "AssignInput"),
    "/tickets/{ticket_id}/notes": {"post": _op("An internal note: for staff only, never sent, never in the chat",
                                               201, "Ticket", body="NoteInput", params=[_TICKET_ID],
                                               errors=(404,))},
    "/tickets/{ticket_id}/language": {"put": _op("The customer's language, from now on (staff know better than "
                                                 "the detector)", 200, "Ticket", body="LanguageInput",
                                                 params=[_TICKET_ID], errors=(400, 404))},
    "/tickets/{ticket_id}/preview": {"get": _op("A template as this ticket's customer would read it (nothing sent)",
                                                200, "Preview", params=[_TICKET_ID, dict(_q(
                                                    "template", {"type": "string", "minLength": 1, "maxLength": 64},
                                                    "a template id or name"), required=True)],
                                                errors=(400, 404))},
}


_TIME_Q = lambda name: _q(name, {"type": "string", "format": "date-time", "pattern": schemas.INSTANT_PATTERN},  # noqa: E731
                          "ISO 8601 with offset, in the years 2000-2100; leave it out for the default (empty: 400)")
_TWIML = {"text/xml": {"schema": _STR}}


def _webhook(summary: str, params: list | None = None) -> dict:
    op = _op(summary, 200, None, body="TwilioForm", auth=False, params=params, errors=(403, 415),
             content_type="application/x-www-form-urlencoded", ok_content=_TWIML)
    op["parameters"] = (params or []) + [{"name": "X-Twilio-Signature", "in": "header", "required": True,
                                          "schema": _STR}]
    return {"post": op}


_SESSION = _path("session_id", "chat session id")
_CHAT_AUTH = [{"chatToken": []}]


def _chat(op: dict) -> dict:
    op["security"] = _CHAT_AUTH
    return op


_STEP = _path("step", "dial step", {"type": "string", "pattern": "^[0-9]{1,2}$"})



_TEMPLATE_ID = _path("template_id", "template id")
_MONTH = {"name": "month", "in": "query", "required": True, "description": "YYYY-MM",
          "schema": {"type": "string", "pattern": "^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"}}

PATHS.update({
    "/templates": {"post": _op("Add a template", 201, "Template", body="TemplateInput", errors=(403, 409)),
                   "get": _op("List templates (agents may read)", 200, "TemplateList")},
    "/templates/{template_id}": {
        "get": _op("One template", 200, "Template", params=[_TEMPLATE_ID], errors=(404,)),
        "put": _op("Change a template", 200, "Template", body="TemplatePatch", params=[_TEMPLATE_ID],
                   errors=(403, 404, 409)),
        "delete": _op("Remove a template", 204, None, params=[_TEMPLATE_ID], errors=(403, 404))},
    "/reports/monthly": {"get": _op("The monthly report (JSON, or CSV with format=csv)", 200, None, errors=(400, 403),
                                    params=[_MONTH, _q("format", {"enum": ["json", "csv"]})],
                                    ok_content={"application/json": {"schema": _ref("MonthlyReport")},
                                                "text/csv": {"schema": _STR}})},
    "/reports/monthly.html": {"get": _op("The monthly report with SVG charts", 200, None, errors=(400, 403),
                                         params=[_MONTH], ok_content={"text/html": {"schema": _STR}})},
})

PATHS.update({
    "/chat/sessions": {"post": _op("Start a web chat (a webchat ticket)", 201, "ChatSession", body="ChatStart",
                                   auth=False, errors=(429,))},
    "/chat/sessions/{session_id}/messages": {
        "post": _chat(_op("Send a message (Bearer: the session's token)", 201, "ChatMessageCreated",
                          body="ChatMessageInput", auth=False, params=[_SESSION], errors=(401, 404, 429))),
        "get": _chat(_op("New messages after a cursor (never skips or repeats)", 200, "ChatMessages", auth=False,
                         params=[_SESSION, _q("after", _STR, "the cursor of the previous poll")],
                         errors=(400, 401, 404))),
    },
    "/rota": {"put": _op("Set the emergency phone rotation", 200, "Rota", body="RotaInput", errors=(403,)),
              "get": _op("The rotation", 200, "Rota", errors=(404,))},
    "/rota/overrides": {"post": _op("Replace the holder for a window", 201, "Override", body="OverrideInput",
                                    errors=(403, 404))},
    "/rota/overrides/{override_id}": {"delete": _op("Remove an override", 204, None, errors=(403, 404),
                                                    params=[_path("override_id", "override id")])},
    "/oncall": {"get": _op("Who holds the phone at `at` (default now)", 200, "OnCall", errors=(400, 404),
                           params=[_TIME_Q("at")])},
    "/oncall/plan": {"get": _op("Dry run: the paging timeline of an urgent ticket at `at`", 200, "Plan",
                                errors=(400, 403), params=[_TIME_Q("at")])},
    "/rota/stats": {"get": _op("Weeks held and compensation days per person", 200, "RotaStats", errors=(400, 403),
                               params=[_q("year", {"type": "integer", "minimum": 2000, "maximum": 2100})])},
    "/rota/shifts": {"get": _op("What happened on the emergency phone: shift records (default: 4 weeks)", 200,
                                "ShiftRecords", errors=(400, 403), params=[_TIME_Q("from"), _TIME_Q("to")])},
    "/rota/ics-token": {"post": _op("A new calendar token (the old link stops working)", 200, "IcsToken",
                                    errors=(403, 404))},
    "/rota/schedule": {"get": _op("Who holds the phone when, in a window (default 28 days)", 200, "Schedule",
                                  errors=(400, 404), params=[_TIME_Q("from"), _TIME_Q("to")])},
    "/rota.ics": {"get": _op("The rota as an iCalendar feed (token from GET /rota)", 200, None, auth=False,
                             errors=(401, 404), params=[_q("token", _STR)],
                             ok_content={"text/calendar": {"schema": _STR}})},
    "/status": {"get": _op("The engine's health: sweep heartbeats, outbox due/dead, oldest undelivered page, "
                           "reconciliation mark", 200, "Status", errors=(403,))},
    "/policy": {"put": _op("Set tiers, the ack timeout and the paging rounds", 200, "Policy", body="PolicyInput",
                           errors=(403,)),
                "get": _op("The tier policy", 200, "Policy")},
    "/twilio/sms": _webhook("Inbound SMS to SUPPORT_NUMBER"),
    "/twilio/sms/status": _webhook("Delivery status of an outbound SMS"),
    "/twilio/sms/fallback": _webhook("Twilio's SmsFallbackUrl: tried again, else the reconcile sweep stores it"),
    "/twilio/voice/fallback": _webhook("Twilio's VoiceFallbackUrl: tried again, else an apology"),
    "/twilio/voice": _webhook("Incoming call to EMERGENCY_NUMBER"),
    "/twilio/voice/status": _webhook("Status of an outbound (paging) call"),
    "/twilio/voice/screen/{ticket_id}/{step}": _webhook("Screening played to the person rung",
                                                         [_TICKET_ID, _STEP]),
    "/twilio/voice/accept/{ticket_id}/{step}": _webhook("The screened person's key press", [_TICKET_ID, _STEP]),
    "/twilio/voice/dialed/{ticket_id}/{step}": _webhook("The <Dial> ended", [_TICKET_ID, _STEP]),
    "/twilio/voice/recorded/{ticket_id}": _webhook("The voicemail recording", [_TICKET_ID]),
    "/twilio/voice/transcript/{ticket_id}": _webhook("The voicemail transcript", [_TICKET_ID]),
    "/twilio/voice/page/{ticket_id}": _webhook("TwiML of a paging call", [_TICKET_ID]),
    "/twilio/voice/page/{ticket_id}/ack": _webhook("Key press on a paging call (1 acknowledges)", [_TICKET_ID]),
})


def document(base_url: str = "") -> dict:
    doc = {
        "openapi": "3.1.0",
        "info": {"title": "Friday Night", "version": "1.0.0",
                 "description": "Round-the-clock customer service for small teams. "
                                "Errors are {\"error\": {\"code\", \"message\", \"field\"?}}; request bodies "
                                "above 64 KiB get 413."},
        "paths": copy.deepcopy(PATHS),
        "components": {"schemas": schemas.components(),
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "chatToken": {"type": "http", "scheme": "bearer",
                                                         "description": "the token from POST /chat/sessions"}}},
    }
    if base_url:
        doc["servers"] = [{"url": base_url}]
    return doc
