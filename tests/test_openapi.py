"""GET /openapi.json describes every route, and fuzzing it finds no 500."""
from __future__ import annotations

import schemathesis

from app import app
from chalicelib import openapi
from tests.data import ADMIN_KEY


def test_every_route_is_described(api):
    doc = api.get("/openapi.json").json_body
    assert doc["openapi"].startswith("3.")
    missing = [f"{method} {path}" for path, methods in app.routes.items() for method in methods
               if method.lower() not in doc["paths"].get(path, {})]
    assert missing == []
    extra = [f"{m} {p}" for p, ms in doc["paths"].items() for m in ms
             if p not in app.routes or m.upper() not in app.routes[p]]
    assert extra == []


def test_the_document_is_valid_openapi(monkeypatch):
    monkeypatch.setenv("FN_API_KEY", ADMIN_KEY)  # schemathesis.toml's header
    schema = schemathesis.openapi.from_dict(openapi.document("http://127.0.0.1"))
    assert len(list(schema.get_all_operations())) >= len(openapi.PATHS)


def test_schemathesis_with_every_check_and_every_phase_finds_nothing(live_server, api):
    """The CLI as anyone would run it against `make run` (schemathesis.toml: the phone format, the
    few rules JSON Schema cannot say): every check (`--checks all`: no 500, status codes, content
    types and response schemas as documented, schema-valid requests accepted, invalid ones refused,
    405 with Allow for other methods, ...) over the examples, coverage, fuzzing and stateful
    phases, reproducibly (a fixed seed)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    cli = Path(sys.executable).parent / "schemathesis"
    def schemathesis():
        return subprocess.run(
            [str(cli), "run", f"{live_server}/openapi.json", "--url", live_server, "--checks", "all",
             "--phases", "examples,coverage,fuzzing,stateful", "--max-examples", "5", "--seed", "1", "--no-color"],
            cwd=root, env={**os.environ, "FN_API_KEY": ADMIN_KEY}, capture_output=True, text=True, timeout=1200)

    run = schemathesis()
    if run.returncode and "=== FAILURES" not in run.stdout and "Network Error" in run.stdout:
        # A dropped loopback connection on a loaded 2-core machine (seen once in CI) is no finding: the
        # same seeded run once more. Any failure of a check still fails here, the first time.
        run = schemathesis()
    report = run.stdout[run.stdout.find("=== FAILURES"):] if "=== FAILURES" in run.stdout else run.stdout[-3000:]
    assert run.returncode == 0, report[:6000] + run.stderr[-2000:]
    assert "Failures:" not in run.stdout and " passed" in run.stdout, run.stdout[-3000:]


# Routes on a cold start's hot path check their body in the use case without loading pydantic
# (issue 25); the model the document names and the use case must agree on every body.
HOT_PATHS = {"post_chat_message": "ChatMessageInput"}


def test_a_hot_path_checks_its_body_as_its_model_does():
    from chalicelib import schemas, validate
    from chalicelib.errors import BadRequest

    def use_case(body):  # what chat.post checks before it writes anything
        validate.unknown_fields(body, {"text", "echo_id"})
        validate.text(body, "text", max_len=2000)
        validate.text(body, "echo_id", required=False, max_len=64)

    bodies = [{"text": "hello"}, {"text": "é" * 2000, "echo_id": "c1"}, {"text": "hi", "echo_id": None}, {},
              {"text": None}, {"text": 5}, {"text": ["a"]}, {"text": "x" * 2001}, {"text": "hi", "echo_id": "e" * 65},
              {"text": "hi", "echo_id": 7}, {"text": "hi", "more": 1}, {"text": ""}]
    for body in bodies:
        outcomes = []
        for check in (lambda b: schemas.parse(schemas.ChatMessageInput, b), use_case):
            try:
                check(dict(body))
                outcomes.append(None)
            except BadRequest as exc:
                outcomes.append(exc.field or "?")
        assert (outcomes[0] is None) == (outcomes[1] is None), (body, outcomes)


def test_every_json_body_is_checked_by_the_model_the_document_names():
    """The route's code and the document name the same model (a route without one fails here)."""
    import ast
    import pathlib

    from chalicelib import schemas

    root = pathlib.Path(__file__).resolve().parent.parent
    doors = [root / "app.py", *sorted((root / "chalicelib" / "api").glob("*.py"))]  # the blueprints (issue 35)
    used: dict[str, str] = {}
    for node in (n for door in doors for n in ast.walk(ast.parse(door.read_text()))):
        if isinstance(node, ast.FunctionDef):
            calls = [c for c in ast.walk(node) if isinstance(c, ast.Call) and isinstance(c.func, ast.Name)
                     and c.func.id == "body" and c.args and isinstance(c.args[0], ast.Constant)]
            for c in calls:
                used[node.name] = c.args[0].value
    used.update(HOT_PATHS)  # checked in their use case by the model's rules (the test below)
    doc = openapi.document()
    for path, methods in app.routes.items():
        for method, entry in methods.items():
            op = doc["paths"][path][method.lower()]
            content = op.get("requestBody", {}).get("content", {})
            documented = content.get("application/json", {}).get("schema", {}).get("$ref", "").split("/")[-1]
            in_code = used.get(entry.view_name)
            assert documented == (in_code or ""), (method, path, documented, in_code)
            if in_code:
                model = getattr(schemas, in_code)
                assert model in schemas.REQUESTS
                assert doc["components"]["schemas"][in_code]["properties"].keys() == model.model_fields.keys()
    assert set(used.values()) == {m.__name__ for m in schemas.REQUESTS}  # every model is used


def test_documented_answers_match_what_the_routes_return(api, twilio, team, clock_at, schedule):
    """Real answers of a short story, each validated by the pydantic model its path documents."""
    import re

    from chalicelib import schemas

    doc = openapi.document()

    def check(method: str, path: str, r, template: str | None = None):
        template = template or path.split("?")[0]
        op = doc["paths"][template][method]
        ref = op["responses"][str(r.status_code)]["content"]["application/json"]["schema"]["$ref"]
        getattr(schemas, ref.split("/")[-1]).model_validate(r.json_body)
        return r.json_body

    check("get", "/people/me", api.get("/people/me", key=team["ben"]["api_key"]))
    check("get", "/people/me", api.get("/people/me"))  # the bootstrap key is a Person too (issue 23)
    check("get", "/people", api.get("/people"))
    t = check("post", "/tickets", api.post("/tickets", {"text": "printer broken", "contact": "+4917700000001"}))
    path = f"/tickets/{t['id']}"
    check("get", "/tickets/{ticket_id}", api.get(path))
    check("get", "/tickets", api.get("/tickets?status=open"))
    check("post", "/tickets/{ticket_id}/reply", api.post(path + "/reply", {"text": "on it"}))
    twilio.phone("+4917700000001").expect_sms("on it")
    check("post", "/tickets/{ticket_id}/ack", api.post(path + "/ack"))
    check("post", "/tickets/{ticket_id}/resolve", api.post(path + "/resolve"))
    check("get", "/rota", api.get("/rota"))
    check("get", "/oncall", api.get("/oncall"))
    check("get", "/oncall/plan", api.get("/oncall/plan"))
    schedule("handoff_sweep")
    check("get", "/rota/stats", api.get("/rota/stats?year=2026"))
    check("get", "/rota/shifts", api.get("/rota/shifts"))
    check("get", "/rota/schedule", api.get("/rota/schedule"))
    check("post", "/rota/overrides", api.post("/rota/overrides", {
        "person_id": team["ben"]["id"], "start": "2026-12-01T09:00:00+01:00", "end": "2026-12-01T18:00:00+01:00"}))
    check("put", "/rota", api.put("/rota", {"timezone": "Europe/Berlin", "handoff": {"weekday": "Friday",
                                                                                     "time": "18:00"},
                                            "shift_days": 7, "members": [team["ana"]["id"], team["ben"]["id"]],
                                            "start": "2026-11-20"}))
    check("post", "/rota/ics-token", api.post("/rota/ics-token"))
    check("get", "/policy", api.get("/policy"))
    check("get", "/status", api.get("/status"))
    tpl = check("post", "/templates", api.post("/templates", {"name": "hi", "body": "Hello {first_name}"}))
    check("get", "/templates", api.get("/templates"))
    check("put", "/templates/{template_id}", api.put(f"/templates/{tpl['id']}", {"category": None}))
    check("get", "/reports/monthly", api.get("/reports/monthly?month=2026-11"))
    session = check("post", "/chat/sessions", api.post("/chat/sessions", {"name": "Mike"}, key=None))
    auth = {"Authorization": f"Bearer {session['token']}"}
    msgs = f"/chat/sessions/{session['session_id']}/messages"
    check("post", "/chat/sessions/{session_id}/messages", api.post(msgs, {"text": "hello"}, key=None, headers=auth))
    check("get", "/chat/sessions/{session_id}/messages", api.get(msgs, key=None, headers=auth))
    for bad in (api.post("/people", {"name": 5}), api.get("/tickets/99"), api.get("/people", key=None)):
        schemas.Error.model_validate(bad.json_body)
        assert re.fullmatch(r"4\d\d", str(bad.status_code))
    twilio.inbox.clear()


def test_the_webhook_path_does_not_load_pydantic():
    import subprocess
    import sys

    code = ("import sys, app, chalicelib.channels.sms, chalicelib.channels.voice, chalicelib.usecases.delivery, "
            "chalicelib.usecases.tickets; print('pydantic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=str(__import__("pathlib").Path(__file__).resolve().parent.parent))
    assert out.stdout.strip() == "False"


def test_the_docs_in_the_repo_match_the_app():
    """README's contract lives in docs/: API.md (the contract; every route it names exists) and
    api-reference.md (generated from this document: regenerate when a route changes)."""
    import pathlib
    import re

    from scripts import api_reference

    docs = pathlib.Path(__file__).resolve().parent.parent / "docs"
    assert (docs / "api-reference.md").read_text() == api_reference.render(), \
        "run: .venv/bin/python -m scripts.api_reference > docs/api-reference.md"
    contract = (docs / "API.md").read_text()
    named = set(re.findall(r"`(?:GET|POST|PUT|PATCH|DELETE)(?:\|[A-Z]+)* (/[^ `?]*)", contract))
    routes = {re.sub(r"\{[^}]+\}", "{}", p) for p in app.routes}
    assert named and {re.sub(r"\{[^}]+\}", "{}", p) for p in named} <= routes
