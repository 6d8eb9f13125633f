"""docs/api-reference.md from the app's own OpenAPI document (every route, its summary, its body).

    .venv/bin/python -m scripts.api_reference > docs/api-reference.md

tests/test_openapi.py fails when the file differs from what this prints: it cannot drift.
"""
from __future__ import annotations


def render() -> str:
    from chalicelib import openapi

    doc = openapi.document()
    lines = ["# API reference (generated from GET /openapi.json)", "",
             "The contract and its rules: [API.md](API.md). Every error is "
             '`{"error": {"code", "message", "field"?}}`. Regenerate with '
             "`.venv/bin/python -m scripts.api_reference > docs/api-reference.md`.", "",
             "| method | path | what | body | answer | auth |", "| --- | --- | --- | --- | --- | --- |"]
    for path in sorted(doc["paths"]):
        for method, op in sorted(doc["paths"][path].items()):
            body = op.get("requestBody", {}).get("content", {})
            body_ref = next((c["schema"].get("$ref", "").split("/")[-1] for c in body.values()), "")
            ok = next(iter(op["responses"]))
            content = op["responses"][ok].get("content", {})
            answer = next((c["schema"].get("$ref", "").split("/")[-1] or t for t, c in content.items()), "")
            auth = ("bearer key" if op.get("security") == [{"bearer": []}] else
                    "chat token" if op.get("security") else "Twilio signature" if path.startswith("/twilio/")
                    else "none")
            summary = op["summary"].replace("|", "\\|")
            lines.append(f"| {method.upper()} | `{path}` | {summary} | {body_ref} | {ok} {answer} | {auth} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render(), end="")
