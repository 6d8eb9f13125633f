"""Customers as people: GET and PATCH /contacts/{phone} (issue 38)."""
from __future__ import annotations

from urllib.parse import unquote

from chalice import Blueprint

from chalicelib import clock, lazy
from chalicelib.api.edge import body, staff

contacts = lazy.module("chalicelib.usecases.contacts")

bp = Blueprint(__name__)


@bp.route("/contacts/{phone}", methods=["GET"])
@staff()
def get_contact(principal, phone):
    return contacts.get_json(unquote(phone))


@bp.route("/contacts/{phone}", methods=["PATCH"])
@staff()
def patch_contact(principal, phone):
    return contacts.patch(unquote(phone), body("ContactPatch"), clock.now())
