"""The first deploy, rehearsed offline (issue 33).

`make package STAGE=prod`'s template is turned into CloudFormation by SAM's own translator and created by
`make deploy`'s own script (scripts/deploy.py) in moto's CloudFormation, on a moto server of its own:
created, re-run with nothing changed, updated, and a second stage beside it. Then the stack is compared
with what the app defines and reads (tables, routes, schedules, each function's settings), and a whole
story runs from the unpacked deployment.zip with the created function's environment, every botocore call
written down with its ARN and checked against that function's role by an ARN-aware evaluator, plus what
Lambda itself writes for the function (its log group, the failed-runs queue). What moto cannot create
(alarms, stages, the account setting, gateway responses) is checked on the template as CloudFormation
receives it. `make smoke`'s script runs against a locally served stage.
"""
from __future__ import annotations

import ast
import copy
import json
import os
import shutil
import socket
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests import rehearsal

ROOT = Path(__file__).resolve().parent.parent
REGION, ACCOUNT = "eu-central-1", "123456789012"  # moto's account
TWILIO_SID = "AC" + "d" * 32
TOKEN, ADMIN = "rehearsal-auth-token", "rehearsal-admin-key-0123456789"
SUPPORT, EMERGENCY = "+4930901820", "+4930901821"
FUNCTIONS = {"app": "APIHandler", "page_sweep": "PageSweep", "tier_sweep": "TierSweep",
             "handoff_sweep": "HandoffSweep", "reconcile_sweep": "ReconcileSweep"}
SETTINGS = {"TWILIO_ACCOUNT_SID": TWILIO_SID, "SUPPORT_NUMBER": SUPPORT, "EMERGENCY_NUMBER": EMERGENCY,
            "ALARM_EMAIL": "ops@example.com"}

pytestmark = pytest.mark.own_aws


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    """A moto server in a process of its own, every AWS client of this process pointed at it."""
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "tests.rehearsal", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout.readline().strip() == "ready"
    endpoint = f"http://127.0.0.1:{port}"
    saved = dict(os.environ)
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION,
                      AWS_EC2_METADATA_DISABLED="true", DEPLOY_POLL_SECONDS="1")
    os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
    try:
        yield endpoint
    finally:
        os.environ.clear()
        os.environ.update(saved)
        proc.kill()
        proc.wait()


def _client(service: str):
    import boto3

    return boto3.session.Session().client(service)


def _deploy(stage: str, dist: Path, *overrides: str, **settings) -> tuple[dict, list[str]]:
    from scripts import deploy

    lines: list[str] = []
    environ = {k: v for k, v in os.environ.items() if k not in deploy.ENVIRONMENT.values()}  # the suite's
    environ.update(SETTINGS, **settings)
    outputs = deploy.deploy(stage, dist=dist, overrides=list(overrides), environ=environ, out=lines.append)
    return outputs, lines


def _secrets(stage: str) -> None:
    ssm = _client("ssm")
    ssm.put_parameter(Name=f"/friday-night/{stage}/twilio-auth-token", Value=TOKEN, Type="SecureString",
                      Overwrite=True)
    ssm.put_parameter(Name=f"/friday-night/{stage}/admin-api-key", Value=ADMIN, Type="SecureString",
                      Overwrite=True)


@pytest.fixture(scope="module")
def transformed(packaged):
    """The prod template as CloudFormation receives it from make deploy."""
    import boto3

    from scripts import deploy

    template = json.loads((packaged / "sam.json").read_text())
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    return deploy.sam_transform(template, "bucket", "code.zip", session)


@pytest.fixture(scope="module")
def prod(moto_server, packaged):
    """The prod stack, deployed by make deploy's script into the moto server."""
    _secrets("prod")
    outputs, lines = _deploy("prod", packaged)
    return {"outputs": outputs, "lines": lines}


def _resources(stack: str) -> dict[str, dict]:
    cfn = _client("cloudformation")
    found = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r for r in found}


def _refs(value) -> set[str]:
    """Every logical id a piece of template refers to (Ref, GetAtt, Sub, DependsOn)."""
    out: set[str] = set()
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "Ref" and isinstance(inner, str):
                out.add(inner)
            elif key == "Fn::GetAtt":
                out.add(inner[0] if isinstance(inner, list) else inner.split(".")[0])
            elif key == "Fn::Sub":
                text = inner[0] if isinstance(inner, list) else inner
                out |= {name.split(".")[0] for name in __import__("re").findall(r"\$\{([^}!]+)\}", text)}
                out |= _refs(inner[1]) if isinstance(inner, list) else set()
            else:
                out |= _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            out |= _refs(inner)
    return out


def _waits_for(template: dict, start: str) -> set[str]:
    """Every resource CloudFormation must finish before `start` (its dependencies, transitively)."""
    resources = template["Resources"]
    seen, todo = set(), [start]
    while todo:
        current = todo.pop()
        resource = resources[current]
        depends = resource.get("DependsOn", [])
        for dep in (_refs(resource) | set(depends if isinstance(depends, list) else [depends])) & set(resources):
            if dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return seen


# ---- the template as CloudFormation receives it (what moto skips) -------------------------------

def test_the_api_has_one_stage_after_the_account_setting_and_its_gateway_answers_are_deployed(transformed):
    res = transformed["Resources"]
    stages = {k: v for k, v in res.items() if v["Type"] == "AWS::ApiGateway::Stage"}
    deployments = {k: v for k, v in res.items() if v["Type"] == "AWS::ApiGateway::Deployment"}
    # 6: no stray stage named "Stage" beside "api" (SAM makes one through the Deployment's StageName).
    assert [s["Properties"]["StageName"] for s in stages.values()] == ["api"]
    assert len(deployments) == 1 and all("StageName" not in d["Properties"] for d in deployments.values())
    (stage_id, stage), = stages.items()
    assert stage["Properties"]["AccessLogSetting"]["DestinationArn"] and stage["Properties"]["TracingEnabled"]
    # 3: the stage (its access log) waits for the region's API Gateway logging role when the stack sets it.
    assert "ApiGatewayAccount" in _waits_for(transformed, stage_id)
    assert res["ApiGatewayAccount"]["Condition"] == res["ApiGatewayLogsRole"]["Condition"] == \
        "ManagesApiGatewayAccount"
    assert res["ApiGatewayLogsRole"]["DeletionPolicy"] == "Retain"  # another stage's logs go on using it
    # 5: the gateway's own answers are in the API's definition: a change to them is a new deployment.
    assert not [k for k, v in res.items() if v["Type"] == "AWS::ApiGateway::GatewayResponse"]
    (api_id, api), = [(k, v) for k, v in res.items() if v["Type"] == "AWS::ApiGateway::RestApi"]
    answers = api["Properties"]["Body"]["x-amazon-apigateway-gateway-responses"]
    assert set(answers) == {"MISSING_AUTHENTICATION_TOKEN", "DEFAULT_4XX", "DEFAULT_5XX"}
    missing = answers["MISSING_AUTHENTICATION_TOKEN"]
    assert missing["statusCode"] == "404"
    assert json.loads(missing["responseTemplates"]["application/json"])["error"]["code"] == "not_found"


def test_a_changed_gateway_answer_is_deployed(packaged):
    import boto3

    from scripts import deploy

    template = json.loads((packaged / "sam.json").read_text())
    session = boto3.session.Session(region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
    before = deploy.sam_transform(template, "bucket", "code.zip", session)
    changed = copy.deepcopy(template)
    body = changed["Resources"]["RestAPI"]["Properties"]["DefinitionBody"]
    body["x-amazon-apigateway-gateway-responses"]["DEFAULT_5XX"]["responseTemplates"]["application/json"] = "{}"
    after = deploy.sam_transform(changed, "bucket", "code.zip", session)

    def deployment(t):
        return {k for k, v in t["Resources"].items() if v["Type"] == "AWS::ApiGateway::Deployment"}

    assert deployment(before) != deployment(after)  # a new Deployment: CloudFormation redeploys the stage


def test_alarms_reach_a_topic_whose_key_cloudwatch_may_use(transformed):
    """2: CloudWatch cannot publish to a topic under the AWS-managed key alias/aws/sns."""
    res = transformed["Resources"]
    key_ref = res["AlarmTopic"]["Properties"]["KmsMasterKeyId"]
    assert key_ref != "alias/aws/sns" and set(_refs(key_ref)) == {"AlarmKey"}
    key = res["AlarmKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    grants = [s for s in key["KeyPolicy"]["Statement"]
              if "cloudwatch.amazonaws.com" in json.dumps(s.get("Principal")) and s["Effect"] == "Allow"]
    assert grants and {"kms:Decrypt", "kms:GenerateDataKey*"} <= {a for s in grants for a in s["Action"]}
    alarms = [v["Properties"] for v in res.values() if v["Type"] == "AWS::CloudWatch::Alarm"]
    assert len(alarms) >= 9 and all(a["AlarmActions"] == [{"Ref": "AlarmTopic"}] for a in alarms)


# ---- make deploy against moto ---------------------------------------------------------------------

def test_make_deploy_creates_the_stack_with_its_url_and_a_rerun_changes_nothing(prod, packaged):
    cfn = _client("cloudformation")
    stack = cfn.describe_stacks(StackName="friday-night-prod")["Stacks"][0]
    assert stack["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    endpoint = prod["outputs"]["EndpointURL"]
    assert endpoint.startswith("https://") and endpoint.endswith(".amazonaws.com/api/")
    # A first deploy sets PublicBaseUrl from the stack's own URL (no second manual pass).
    assert params["PublicBaseUrl"] == endpoint.rstrip("/")
    assert params["ManageApiGatewayAccount"] == "true" and params["TwilioAccountSid"] == TWILIO_SID
    lines = "\n".join(prod["lines"])
    assert "artifacts bucket: creating friday-night-artifacts-123456789012-eu-central-1" in lines
    assert "CloudFormation takes inline: from S3" in lines  # 7: the template is over 51,200 bytes
    s3 = _client("s3")
    bucket = "friday-night-artifacts-123456789012-eu-central-1"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # A re-run with nothing changed says so and changes nothing.
    _, again = _deploy("prod", packaged)
    assert any("nothing to change" in line for line in again), again
    assert not any(line.startswith("friday-night-prod: ") and "change" in line and "nothing" not in line
                   for line in again)
    assert any("already there" in line and "deployment.zip" in line for line in again)  # not uploaded again


def test_the_created_stack_is_what_the_app_defines_and_reads(prod, transformed):
    import app as app_module
    from chalicelib import store

    templates = {r["Properties"]["TableName"]: r["Properties"] for r in transformed["Resources"].values()
                 if r["Type"] == "AWS::DynamoDB::Table"}
    assert set(templates) == {f"friday-night-prod-{base}" for base in store.table_schemas()}

    # Tables: names, keys, GSIs and TTL as the models declare them.
    ddb = _client("dynamodb")
    for base, info in store.table_schemas().items():
        table = ddb.describe_table(TableName=f"friday-night-prod-{base}")["Table"]
        schema = info["schema"]
        assert {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]} == \
            {(k["AttributeName"], k["KeyType"]) for k in schema["key_schema"]}, base
        assert {g["IndexName"] for g in table.get("GlobalSecondaryIndexes", [])} == \
            {g["index_name"] for g in schema.get("global_secondary_indexes", [])}, base
        # TTL: moto's CloudFormation does not apply it, so it is read from the template it was given.
        declared = templates[f"friday-night-prod-{base}"].get("TimeToLiveSpecification")
        assert (declared["AttributeName"] if declared and declared["Enabled"] else None) == info["ttl"], base
    # Routes: every route and method the app has, on the API, each to the API function.
    gateway = _client("apigateway")
    api_id = prod["outputs"]["RestAPIId"]
    deployed = {(r["path"], m) for r in gateway.get_resources(restApiId=api_id, limit=500)["items"]
                for m in r.get("resourceMethods", {})}
    defined = {(path, method) for path, methods in app_module.app.routes.items() for method in methods}
    assert deployed == defined
    # Schedules: one rule per scheduled function, at the app's rate, aimed at that function.
    events, lam = _client("events"), _client("lambda")
    resources = _resources("friday-night-prod")
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    for source in app_module.app.event_sources:
        function = FUNCTIONS[source.name]
        arn = lam.get_function(FunctionName=resources[function]["PhysicalResourceId"])["Configuration"]["FunctionArn"]
        aimed = [name for name, rule in rules.items()
                 if any(t["Arn"] == arn for t in events.list_targets_by_rule(Rule=name)["Targets"])]
        assert len(aimed) == 1, (source.name, aimed)
        assert rules[aimed[0]]["ScheduleExpression"] == source.schedule_expression.to_string()
    # Each function's settings: the stage's, the deploy's parameters, the secrets' SSM names only.
    for function in FUNCTIONS.values():
        config = lam.get_function_configuration(FunctionName=resources[function]["PhysicalResourceId"])
        variables = config["Environment"]["Variables"]
        assert variables["FRIDAY_STAGE"] == "prod" and variables["TABLE_PREFIX"] == "friday-night-prod-"
        assert variables["TWILIO_ACCOUNT_SID"] == TWILIO_SID and variables["SUPPORT_NUMBER"] == SUPPORT
        assert variables["PUBLIC_BASE_URL"] == prod["outputs"]["EndpointURL"].rstrip("/")
        assert variables["TWILIO_AUTH_TOKEN_PARAM"] == "/friday-night/prod/twilio-auth-token"
        assert "TWILIO_AUTH_TOKEN" not in variables and "ADMIN_API_KEY" not in variables


def test_an_update_changes_the_stack_and_a_second_stage_leaves_the_region_setting_to_the_first(prod, packaged,
                                                                                                tmp_path):
    _, lines = _deploy("prod", packaged, "LogRetentionDays=90")
    cfn = _client("cloudformation")
    stack = cfn.describe_stacks(StackName="friday-night-prod")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE", lines
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["LogRetentionDays"] == "90"
    # What prod's ApiGatewayAccount does in AWS (moto skips it): the region's logging role is now set.
    role = _resources("friday-night-prod")["ApiGatewayLogsRole"]["PhysicalResourceId"]
    role_arn = _client("iam").get_role(RoleName=role)["Role"]["Arn"]
    _client("apigateway").update_account(patchOperations=[
        {"op": "replace", "path": "/cloudwatchRoleArn", "value": role_arn}])
    # dev beside prod: refused until its secrets exist, then deployed without the account setting.
    dev = tmp_path / "dev"
    subprocess.run([sys.executable, "-m", "scripts.package", "--stage", "dev", "--out", str(dev)], cwd=ROOT,
                   check=True, capture_output=True)
    from scripts import deploy

    with pytest.raises(deploy.Refused) as refused:
        _deploy("dev", dev)
    assert "/friday-night/dev/twilio-auth-token is missing" in str(refused.value)
    assert "aws ssm put-parameter --name /friday-night/dev/admin-api-key --type SecureString" in str(refused.value)
    assert "friday-night-dev" not in {s["StackName"] for s in cfn.list_stacks()["StackSummaries"]}
    _secrets("dev")
    _deploy("dev", dev)
    dev_stack = cfn.describe_stacks(StackName="friday-night-dev")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in dev_stack["Parameters"]}[
        "ManageApiGatewayAccount"] == "false"
    dev_resources = _resources("friday-night-dev")
    assert "ApiGatewayLogsRole" not in dev_resources and "ApiGatewayAccount" not in dev_resources
    assert "friday-night-dev-tickets" in _client("dynamodb").list_tables()["TableNames"]
    # prod, deployed again, keeps making the region's setting: it is the stack that owns it.
    _deploy("prod", packaged)
    stack = cfn.describe_stacks(StackName="friday-night-prod")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["ManageApiGatewayAccount"] == "true"


def test_make_deploy_refuses_before_changing_anything(moto_server, packaged, tmp_path, capsys):
    from scripts import deploy

    s3 = _client("s3")
    buckets = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    nowhere = {"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
               "AWS_EC2_METADATA_DISABLED": "true"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | nowhere
    run = subprocess.run([sys.executable, "-m", "scripts.deploy", "--stage", "prod", "--dist", str(packaged)],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.splitlines() == [
        "deploy: no AWS credentials: run `aws configure` (or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
        "AWS_SECRET_ACCESS_KEY)",
        "deploy: no AWS region: set AWS_REGION (e.g. AWS_REGION=eu-central-1) or pass --region",
        "deploy: nothing was changed"]
    with pytest.raises(deploy.Refused, match=r"SUPPORT_NUMBER='0151 2345' is not valid"):
        _deploy("prod", packaged, SUPPORT_NUMBER="0151 2345")
    with pytest.raises(deploy.Refused, match="no stage 'local' to deploy"):
        _deploy("local", packaged)
    with pytest.raises(deploy.Refused, match="packaged for prod, not dev"):
        _deploy("dev", packaged)
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == buckets


# ---- the story, from the package, with the created functions' settings and roles -----------------

def _signed(path: str, params: dict, base: str, token: str = TOKEN) -> dict:
    from twilio.request_validator import RequestValidator

    from bench import firstrequest as fr

    signature = RequestValidator(token).compute_signature(base + path, params)
    return fr._event("POST", path, path, urlencode(params), {
        "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})


def _sms(sender: str, body: str, n: int, base: str, **kwargs) -> dict:
    return _signed("/twilio/sms", {"MessageSid": f"SM{n:032d}", "AccountSid": TWILIO_SID, "From": sender,
                                   "To": SUPPORT, "Body": body, "NumMedia": "0"}, base, **kwargs)


def test_a_whole_story_runs_from_the_package_and_every_aws_call_is_allowed_by_its_role(
        prod, packaged, moto_server, transformed, tmp_path):
    from bench import firstrequest as fr

    lam, iam = _client("lambda"), _client("iam")
    resources = _resources("friday-night-prod")
    configs = {fn: lam.get_function_configuration(FunctionName=resources[fn]["PhysicalResourceId"])
               for fn in FUNCTIONS.values()}
    environments = {fn: c["Environment"]["Variables"] for fn, c in configs.items()}
    assert all(e == environments["APIHandler"] for e in environments.values())  # one set of settings
    base = environments["APIHandler"]["PUBLIC_BASE_URL"]
    admin = {"Authorization": f"Bearer {ADMIN}", "Content-Type": "application/json"}
    ana, ben, customer = "+4915100000001", "+4915100000002", "+4917712345678"
    e = fr._event
    events = [
        ["app", e("POST", "/people", "/people", json.dumps({"name": "Ana Lopez", "phone": ana, "role": "admin"}),
                  admin)],
        ["app", e("POST", "/people", "/people", json.dumps({"name": "Ben Okafor", "phone": ben}), admin)],
        ["app", e("PUT", "/rota", "/rota", json.dumps({
            "timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"}, "shift_days": 7,
            "members": ["@@0.id@@", "@@1.id@@"], "start": "2026-11-20"}), admin)],
        ["app", _sms(customer, "Hallo, meine Bestellung 5521 ist nicht angekommen", 1, base)],   # 3: ticket #1
        ["app", _sms("+4917798765432", "URGENT the shop is down, nobody can pay", 2, base)],      # 4: #2 paged
        ["app", _sms(ana, "who", 3, base)],                                                       # 5: staff
        ["app", _sms(ana, "ack 2", 4, base)],
        ["app", _sms(ana, "2 on it, Ana here", 5, base)],
        ["app", _signed("/twilio/voice", {"CallSid": "CA" + "3" * 32, "AccountSid": TWILIO_SID,
                                          "From": "+4917700000003", "To": EMERGENCY, "CallStatus": "ringing"},
                        base)],                                                                   # 8: a call
        ["app", e("POST", "/chat/sessions", "/chat/sessions", json.dumps({"name": "Mia"}),
                  {"Content-Type": "application/json", "Accept-Language": "fr-FR"})],
        ["app", e("POST", "/chat/sessions/{session_id}/messages", "/chat/sessions/@@9.session_id@@/messages",
                  json.dumps({"text": "Bonjour, ma commande"}),
                  {"Content-Type": "application/json", "Authorization": "Bearer @@9.token@@"},
                  {"session_id": "@@9.session_id@@"})],
        ["app", e("GET", "/tickets", "/tickets", None, admin)],
        ["app", e("GET", "/tickets/{ticket_id}", "/tickets/2", None, admin, {"ticket_id": "2"})],
        ["app", e("POST", "/tickets/{ticket_id}/resolve", "/tickets/1/resolve", "{}", admin, {"ticket_id": "1"})],
        ["app", e("GET", "/people", "/people", None, admin)],
        ["app", e("GET", "/reports/monthly", "/reports/monthly", None, admin, query={"month": "2026-12"})],
        ["app", e("GET", "/rota/schedule", "/rota/schedule", None, admin)],
        ["app", e("GET", "/rota.ics", "/rota.ics", None, admin)],
        *[[sweep, {"version": "0", "id": "rehearsal", "detail-type": "Scheduled Event", "source": "aws.events",
                   "account": ACCOUNT, "time": "2026-12-04T21:00:00Z", "region": REGION, "resources": [],
                   "detail": {}}] for sweep in ("page_sweep", "tier_sweep", "handoff_sweep", "reconcile_sweep")],
        ["app", e("GET", "/status", "/status", None, admin)],
        ["app", _sms(customer, "signed with the wrong token", 9, base, token="not-the-token")],   # refused
    ]
    task = tmp_path / "task"
    with zipfile.ZipFile(packaged / "deployment.zip") as zf:
        zf.extractall(task)
    runtime = tmp_path / "runtime"  # what Lambda's runtime adds to the path
    runtime.mkdir()
    import boto3
    import s3transfer

    for module in (boto3, s3transfer):
        shutil.copytree(Path(module.__file__).parent, runtime / module.__name__)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_", "POWERTOOLS_", "PYTHON"))
           and k not in ("FRIDAY_STAGE", "TABLE_PREFIX", "ADMIN_API_KEY", "SUPPORT_NUMBER", "EMERGENCY_NUMBER",
                         "PUBLIC_BASE_URL")}
    env.update(environments["APIHandler"])  # the created function's own settings, nothing else of ours
    env.update(AWS_ENDPOINT_URL=moto_server, AWS_ACCESS_KEY_ID="rehearsal", AWS_SECRET_ACCESS_KEY="rehearsal",
               AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, PYTHONDONTWRITEBYTECODE="1",
               BENCH_NOW="2026-12-04T22:00:00+01:00")
    code = fr._PRELUDE + f"sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]\n" + rehearsal.RUN
    run = subprocess.run([sys.executable, "-S", "-c", code], cwd=task, env=env, input=json.dumps(events),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    answers, calls = result["answers"], result["calls"]
    for (handler, event), (status, body) in zip(events[:-1], answers[:-1], strict=True):
        assert status < 300, (handler, event.get("path"), status, body)
    assert answers[-1][0] == 403  # an unsigned (wrongly signed) webhook is refused
    assert "Ticket #1" in answers[3][1]
    assert "#2" in answers[4][1] and any(url.endswith("/Messages.json") for url in result["twilio"])
    assert "<Dial" in answers[8][1]
    assert json.loads(answers[13][1])["status"] == "resolved"
    assert answers[17][1].startswith("BEGIN:VCALENDAR")
    status = json.loads(answers[-2][1])
    assert not any(sweep["stale"] for sweep in status["sweeps"].values())
    assert rehearsal.table_names(calls) <= {f"friday-night-prod-{base}" for base in __import__(
        "chalicelib.store", fromlist=["table_schemas"]).table_schemas()}

    # Every call, by the function that made it, against that function's role, with real ARNs.
    def statements(function: str) -> list[dict]:
        role = configs[function]["Role"].rsplit("/", 1)[1]
        out = []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            if isinstance(document, str):  # moto keeps a CloudFormation-made policy as Python's repr
                document = json.loads(document) if document.startswith('{"') else ast.literal_eval(document)
            out += document["Statement"]
        return out

    roles = {fn: statements(fn) for fn in FUNCTIONS.values()}
    denied, checked = [], 0
    for handler, service, operation, params in calls:
        for action, arn in rehearsal.requests_of(service, operation, params, REGION, ACCOUNT):
            checked += 1
            if not rehearsal.allowed(roles[FUNCTIONS[handler]], action, arn):
                denied.append((FUNCTIONS[handler], action, arn))
    assert not denied, denied
    assert checked > 80 and {s for _, s, _, _ in calls} == {"dynamodb", "ssm"}
    assert {FUNCTIONS[h] for h, *_ in calls} == set(FUNCTIONS.values())  # every function called AWS
    # What Lambda writes for each function with its role: its log group (and no other's); the
    # scheduled functions' failed runs to the queue.
    # (moto keeps no LoggingConfig: the group each function logs to is read from the template it was given)
    tres = transformed["Resources"]
    groups = {fn: tres[tres[fn]["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]]["Properties"]["LogGroupName"]
              for fn in FUNCTIONS.values()}
    queue_url = resources["FailedRuns"]["PhysicalResourceId"]
    queue_arn = _client("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"]["QueueArn"]
    for function, group in groups.items():
        assert group == f"/friday-night/prod/{function}"
        arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}"
        stream = f"{arn}:log-stream:2026/12/04/[$LATEST]0123456789abcdef"
        assert rehearsal.allowed(roles[function], "logs:CreateLogStream", arn), function
        assert rehearsal.allowed(roles[function], "logs:PutLogEvents", stream), function
        for other, other_group in groups.items():  # exactly its own
            if other != function:
                assert not rehearsal.allowed(roles[function], "logs:PutLogEvents",
                                             f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{other_group}:log-stream:x")
        if function != "APIHandler":
            assert rehearsal.allowed(roles[function], "sqs:SendMessage", queue_arn), function
        # Nothing beyond the stage: another stage's tables, another stage's secret.
        assert not rehearsal.allowed(roles[function], "dynamodb:GetItem",
                                     f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/friday-night-dev-tickets")
        assert not rehearsal.allowed(roles[function], "ssm:GetParameters",
                                     f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/friday-night/dev/admin-api-key")
        assert not rehearsal.allowed(roles[function], "dynamodb:Scan",
                                     f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/friday-night-prod-tickets")


def test_the_evaluator_reads_arns():
    statements = [{"Effect": "Allow", "Action": ["dynamodb:Query"],
                   "Resource": ["arn:aws:dynamodb:*:*:table/friday-night-prod-*/index/*"]},
                  {"Effect": "Allow", "Action": "logs:*", "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/x*"},
                  {"Effect": "Deny", "Action": "dynamodb:*", "Resource": "*:table/friday-night-prod-secret*"}]
    table = "arn:aws:dynamodb:eu-central-1:123456789012:table/friday-night-prod-tickets"
    assert rehearsal.allowed(statements, "dynamodb:Query", table + "/index/by_status")
    assert not rehearsal.allowed(statements, "dynamodb:Query", table)  # the table is not its index
    assert not rehearsal.allowed(statements, "dynamodb:GetItem", table + "/index/by_status")
    assert not rehearsal.allowed(statements, "logs:PutLogEvents",
                                 "arn:aws:logs:eu-central-1:1:log-group:/friday-night/prod/X:log-stream:s")
    assert not rehearsal.allowed(statements, "dynamodb:Query",
                                 "arn:aws:dynamodb:eu-central-1:1:table/friday-night-prod-secrets/index/a")
    assert rehearsal.requests_of("dynamodb", "TransactWriteItems", {"TransactItems": [
        {"Put": {"TableName": "t1"}}, {"ConditionCheck": {"TableName": "t2"}}]}, "r", "1") == [
        ("dynamodb:PutItem", "arn:aws:dynamodb:r:1:table/t1"), ("dynamodb:ConditionCheckItem",
                                                                 "arn:aws:dynamodb:r:1:table/t2")]


# ---- make smoke -----------------------------------------------------------------------------------

def test_make_smoke_passes_against_a_locally_served_stage_and_fails_on_a_wrong_key(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TWILIO_", "FRIDAY_", "TABLE_"))
           and k not in ("ADMIN_API_KEY", "SUPPORT_NUMBER", "EMERGENCY_NUMBER", "PUBLIC_BASE_URL")}
    env.update(PORT=str(port), SCHEDULE_TICK_SECONDS="3600")
    proc = subprocess.Popen([sys.executable, "-m", "scripts.run_local"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:
            if line.startswith("Serving on"):
                break
        smoke = dict(env, SMOKE_URL=f"http://127.0.0.1:{port}", ADMIN_API_KEY="local-admin-key",
                     TWILIO_AUTH_TOKEN="local-auth-token", SUPPORT_NUMBER="+15005550006",
                     SMOKE_FROM="+4917711112222")
        run = subprocess.run([sys.executable, "-m", "scripts.smoke", "--stage", "local"], cwd=ROOT, env=smoke,
                             capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout + run.stderr
        lines = run.stdout.splitlines()
        assert [line.split(":")[0] for line in lines[1:5]] == [
            "smoke 1/4 GET /status", "smoke 2/4 a signed test SMS", "smoke 3/4 its ticket in GET /tickets",
            "smoke 4/4 the ticket resolved"]
        assert lines[4].endswith("is resolved") and lines[5].endswith("works end to end")
        wrong = subprocess.run([sys.executable, "-m", "scripts.smoke", "--stage", "local"], cwd=ROOT,
                               env=dict(smoke, TWILIO_AUTH_TOKEN="wrong"), capture_output=True, text=True,
                               timeout=120)
        assert wrong.returncode == 1
        assert "smoke 2/4 a signed test SMS: FAILED, answered 403" in wrong.stdout
    finally:
        proc.terminate()
        proc.wait(timeout=10)
