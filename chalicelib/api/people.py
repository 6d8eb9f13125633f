"""The team: people, the team's names, one's own profile."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib import clock, config, lazy, store
from chalicelib.api.edge import body, created, query, staff

auth = lazy.module("chalicelib.auth")
people = lazy.module("chalicelib.usecases.people")
words = lazy.module("chalicelib.domain.words")

bp = Blueprint(__name__)


@bp.route("/people", methods=["POST"])
@staff("admin")
def create_person(principal):
    person, key = people.create(body("PersonInput"), clock.now())
    return created(people.person_json(person, api_key=key))


@bp.route("/people", methods=["GET"])
@staff("admin")
def list_people(principal):
    return people.list_json(query())


@bp.route("/team", methods=["GET"])
@staff()
def team_names(principal):
    """Colleagues by name (to assign a ticket, to ask for a swap): no phone numbers, any staff."""
    return {"items": [{"id": p.id, "name": p.name, "role": p.role, "tier": p.tier, "timezone": p.timezone}
                      for p in sorted(store.all_people(), key=lambda p: p.name)]}


@bp.route("/people/me", methods=["GET"])
@staff()
def my_profile(principal):
    """The caller as a Person, whoever it is (issue 23: the bootstrap key answered another shape)."""
    if principal.actor.id != auth.BOOTSTRAP_ID:
        return people.person_json(people.get(principal.actor.id))
    return {"id": auth.BOOTSTRAP_ID, "name": "Admin (bootstrap key)", "phone": None, "role": "admin", "tier": 1,
            "timezone": config.business_timezone(), "language": words.business(), "created_at": None}


@bp.route("/people/{person_id}", methods=["GET"])
@staff("admin")
def get_person(principal, person_id):
    return people.person_json(people.get(person_id))


@bp.route("/people/{person_id}", methods=["PATCH"])
@staff("admin")
def update_person(principal, person_id):
    return people.person_json(people.update(person_id, body("PersonPatch")))


@bp.route("/people/{person_id}", methods=["DELETE"])
@staff("admin")
def delete_person(principal, person_id):
    people.delete(person_id, principal.actor, clock.now())
    return Response("", status_code=204)
