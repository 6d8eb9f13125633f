"""The deploy rehearsal's parts (tests/test_deploy.py): moto's CloudFormation made to hold what it skips,
an IAM evaluator that reads ARNs, and the recorder that runs the unpacked package as Lambda would.

moto's own IAM check matches DynamoDB and SSM calls against `*`, so it cannot tell a role that may read
one table from one that may read them all: `allowed` below matches each call's real ARN against the
role's statements, as IAM does (actions and resources with `*` and `?`, Deny over Allow, the conditions
the stage's policy uses).
"""
from __future__ import annotations

import contextlib
import fnmatch
import json
from collections.abc import Iterator


@contextlib.contextmanager
def moto_as_cloudformation() -> Iterator[None]:
    """Two gaps of moto's CloudFormation filled, for the rehearsal only (never in the product):
    - a RestApi takes its name from `Name` only, and moto imports no swagger 2.0 body: the API is
      named from the body's title and the body imported as the OpenAPI 3 document it otherwise is
      (paths, methods, Lambda integrations), so its Deployment has methods to deploy;
    - a change set's execution leaves the stack's parameters and outputs as they were at its
      creation: they are brought up to date, as CloudFormation does."""
    from moto.apigateway import models as apigateway
    from moto.cloudformation import models as cloudformation

    create_api = apigateway.RestAPI.create_from_cloudformation_json.__func__
    apply_change_set = cloudformation.ChangeSet.apply

    def create(cls, name, cf_json, account_id, region_name, **kwargs):
        props = cf_json["Properties"]
        body = props.pop("Body", None) or {}
        props.setdefault("Name", body.get("info", {}).get("title", name))
        api = create_api(cls, name, cf_json, account_id, region_name, **kwargs)
        if body:
            document = {k: v for k, v in body.items() if k != "swagger"}
            document["openapi"] = "3.0.1"
            document["paths"] = {p: v for p, v in body["paths"].items() if p != "/"}
            apigateway.apigateway_backends[account_id][region_name].put_rest_api(api.id, document, False)
        return api

    def apply(self):
        apply_change_set(self)
        self.stack.parameters = self.parameters
        self.stack.template = self.template  # a created stack began as {}: its outputs were none
        self.stack._parse_template()
        self.stack.output_map = self.stack._create_output_map()

    apigateway.RestAPI.create_from_cloudformation_json = classmethod(create)
    cloudformation.ChangeSet.apply = apply
    try:
        yield
    finally:
        apigateway.RestAPI.create_from_cloudformation_json = classmethod(create_api)
        cloudformation.ChangeSet.apply = apply_change_set


# ---- IAM, with ARNs --------------------------------------------------------------------------------

def _matches(pattern: str, value: str, *, case: bool) -> bool:
    if not case:
        pattern, value = pattern.lower(), value.lower()
    return fnmatch.fnmatchcase(value, pattern)  # IAM's * and ? (fnmatch's [..] never occurs in our ARNs)


def _condition_holds(condition: dict, context: dict) -> bool:
    for operator, tests in condition.items():
        for key, wanted in tests.items():
            wanted = wanted if isinstance(wanted, list) else [wanted]
            have = context.get(key)
            if have is None:
                return False
            have = have if isinstance(have, list) else [have]
            any_value = operator.startswith("ForAnyValue:")
            op = operator.split(":")[-1]
            if op not in ("StringLike", "StringEquals"):
                raise AssertionError(f"the evaluator does not know {operator}")
            like = op == "StringLike"
            hits = [any(_matches(w, h, case=True) if like else w == h for w in wanted) for h in have]
            if not (any(hits) if any_value else all(hits)):
                return False
    return True


def allowed(statements: list[dict], action: str, resource: str, context: dict | None = None) -> bool:
    """Whether a role with these statements may do `action` on `resource` (an ARN)."""
    verdict = False
    for s in statements:
        actions = s.get("Action", [])
        resources = s.get("Resource", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        if not any(_matches(a, action, case=False) for a in actions):
            continue
        if not any(_matches(r, resource, case=True) for r in resources):
            continue
        if "Condition" in s and not _condition_holds(s["Condition"], context or {}):
            continue
        if s["Effect"] == "Deny":
            return False
        verdict = True
    return verdict


def requests_of(service: str, operation: str, params: dict, region: str, account: str) -> list[tuple[str, str]]:
    """The (IAM action, resource ARN) pairs a botocore call is authorised as."""
    def table(name: str) -> str:
        return f"arn:aws:dynamodb:{region}:{account}:table/{name}"

    if service == "dynamodb":
        if operation in ("TransactWriteItems", "TransactGetItems"):
            pairs = []
            for item in params["TransactItems"]:
                (kind, body), = item.items()
                action = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                          "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}[kind]
                pairs.append((f"dynamodb:{action}", table(body["TableName"])))
            return pairs
        if operation in ("BatchGetItem", "BatchWriteItem"):
            return [(f"dynamodb:{operation}", table(name)) for name in params["RequestItems"]]
        arn = table(params["TableName"])
        if params.get("IndexName"):
            arn += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", arn)]
    if service == "ssm":
        names = params.get("Names") or [params["Name"]]
        return [(f"ssm:{operation}", f"arn:aws:ssm:{region}:{account}:parameter/{n.lstrip('/')}") for n in names]
    raise AssertionError(f"the package called {service}.{operation}: the rehearsal knows no ARN for it")


# ---- the package, run as Lambda runs it ---------------------------------------------------------

# Appended to bench.firstrequest's prelude (Twilio answered in the process, the clock on a Friday
# night): every botocore call of the run is written down with its parameters, then each event is
# handed to its function's handler. "@@3.session_id@@" in an event is a field of answer 3.
RUN = r'''
import botocore.client
CALLS = []
_real = botocore.client.BaseClient._make_api_call
def _recorded(self, operation, params):
    CALLS.append([HANDLER[0], self.meta.service_model.service_name, operation, params])
    return _real(self, operation, params)
botocore.client.BaseClient._make_api_call = _recorded
HANDLER = [None]
from types import SimpleNamespace
import app
answers, bodies = [], []
for handler, event in EVENT:
    text = json.dumps(event)
    for i, body in enumerate(bodies):
        for key, value in (body.items() if isinstance(body, dict) else []):
            text = text.replace(f"@@{i}.{key}@@", str(value))
    HANDLER[0] = handler
    context = SimpleNamespace(function_name=handler, memory_limit_in_mb=512, aws_request_id="rehearsal",
                              invoked_function_arn="arn:aws:lambda:eu-central-1:123456789012:function:" + handler,
                              get_remaining_time_in_millis=lambda: 20000)
    answer = getattr(app, handler)(json.loads(text), context)
    if isinstance(answer, dict):
        answers.append([answer["statusCode"], str(answer.get("body", ""))[:4000]])
        try:
            bodies.append(json.loads(answer.get("body") or "null"))
        except ValueError:
            bodies.append(None)
    else:  # a sweep answers None; one that fails raises
        answers.append([200, ""])
        bodies.append(None)
print(json.dumps({"answers": answers, "calls": CALLS, "twilio": TWILIO_SENT}, default=str))
'''


def table_names(calls: list) -> set[str]:
    names = set()
    for _, service, _, params in calls:
        if service == "dynamodb":
            names |= {p.get("TableName") for p in [params]} - {None}
            names |= set(params.get("RequestItems", {}))
            names |= {next(iter(i.values()))["TableName"] for i in params.get("TransactItems", [])}
    return names


def dumps(value) -> str:
    return json.dumps(value, indent=1, default=str)[:3000]


def serve(port: int) -> None:
    """moto's server on 127.0.0.1:port with the two gaps filled, in a process of its own (so no
    in-process mock of another test can reset it); runs until killed."""
    import logging
    import threading

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with moto_as_cloudformation():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        print("ready", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    import sys
    import warnings

    warnings.simplefilter("ignore")  # moto's "not supported by moto's CloudFormation" for each alarm
    serve(int(sys.argv[1]))
