"""The doors (issue 35): every route, method, view, content type and the OpenAPI document exactly as
they were before app.py was split into blueprints (tests/data/doors.json was written from the
single-file app.py). Regenerate it only for a deliberate change of the contract:
    .venv/bin/python -m tests.test_doors > tests/data/doors.json
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

SNAPSHOT = Path(__file__).resolve().parent / "data" / "doors.json"


def doors() -> dict:
    from app import app
    from chalicelib import openapi

    table = {path: {method: {"view": entry.view_name, "content_types": sorted(entry.content_types),
                             "api_key_required": entry.api_key_required,
                             "authorizer": getattr(entry.authorizer, "name", None)}
                    for method, entry in sorted(methods.items())}
             for path, methods in sorted(app.routes.items())}
    schedules = sorted((s.name, s.schedule_expression.to_string(), s.handler_string) for s in app.event_sources)
    return {"routes": table, "schedules": schedules, "openapi": openapi.document("https://friday.example/api")}


@pytest.mark.pure
def test_the_route_table_and_the_openapi_document_are_as_they_were():
    now = json.loads(json.dumps(doors(), sort_keys=True))
    assert now == json.loads(SNAPSHOT.read_text())


if __name__ == "__main__":
    print(json.dumps(doors(), indent=1, sort_keys=True))
