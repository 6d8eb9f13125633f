"""The web chat: its page, script and widget, and the chat sessions' JSON."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import clock, config, lazy
from chalicelib.api.edge import _PAGE_HEADERS, body, created, query

chat = lazy.module("chalicelib.usecases.chat")
expectations = lazy.module("chalicelib.expectations")
validate = lazy.module("chalicelib.validate")
webchat = lazy.module("chalicelib.channels.webchat")
words = lazy.module("chalicelib.domain.words")

bp = Blueprint(__name__)


@bp.route("/chat", methods=["GET"])
def chat_page():
    # Same origin only (scripts, styles, requests), no inline script; framed on the company's own
    # site by widget.js. The greeting says what is true now (out of hours: when we answer).
    # The visitor's choice from the page's menu (?lang=de), else their browser's language.
    lang = (words.supported((bp.current_request.query_params or {}).get("lang"))
            or words.from_accept_language(bp.current_request.headers.get("accept-language")))
    return Response(webchat.page(expectations.chat_greeting(clock.now(), lang), lang or words.business()), headers={
        "Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
        **_PAGE_HEADERS,
        # Framed by the widget on the company's own site: only there when WIDGET_ORIGINS names it.
        "Content-Security-Policy": "default-src 'self'; script-src 'self'; "
                                   "style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; "
                                   f"form-action 'self'; frame-ancestors {config.frame_ancestors()}"})


@bp.route("/chat.js", methods=["GET"])
def chat_script():
    return Response(webchat.script(), headers={"Content-Type": "application/javascript; charset=utf-8",
                                               "Cache-Control": "public, max-age=300", **_PAGE_HEADERS})


@bp.route("/widget.js", methods=["GET"])
def chat_widget():
    """The chat on the company's own site: a launcher button that opens /chat in an iframe, in the
    visitor's language (`?lang=` on the script's address, else their browser's)."""
    lang = (words.supported((bp.current_request.query_params or {}).get("lang"))
            or words.from_accept_language(bp.current_request.headers.get("accept-language")) or words.business())
    return Response(webchat.widget(lang), headers={"Content-Type": "application/javascript; charset=utf-8",
                                                   "Cache-Control": "public, max-age=300", "Vary": "Accept-Language",
                                                   **_PAGE_HEADERS})


@bp.route("/chat/sessions", methods=["POST"])
def start_chat():
    identity = bp.current_request.context.get("identity") or {}
    return created(chat.start(body("ChatStart"), identity.get("sourceIp") or "unknown", clock.now()))


@bp.route("/chat/sessions/{session_id}/messages", methods=["POST"])
def post_chat_message(session_id):
    now = clock.now()
    session = chat.open_session(session_id, bp.current_request.headers.get("authorization"), now)
    # The chat's hot path checks its two fields in the use case (chat.post: the same rules as
    # ChatMessageInput, which tests/test_openapi.py holds it to) without loading pydantic: a cold
    # chat answers 60 ms sooner (issue 25).
    return created(chat.post(session, validate.json_object(bp.current_request.raw_body), now))


@bp.route("/chat/sessions/{session_id}/messages", methods=["GET"])
def poll_chat_messages(session_id):
    now = clock.now()
    session = chat.open_session(session_id, bp.current_request.headers.get("authorization"), now)
    return chat.poll(session, query().get("after"), now)
