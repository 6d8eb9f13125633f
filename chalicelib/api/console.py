"""The staff console's pages and assets (a client of the JSON API)."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import clock, lazy
from chalicelib.api.edge import _PAGE_HEADERS, _asset, ticket_number
from chalicelib.errors import NotFound

console = lazy.module("chalicelib.channels.console")
signin = lazy.module("chalicelib.usecases.signin")
words = lazy.module("chalicelib.domain.words")

bp = Blueprint(__name__)


def _console_language() -> str:
    """The console's language: the signed-in person's (people.language), else the browser's, else
    the business language."""
    headers = bp.current_request.headers
    token = signin.token_from(headers.get("cookie"))
    person = signin.person_of(token, clock.now()) if token else None
    return (words.supported(person.language if person is not None else None)
            or words.from_accept_language(headers.get("accept-language")) or words.business())


def _console_page(depth: int) -> Response:
    return Response(console.page(depth, _console_language()), headers={
        "Content-Type": "text/html; charset=utf-8", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
        "X-Frame-Options": "DENY", "Vary": "Cookie, Accept-Language", **_PAGE_HEADERS,
        "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                   "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"})


@bp.route("/console", methods=["GET"])
def console_inbox():
    return _console_page(0)


@bp.route("/console/{page}", methods=["GET"])
def console_section(page):
    if page not in console.PAGES:
        raise NotFound(f"the console has no page {page[:40]!r}", code="not_found")
    return _console_page(1)


@bp.route("/console/tickets/{ticket_id}", methods=["GET"])
def console_ticket(ticket_id):
    ticket_number(ticket_id)
    return _console_page(2)


@bp.route("/console.js", methods=["GET"])
def console_script():
    return _asset("console.js", "application/javascript; charset=utf-8")


@bp.route("/console.css", methods=["GET"])
def console_styles():
    return _asset("console.css", "text/css; charset=utf-8")
