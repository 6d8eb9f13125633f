"""Templates: the answers a team writes once."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import clock, lazy
from chalicelib.api.edge import body, created, staff

templates = lazy.module("chalicelib.usecases.templates")

bp = Blueprint(__name__)


@bp.route("/templates", methods=["POST"])
@staff("admin")
def create_template(principal):
    return created(templates.template_json(templates.create(body("TemplateInput"), clock.now())))


@bp.route("/templates", methods=["GET"])
@staff()
def list_templates(principal):
    return templates.list_json()


@bp.route("/templates/{template_id}", methods=["GET"])
@staff()
def get_template(principal, template_id):
    return templates.template_json(templates.get(template_id))


@bp.route("/templates/{template_id}", methods=["PUT"])
@staff("admin")
def update_template(principal, template_id):
    return templates.template_json(templates.update(template_id, body("TemplatePatch"), clock.now()))


@bp.route("/templates/{template_id}", methods=["DELETE"])
@staff("admin")
def delete_template(principal, template_id):
    templates.delete(template_id, clock.now())
    return Response("", status_code=204)
