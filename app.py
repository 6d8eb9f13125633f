"""Friday Night — the front door: the Chalice app, its middleware, the doors' registration, the schedules.

Each door is a blueprint in chalicelib/api/ (Twilio, chat, sign-in, console, tickets, people, rota,
templates, reports, status): a route authenticates, parses, calls one use case in chalicelib and
shapes the answer. Use cases live one hop away (chalicelib/usecases, chalicelib/channels), their
rules two hops away (chalicelib/domain).
"""
from __future__ import annotations

import gc

from chalice import Chalice, Rate, Response

from chalicelib import clock, config, lazy, metrics, store
from chalicelib.api import auth as doors_auth
from chalicelib.api import chat as doors_chat
from chalicelib.api import console as doors_console
from chalicelib.api import contacts as doors_contacts
from chalicelib.api import edge
from chalicelib.api import people as doors_people
from chalicelib.api import reports as doors_reports
from chalicelib.api import rota as doors_rota
from chalicelib.api import status as doors_status
from chalicelib.api import templates as doors_templates
from chalicelib.api import tickets as doors_tickets
from chalicelib.api import twilio as doors_twilio
from chalicelib.api.edge import _REPORTED, _error, _misconfigured, _refuse_half_set, _shield, _webhook_busy  # noqa: F401
from chalicelib.errors import ApiError, TooLarge
from chalicelib.logs import logger

# A cold start imports the code its first event needs, botocore's included: long-lived objects
# only, so the cyclic collector finds nothing there, yet each full pass walks the whole heap (about
# half of the webhook path's extra import time, `make bench`). It stays off until the first event
# has been answered (after_the_cold_start below); reference counting frees everything meanwhile.
# Then, as long-lived Python services do after loading (gc.freeze's documented use), what the cold
# start made goes to the permanent generation before the collector resumes: turned on alone, its
# first pass walked everything made since the start (≈160 ms, issue 25) and the next ones again.
gc.disable()

tier_moves = lazy.module("chalicelib.usecases.tier_moves")

app = Chalice(app_name="friday-night")
app.api.binary_types = []  # every answer here is text (JSON, TwiML, HTML)
edge.bind(app)
for door in (doors_auth, doors_chat, doors_contacts, doors_console, doors_people, doors_reports, doors_rota,
             doors_status, doors_templates, doors_tickets, doors_twilio):
    app.register_blueprint(door.bp)  # one per door: chalicelib/api/<door>.py


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
    return edge.conditional(event, response)


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
    _sweep("tier_sweep", tier_moves.tier_sweep)


@app.schedule(Rate(1, unit=Rate.MINUTES), name="handoff_sweep")
def handoff_sweep(event):
    """TAKE requests before a handoff; the current holder stays if nobody takes it."""
    from chalicelib.usecases import handoff

    _sweep("handoff_sweep", handoff.sweep)


@app.schedule(Rate(2, unit=Rate.MINUTES), name="reconcile_sweep")
def reconcile_sweep(event):
    """Nothing missed: Twilio's logs of inbound SMS and calls, read back for webhooks that never ran."""
    from chalicelib.channels import sms, twilio_hooks
    from chalicelib.usecases import reconcile

    inbound = reconcile.Inbound(sms=sms.webhook, nothing=twilio_hooks.EMPTY_TWIML)  # the SMS door, handed down
    _sweep("reconcile_sweep", lambda now: reconcile.sweep(now, inbound))


for _methods in app.routes.values():  # every door, shielded (see _shield)
    for _entry in _methods.values():
        _entry.view_function = _shield(_entry.view_function)
