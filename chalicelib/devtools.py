"""Local mode only: the demo team and the /dev routes. Never deployed.

The local runner (scripts/run_local.py) calls `register(app)`, so these routes
do not exist in the packaged app.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from chalice import Chalice

from chalicelib import notify, store
from chalicelib.usecases import oncall, people

DEMO_TEAM = [
    {"name": "Ana Lopez", "phone": "+4915100000001", "role": "admin", "tier": 1},
    {"name": "Ben Okafor", "phone": "+4915100000002", "role": "agent", "tier": 1},
    {"name": "Chloe Martin", "phone": "+4915100000003", "role": "agent", "tier": 2},
]


def seed(now: datetime) -> list[tuple[dict, str]]:
    """Creates the demo team and a weekly rota once; returns [(person json, api key)]."""
    existing, _ = store.list_people(limit=1)
    if existing:
        return []
    out = []
    for member in DEMO_TEAM:
        person, key = people.create(dict(member), now)
        out.append((people.person_json(person), key))
    oncall.put_rota({"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"},
                     "shift_days": 7, "members": [p["id"] for p, _ in out],
                     "start": (now - timedelta(days=7)).date().isoformat()}, now)
    return out


def register(app: Chalice) -> None:
    @app.route("/dev/outbox", methods=["GET"])
    def dev_outbox():
        """Outbound SMS and calls that would have gone through Twilio."""
        return {"items": notify.outbox(), "next": None}
