"""Signing in to the console: a code by SMS, the session cookie."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import clock, lazy
from chalicelib.api.edge import body
from chalicelib.errors import Unauthorized

signin = lazy.module("chalicelib.usecases.signin")

bp = Blueprint(__name__)


@bp.route("/auth/code", methods=["POST"])
def auth_code():
    return Response(signin.request_code(body("CodeRequest"), clock.now()), status_code=202)


@bp.route("/auth/session", methods=["POST"])
def auth_sign_in():
    answer, token = signin.open_session(body("SignInInput"), clock.now())
    return Response(answer, headers={"Set-Cookie": signin.cookie(token), "Cache-Control": "no-store"})


@bp.route("/auth/session", methods=["GET"])
def auth_whoami():
    now = clock.now()
    session = signin.current(signin.token_from(bp.current_request.headers.get("cookie")), now)
    if session is None:
        raise Unauthorized("not signed in", code="missing_credentials")
    signin.principal(signin.token_from(bp.current_request.headers.get("cookie")), "GET", None, now)  # still staff?
    return Response({"person": signin.whoami(session.person_id), "csrf": session.csrf, "now": now.isoformat()},
                    headers={"Cache-Control": "no-store"})


@bp.route("/auth/session", methods=["DELETE"])
def auth_sign_out():
    signin.close(signin.token_from(bp.current_request.headers.get("cookie")))
    return Response({"signed_out": True}, headers={"Set-Cookie": signin.cookie("", clear=True)})
