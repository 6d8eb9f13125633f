"""On call: the rota, overrides, swaps, shift records, the calendar feed."""
from __future__ import annotations

from datetime import timedelta

from chalice import Blueprint, Response

from chalicelib import clock, lazy, store
from chalicelib.api.edge import body, created, query, staff
from chalicelib.errors import Forbidden

auth = lazy.module("chalicelib.auth")
calendar_feed = lazy.module("chalicelib.usecases.calendar_feed")
handoff = lazy.module("chalicelib.usecases.handoff")
oncall = lazy.module("chalicelib.usecases.oncall")
shifts = lazy.module("chalicelib.usecases.shifts")
swaps = lazy.module("chalicelib.usecases.swaps")
validate = lazy.module("chalicelib.validate")

bp = Blueprint(__name__)


@bp.route("/rota/swaps", methods=["POST"])
@staff()
def ask_swap(principal):
    data = body("SwapInput")
    me = None if principal.actor.id == auth.BOOTSTRAP_ID else store.get_person(principal.actor.id)
    return created(swaps.ask_swap(me, data, clock.now()))


@bp.route("/rota/swaps", methods=["GET"])
@staff()
def list_swaps(principal):
    return swaps.swaps_for(None if principal.actor.id == auth.BOOTSTRAP_ID else principal.actor.id, clock.now())


@bp.route("/rota/swaps/{swap_id}/accept", methods=["POST"])
@staff()
def accept_swap(principal, swap_id):
    me = store.get_person(principal.actor.id)
    if me is None:
        raise Forbidden("the bootstrap admin key is nobody: sign in as the colleague asked", code="not_a_person")
    return swaps.accept_swap(me, clock.now(), swap_id=swap_id[:40])


@bp.route("/rota", methods=["PUT"])
@staff("admin")
def put_rota(principal):
    return oncall.put_rota(body("RotaInput"), clock.now())


@bp.route("/rota", methods=["GET"])
@staff()
def get_rota(principal):
    return oncall.rota_json()


@bp.route("/rota/overrides", methods=["POST"])
@staff("admin")
def add_override(principal):
    return created(oncall.add_override(body("OverrideInput"), clock.now(), actor_id=principal.actor.id))


@bp.route("/rota/overrides/{override_id}", methods=["DELETE"])
@staff("admin")
def delete_override(principal, override_id):
    oncall.delete_override(override_id, clock.now())
    return Response("", status_code=204)


@bp.route("/oncall", methods=["GET"])
@staff()
def get_oncall(principal):
    return oncall.oncall(validate.instant(query().get("at"), "at") or clock.now())


@bp.route("/oncall/plan", methods=["GET"])
@staff("admin")
def get_oncall_plan(principal):
    """Dry run: the paging timeline an urgent ticket at `at` would produce."""
    return handoff.plan(validate.instant(query().get("at"), "at") or clock.now())


@bp.route("/rota/shifts", methods=["GET"])
@staff("admin")
def get_rota_shifts(principal):
    """What happened on the emergency phone (shift records) between `from` and `to` (default: 4 weeks)."""
    q = query()
    return shifts.history_json(validate.instant(q.get("from"), "from"), validate.instant(q.get("to"), "to"),
                               clock.now())


@bp.route("/rota/stats", methods=["GET"])
@staff("admin")
def get_rota_stats(principal):
    year = validate.query_int(query(), "year", minimum=2000, maximum=2100) or clock.now().year
    return handoff.stats(year, clock.now())


@bp.route("/rota/schedule", methods=["GET"])
@staff()
def get_schedule(principal):

    q, now = query(), clock.now()
    frm = validate.instant(q.get("from"), "from") or now
    to = validate.instant(q.get("to"), "to") or frm + timedelta(days=28)
    return oncall.schedule(frm, to, now)


@bp.route("/rota.ics", methods=["GET"])
def rota_ics():
    """Calendar apps send no headers: a per-rota token in the query instead."""
    authorization = bp.current_request.headers.get("authorization")
    if authorization:  # a bearer key works too (API.md v1.1)
        auth.authenticate(authorization)
    doc = oncall.check_ics_token(query().get("token"), principal_ok=bool(authorization))
    return Response(calendar_feed.ics(doc, clock.now()), headers={"Content-Type": "text/calendar; charset=utf-8"})


@bp.route("/rota/ics-token", methods=["POST"])
@staff("admin")
def rotate_ics_token(principal):
    """A new calendar token: the old link stops working."""
    return oncall.rotate_ics_token(clock.now())
