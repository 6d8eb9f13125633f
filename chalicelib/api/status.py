"""The engine's own doors: the OpenAPI document, GET /status, the policy."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib import clock, config, lazy
from chalicelib.api.edge import body, staff

health = lazy.module("chalicelib.usecases.health")
oncall = lazy.module("chalicelib.usecases.oncall")
openapi = lazy.module("chalicelib.openapi")
tiers = lazy.module("chalicelib.usecases.tiers")

bp = Blueprint(__name__)


@bp.route("/openapi.json", methods=["GET"])
def openapi_document():
    return openapi.document(config.public_base_url())


@bp.route("/status", methods=["GET"])
@staff("admin")
def engine_status(principal):
    """The engine's health: sweep heartbeats, the outbox, reconciliation (README: "Is it running?")."""
    return health.status(clock.now())


@bp.route("/policy", methods=["GET"])
@staff()
def get_policy(principal):
    return tiers.policy()


@bp.route("/policy", methods=["PUT"])
@staff("admin")
def put_policy(principal):
    return oncall.put_policy(body("PolicyInput"), clock.now())
