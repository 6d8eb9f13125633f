"""What every door shares: who may come in (staff), the parsed body and query, the error shape."""
from __future__ import annotations

import functools
import hashlib
import json
import re

from chalice import Response

from chalicelib import clock, config, lazy
from chalicelib.errors import ApiError, BadRequest
from chalicelib.logs import logger

validate = lazy.module("chalicelib.validate")
auth = lazy.module("chalicelib.auth")  # staff routes only: Twilio's webhooks are checked by signature
schemas = lazy.module("chalicelib.schemas")
signin = lazy.module("chalicelib.usecases.signin")
console = lazy.module("chalicelib.channels.console")
twilio_hooks = lazy.module("chalicelib.channels.twilio_hooks")
_APP = []


def bind(app) -> None:
    """The Chalice app whose current request the doors read (app.py binds it)."""
    _APP[:] = [app]


def request():
    return _APP[0].current_request


FORM = ["application/x-www-form-urlencoded"]  # Twilio's webhooks


_STORED_LATER = "Thanks - we have your message and a person will answer. No need to send it again."
# Every page and script (issue 23): it is what it says it is, and it tells no other site where it was read.
_PAGE_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


def _error(err: ApiError) -> Response:
    return Response(err.body(), status_code=err.status, headers={"Content-Type": "application/json"})


def staff(role: str = "agent"):
    """Route decorator: a bearer API key or the console's session cookie (with X-CSRF-Token on a
    change) required; `role="admin"` for admin routes."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            headers = request().headers
            if headers.get("authorization") or not headers.get("cookie"):
                principal = auth.authenticate(headers.get("authorization"))
            else:
                principal = signin.principal(signin.token_from(headers.get("cookie")), request().method,
                                             headers.get("x-csrf-token"), clock.now())
            auth.require(principal, role)
            return view(principal, *args, **kwargs)

        return wrapper

    return decorate


def body(model: str) -> dict:
    """The request's JSON object, checked against its model in chalicelib/schemas.py (the same
    model the OpenAPI document shows); the use case then checks what only it knows."""
    data = validate.json_object(request().raw_body)
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
    params = request().query_params
    return _Query(params) if params else {}


def ticket_number(raw: str) -> int:
    if not re.fullmatch(r"[0-9]{1,12}", raw):
        raise BadRequest("ticket_id", f"{raw[:20]!r} is not a ticket number; use digits like 42")
    return int(raw)


def created(payload: dict) -> Response:
    return Response(payload, status_code=201)


def _asset(name: str, content_type: str) -> Response:
    """A console file, with an ETag: a browser that has it gets 304 and no body."""
    text, etag = console.asset(name)
    headers = {"Content-Type": content_type, "ETag": etag, "Cache-Control": "no-cache", **_PAGE_HEADERS}
    if request().headers.get("if-none-match") == etag:
        return Response("", status_code=304, headers=headers)
    return Response(text, headers=headers)


# --- the edge of every request: a stage half set up, a webhook that could not finish, the unexpected

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
    logger.warning("webhook could not finish", extra={"path": path, "code": code})
    if path == "/twilio/sms/fallback":
        return Response(twilio_hooks.messages_twiml([_STORED_LATER]), headers={"Content-Type": "text/xml"})
    if path == "/twilio/voice/fallback":
        return Response(twilio_hooks.sorry_call(), headers={"Content-Type": "text/xml"})
    empty = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
    return Response(empty, status_code=503, headers={"Content-Type": "text/xml", "Retry-After": "5"})




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
            logger.exception("unhandled error", extra={"path": request().path,
                                                        "error_type": type(exc).__name__})
            raise _Internal("something went wrong on our side; it has been logged") from None

    return shielded



def conditional(event, response: Response) -> Response:
    """Every JSON answer carries someone's data: no browser or proxy keeps it (`Cache-Control:
    private, no-store`). A GET's JSON gets an ETag (a hash of the answer); a poll that sends it back
    in If-None-Match and would get the same answer gets 304 and no body (issue 36: the console polls
    its inbox, tickets and team every few seconds, nine hours a day)."""
    body = response.body
    if not isinstance(body, (dict, list)):
        return response
    headers = response.headers if response.headers is not None else {}
    response.headers = headers
    headers.setdefault("Cache-Control", "private, no-store")
    if getattr(event, "method", "") != "GET" or response.status_code != 200:
        return response
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":"), default=str).encode())
    etag = f'"{digest.hexdigest()[:32]}"'
    headers["ETag"] = etag
    asked = (getattr(event, "headers", None) or {}).get("if-none-match") or ""
    if etag in {tag.strip().removeprefix("W/") for tag in asked.split(",")}:
        return Response("", status_code=304, headers={"ETag": etag, "Cache-Control": headers["Cache-Control"]})
    return response
