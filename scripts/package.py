"""`make package`: CloudFormation/SAM for a stage, tables included, into dist/.

The DynamoDB tables are generated from the PynamoDB models (store.py), so
the template cannot drift from the code; `chalice package --merge-template`
merges them into Chalice's SAM template.
"""
from __future__ import annotations

import argparse
import compileall
import json
import os
import py_compile
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _key_schema(keys: list[dict]) -> list[dict]:
    return sorted(({"AttributeName": k["AttributeName"], "KeyType": k["KeyType"]} for k in keys),
                  key=lambda k: k["KeyType"] != "HASH")


def _logical_id(base: str) -> str:
    return "".join(part.capitalize() for part in re.split(r"[_\-]", base)) + "Table"


def resources(prefix: str) -> dict:
    """A CloudFormation fragment declaring every table for TABLE_PREFIX=prefix."""
    os.environ["TABLE_PREFIX"] = prefix
    from chalicelib import store

    out = {}
    for base, info in store.table_schemas().items():
        schema = info["schema"]
        table = {
            "TableName": prefix + base,
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": sorted(schema["attribute_definitions"], key=lambda a: a["AttributeName"]),
            "KeySchema": _key_schema(schema["key_schema"]),
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
            "SSESpecification": {"SSEEnabled": True},
        }
        gsis = [{"IndexName": g["index_name"], "KeySchema": _key_schema(g["key_schema"]),
                 "Projection": g["projection"]} for g in schema.get("global_secondary_indexes", [])]
        if gsis:
            table["GlobalSecondaryIndexes"] = gsis
        if info["ttl"]:
            table["TimeToLiveSpecification"] = {"AttributeName": info["ttl"], "Enabled": True}
        out[_logical_id(base)] = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Retain",
                                  "UpdateReplacePolicy": "Retain", "Metadata": _skip("CKV_AWS_119"),
                                  "Properties": table}
    return {"Resources": out}


FUNCTIONS = ["APIHandler", "PageSweep", "TierSweep", "HandoffSweep", "ReconcileSweep"]
SCHEDULED = ["PageSweep", "TierSweep", "HandoffSweep", "ReconcileSweep"]
RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653]


# checkov's findings on the template that are not fixed, each with the reason (tests/test_package.py
# runs checkov over dist/sam.json and fails on any other finding).
CHECKOV_SKIPS = {
    "CKV_AWS_158": "CloudWatch Logs encrypts every log group at rest; numbers and bodies are masked before "
                   "they are logged, so a customer-managed key adds cost, not protection",
    "CKV_AWS_27": "SQS-managed encryption is on (SqsManagedSseEnabled); this check looks for a KMS key only",
    "CKV_AWS_120": "answers are per caller and change by the second: a cache would serve stale tickets to the "
                   "wrong people, and it is billed by the hour",
    "CKV_AWS_119": "every table is encrypted at rest with the AWS-managed key (SSEEnabled); a customer-managed "
                   "key costs a dollar a month and per request, and adds a key policy to run, for no reader it "
                   "would keep out",
}
CHECKOV_FUNCTION_SKIPS = {
    "CKV_AWS_117": "reaches only DynamoDB, SSM and Twilio over AWS and public endpoints: a VPC would add a NAT "
                   "gateway's cost and cold-start time, and protect nothing",
    "CKV_AWS_116": "a scheduled run that fails goes to the FailedRuns queue through an OnFailure destination "
                   "(AWS's successor to a dead-letter queue); the API is invoked synchronously and answers its "
                   "caller, so a dead-letter queue would never receive anything",
    "CKV_AWS_173": "the environment holds no secret (they are in SSM SecureString, read at run time) and "
                   "Lambda encrypts it at rest with an AWS key",
    "CKV_AWS_115": "a sweep runs once a minute from its schedule and guards its own work with leases; reserving "
                   "concurrency for it would take from the account's pool for nothing",
}


def _skip(*checks: str) -> dict:
    return {"checkov": {"skip": [{"id": c, "comment": CHECKOV_SKIPS[c]} for c in checks]}}


def watch(stage: str) -> dict:
    """The engine watched: alarms to an SNS topic (SMS/e-mail from parameters), an on-failure
    queue for the scheduled functions with its own alarm, and log groups with retention."""
    topic = {"Ref": "AlarmTopic"}

    def alarm(description: str, **props) -> dict:
        return {"Type": "AWS::CloudWatch::Alarm", "Properties": {
            "AlarmDescription": description, "AlarmActions": [topic], "OKActions": [topic],
            "EvaluationPeriods": 1, **props}}

    res: dict = {
        # The alarm topic's own key (issue 33): CloudWatch cannot publish to a topic under the AWS-managed
        # key alias/aws/sns (its key policy grants no service), so every alarm would vanish.
        "AlarmKey": {"Type": "AWS::KMS::Key", "Properties": {
            "Description": f"friday-night {stage}: the alarm topic's messages",
            "EnableKeyRotation": True,
            "KeyPolicy": {"Version": "2012-10-17", "Statement": [
                {"Sid": "TheAccountAdministersIt", "Effect": "Allow",
                 "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
                 "Action": "kms:*", "Resource": "*"},
                # As AWS documents it for alarms to an encrypted topic: the services, no condition (a
                # source-account condition CloudWatch does not send would deny every alarm again).
                {"Sid": "AlarmsAndTopicUseIt", "Effect": "Allow",
                 "Principal": {"Service": ["cloudwatch.amazonaws.com", "sns.amazonaws.com"]},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}]}}},
        "AlarmKeyAlias": {"Type": "AWS::KMS::Alias", "Properties": {
            "AliasName": f"alias/friday-night-{stage}-alarms", "TargetKeyId": {"Ref": "AlarmKey"}}},
        "AlarmTopic": {"Type": "AWS::SNS::Topic", "Properties": {
            "DisplayName": "Friday Night", "KmsMasterKeyId": {"Ref": "AlarmKey"}}},
        "AlarmSms": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmPhone", "Properties": {
            "TopicArn": topic, "Protocol": "sms", "Endpoint": {"Ref": "AlarmPhone"}}},
        "AlarmEmailSubscription": {"Type": "AWS::SNS::Subscription", "Condition": "HasAlarmEmail", "Properties": {
            "TopicArn": topic, "Protocol": "email", "Endpoint": {"Ref": "AlarmEmail"}}},
        "FailedRuns": {"Type": "AWS::SQS::Queue", "Metadata": _skip("CKV_AWS_27"), "Properties": {
            "QueueName": f"friday-night-{stage}-failed-runs", "MessageRetentionPeriod": 1209600,
            "SqsManagedSseEnabled": True}},
        "FailedRunsAlarm": alarm(
            "A scheduled sweep failed after its retries (see the friday-night failed-runs queue)",
            Namespace="AWS/SQS", MetricName="ApproximateNumberOfMessagesVisible",
            Dimensions=[{"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedRuns", "QueueName"]}}],
            Statistic="Maximum", Period=300, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching"),
        "PageSweepStoppedAlarm": alarm(
            "The page sweep has not run for 5 minutes: pages and retries are not going out",
            Namespace="AWS/Lambda", MetricName="Invocations",
            Dimensions=[{"Name": "FunctionName", "Value": {"Ref": "PageSweep"}}],
            Statistic="Sum", Period=300, Threshold=1, ComparisonOperator="LessThanThreshold",
            TreatMissingData="breaching"),
        "PagesDeadAlarm": alarm(
            "A page contact could not be delivered for good (invalid number, STOP, too many attempts)",
            Namespace="FridayNight", MetricName="PagesDead",
            Dimensions=[{"Name": "service", "Value": "friday-night-engine"}],
            Statistic="Sum", Period=300, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching"),
        # SMS pumping (issue 23): new numbers beyond AUTO_REPLY_BUDGET in an hour. An hour's period, so
        # a flood is one alarm (and one OK when it ends), not one per text.
        "AutoReplyBudgetAlarm": alarm(
            "The hour's budget of automatic answers to new numbers is spent (SMS pumping?): their texts open "
            "tickets unanswered; see GET /status and Twilio's geo permissions",
            Namespace="FridayNight", MetricName="AutoReplyBudgetSpent",
            Dimensions=[{"Name": "service", "Value": "friday-night-engine"}],
            Statistic="Sum", Period=3600, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold",
            TreatMissingData="notBreaching"),
        # API Gateway's access log (checkov CKV_AWS_76): method, path without its query string (calendar
        # tokens and report signatures travel there), status, latency; no caller's IP or body.
        "ApiAccessLogs": {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
                          "UpdateReplacePolicy": "Retain", "Metadata": _skip("CKV_AWS_158"), "Properties": {
                              "LogGroupName": f"/friday-night/{stage}/api-access",
                              "RetentionInDays": {"Ref": "LogRetentionDays"}}},
        # API Gateway writes logs with an account-wide role, one setting per region (issue 33): made by the
        # first stage deployed in a region (ManageApiGatewayAccount=true; make deploy decides), never by
        # every stage, so dev and prod live side by side. The role is kept when that stack is deleted:
        # the other stages' access logs go on using it.
        "ApiGatewayLogsRole": {"Type": "AWS::IAM::Role", "Condition": "ManagesApiGatewayAccount",
                               "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "apigateway.amazonaws.com"},
                "Action": "sts:AssumeRole"}]},
            "ManagedPolicyArns": [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/"
                                              "AmazonAPIGatewayPushToCloudWatchLogs"}]}},
        "ApiGatewayAccount": {"Type": "AWS::ApiGateway::Account", "Condition": "ManagesApiGatewayAccount",
                              "DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain", "Properties": {
                                  "CloudWatchRoleArn": {"Fn::GetAtt": ["ApiGatewayLogsRole", "Arn"]}}},
        # API Gateway refuses a stage's access log until the region's logging role is set: the API (and so
        # its deployment and stage) waits for the account setting when this stack makes it. DependsOn cannot
        # name a resource whose condition may be false; a handle that refers to it when present can.
        "ApiGatewayAccountReady": {"Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": {
            "AccountSetting": {"Fn::If": ["ManagesApiGatewayAccount", {"Ref": "ApiGatewayAccount"}, ""]}}},
        "RestAPI": {"Metadata": _skip("CKV_AWS_120"), "DependsOn": ["ApiGatewayAccountReady"], "Properties": {
            # Any OpenApiVersion makes SAM leave out its extra stage named "Stage" (no access log, no
            # tracing); the body stays Chalice's swagger 2.0 (SAM converts only an openapi body).
            "OpenApiVersion": "3.0.1",
            "TracingEnabled": True,
            "AccessLogSetting": {"DestinationArn": {"Fn::GetAtt": ["ApiAccessLogs", "Arn"]}, "Format": json.dumps({
                "requestId": "$context.requestId", "at": "$context.requestTime", "method": "$context.httpMethod",
                "path": "$context.resourcePath", "status": "$context.status",
                "latency_ms": "$context.responseLatency", "error": "$context.error.messageString"})}}},
    }
    for fn in FUNCTIONS:
        res[f"{fn}ErrorsAlarm"] = alarm(
            f"{fn} raised errors", Namespace="AWS/Lambda", MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": {"Ref": fn}}], Statistic="Sum", Period=300,
            Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold", TreatMissingData="notBreaching")
        res[f"{fn}Logs"] = {"Type": "AWS::Logs::LogGroup", "DeletionPolicy": "Retain",
                            "UpdateReplacePolicy": "Retain", "Metadata": _skip("CKV_AWS_158"), "Properties": {
                                "LogGroupName": f"/friday-night/{stage}/{fn}",
                                "RetentionInDays": {"Ref": "LogRetentionDays"}}}
        # Merged into Chalice's function: its logs go to the group above (with retention).
        res[fn] = {"Properties": {"LoggingConfig": {"LogGroup": {"Ref": f"{fn}Logs"}, "LogFormat": "Text"}}}
    for fn in FUNCTIONS:
        res[fn]["Metadata"] = {"checkov": {"skip": [
            {"id": check, "comment": why} for check, why in CHECKOV_FUNCTION_SKIPS.items()
            if not (check == "CKV_AWS_115" and fn == "APIHandler")]}}
    # The API's flood cap (checkov CKV_AWS_115): a reserved concurrency, when the account has room.
    res["APIHandler"]["Properties"]["ReservedConcurrentExecutions"] = {
        "Fn::If": ["CapApi", {"Ref": "ApiReservedConcurrency"}, {"Ref": "AWS::NoValue"}]}
    for fn in SCHEDULED:
        res[f"{fn}OnFailure"] = {"Type": "AWS::Lambda::EventInvokeConfig", "Properties": {
            "FunctionName": {"Ref": fn}, "Qualifier": "$LATEST", "MaximumRetryAttempts": 2,
            "MaximumEventAgeInSeconds": 300,
            "DestinationConfig": {"OnFailure": {"Destination": {"Fn::GetAtt": ["FailedRuns", "Arn"]}}}}}
    return {
        "Parameters": {
            "AlarmPhone": {"Type": "String", "Default": "", "AllowedPattern": r"^(\+[1-9][0-9]{6,14})?$",
                           "Description": "E.164 phone that gets alarm texts (empty: none)"},
            "AlarmEmail": {"Type": "String", "Default": "", "Description": "e-mail that gets alarms (empty: none)"},
            "ManageApiGatewayAccount": {
                "Type": "String", "Default": "true", "AllowedValues": ["true", "false"],
                "Description": "true for the first stage in a region: sets the region's API Gateway logging role "
                               "(one per account and region). false for every other stage (make deploy decides)."},
            "LogRetentionDays": {"Type": "Number", "Default": 30, "AllowedValues": RETENTION_DAYS},
            "ApiReservedConcurrency": {
                "Type": "Number", "Default": 0, "MinValue": 0, "MaxValue": 1000,
                "Description": "At most this many API requests at once (caps a flood's bill); 0: no cap. New "
                               "accounts have a quota of 10 and cannot reserve any: ask for more first."},
        },
        "Conditions": {
            "HasAlarmPhone": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmPhone"}, ""]}]},
            "HasAlarmEmail": {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]},
            "CapApi": {"Fn::Not": [{"Fn::Equals": [{"Ref": "ApiReservedConcurrency"}, 0]}]},
            "ManagesApiGatewayAccount": {"Fn::Equals": [{"Ref": "ManageApiGatewayAccount"}, "true"]},
        },
        "Resources": res,
        "Outputs": {"AlarmTopicArn": {"Value": topic}, "FailedRunsQueue": {"Value": {"Ref": "FailedRuns"}}},
    }


def gateway_responses() -> dict:
    """API Gateway's own answers in the contract's shape: an unknown route is a 404 {"error": ...}, not
    "Missing Authentication Token"; other gateway errors keep their status. They live inside the API's
    definition (x-amazon-apigateway-gateway-responses), so a change to them changes the definition and SAM
    deploys it: as separate GatewayResponse resources nothing redeployed the stage (issue 33)."""
    from chalicelib.errors import NO_ROUTE_CODE, NO_ROUTE_MESSAGE

    def response(status: str | None, code: str, message: str) -> dict:
        answer = {"responseParameters": {"gatewayresponse.header.Content-Type": "'application/json'"},
                  "responseTemplates": {"application/json": json.dumps({"error": {"code": code,
                                                                                   "message": message}})}}
        if status:
            answer["statusCode"] = status
        return answer

    return {
        "MISSING_AUTHENTICATION_TOKEN": response("404", NO_ROUTE_CODE, NO_ROUTE_MESSAGE),
        "DEFAULT_4XX": response(None, "bad_request", "$context.error.messageString"),
        "DEFAULT_5XX": response(None, "internal", "$context.error.messageString"),
    }


def own_log_groups(template: dict, stage: str) -> None:
    """Each function's role may write exactly its own log group (issue 33): the policy file's stage-wide
    Logs statement becomes, per role, the one group that function's LoggingConfig names, with real ARNs."""
    for fn in FUNCTIONS:
        role = template["Resources"][fn]["Properties"]["Role"]["Fn::GetAtt"][0]
        group = ("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                 f"/friday-night/{stage}/{fn}")
        for policy in template["Resources"][role]["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if statement.get("Sid") == "Logs":
                    statement["Resource"] = [{"Fn::Sub": group}, {"Fn::Sub": group + ":log-stream:*"}]


SETTINGS = {  # template parameter → environment variable (not secret: the secrets are in SSM)
    "TwilioAccountSid": ("TWILIO_ACCOUNT_SID", "^AC[0-9a-f]{32}$", "Twilio account SID (AC...)"),
    "PublicBaseUrl": ("PUBLIC_BASE_URL", "^(https://\\S+)?$", "The API's public stage URL, like "
                      "https://abc.execute-api.eu-central-1.amazonaws.com/api (Twilio signs against it). Empty "
                      "only on a first create, before the URL exists: make deploy then sets it from EndpointURL "
                      "(until then the stage answers 503, half set up)"),
    "SupportNumber": ("SUPPORT_NUMBER", "^\\+[1-9][0-9]{6,14}$", "The SMS support number (E.164)"),
    "EmergencyNumber": ("EMERGENCY_NUMBER", "^\\+[1-9][0-9]{6,14}$", "The emergency line (E.164)"),
}


def settings(template: dict) -> None:
    """Template parameters for the non-secret settings, passed to every function's environment."""
    params = template.setdefault("Parameters", {})
    for name, (_, pattern, description) in SETTINGS.items():
        params[name] = {"Type": "String", "AllowedPattern": pattern, "Description": description}
        if "(" in pattern:  # optional: may be empty (PublicBaseUrl on a first create)
            params[name]["Default"] = ""
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            variables = resource["Properties"].setdefault("Environment", {}).setdefault("Variables", {})
            for name, (var, _, _) in SETTINGS.items():
                variables[var] = {"Ref": name}


def precompile(directory: Path) -> bool:
    """Bytecode for every module under `directory`, as Lambda would otherwise make it at each cold start.

    Lambda's /var/task is read-only, so Python compiles every module it imports from source on
    every cold start and throws the result away. Unchecked-hash pycs (PEP 552) are used without
    looking at the source's mtime, which a zip does not keep exactly (tracebacks still name
    the source's real path: Python fixes it up on load). Returns False if a file did not
    compile (Python 2 leftovers in some wheels: never imported, so never compiled anyway).
    """
    return compileall.compile_dir(str(directory), quiet=2, workers=0,
                                  invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


def add_bytecode(package: Path) -> int:
    """Add `__pycache__/*.cpython-3XX.pyc` beside every module in the deployment zip; returns how many."""
    with tempfile.TemporaryDirectory() as tmp:
        with zipfile.ZipFile(package) as zf:
            present = set(zf.namelist())
            zf.extractall(tmp, members=[n for n in present if n.endswith(".py")])
        precompile(Path(tmp))
        pycs = sorted(p for p in Path(tmp).rglob("*.pyc") if p.relative_to(tmp).as_posix() not in present)
        with zipfile.ZipFile(package, "a", compression=zipfile.ZIP_DEFLATED) as zf:
            for pyc in pycs:
                info = zipfile.ZipInfo(pyc.relative_to(tmp).as_posix(), date_time=(2020, 1, 1, 0, 0, 0))
                info.external_attr = 0o644 << 16  # readable by the Lambda runtime's user
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, pyc.read_bytes())
    return len(pycs)


# A lean package (issue 25): only what the Lambda imports. The rest of each library stays out of
# the zip (tests/test_package.py runs the webhook, chat, staff and sweep paths from the unpacked
# zip alone). Lambda's runtime brings boto3 (Powertools Parameters imports it), not our botocore.
BOTOCORE_SERVICES = ("dynamodb", "ssm")  # botocore/data/<service>/: the services the app calls
TWILIO_DOMAINS = ("api",)  # twilio/rest/<domain>/: Messages and Calls (2010-04-01)
POWERTOOLS = ("logging", "metrics", "shared", "tracing", "middleware_factory", "exceptions", "warnings",
              "utilities/parameters", "utilities/typing", "utilities/jmespath_utils")  # what the app uses
UNUSED = ("aiohttp", "aiohappyeyeballs", "aiohttp_retry", "aiosignal", "attr", "attrs", "frozenlist",
          "multidict", "propcache", "yarl")  # twilio's asynchronous HTTP client: never imported here


def wanted(name: str) -> bool:
    """Whether a file of the zip belongs in the Lambda."""
    from chalicelib.domain import words

    parts = name.split("/")
    if parts[0].split("-")[0] in UNUSED:
        return False
    if parts[0] == "chalicelib" and ("__pycache__" in parts or parts[1] == "langid"):
        return False  # the developer's own bytecode and tables: the package makes its own
    if parts[0] != "chalicelib" and ("tests" in parts[:-1] or parts[:2] == ["pydantic", "v1"]):
        return False  # libraries' own tests; pydantic's 1.x layer
    if parts[0] == "aws_lambda_powertools" and len(parts) > 2:
        inside = "/".join(parts[1:3]) if parts[1] == "utilities" and len(parts) > 3 else parts[1]
        return inside in POWERTOOLS or (parts[1] == "utilities" and len(parts) == 3)
    if parts[:2] == ["botocore", "data"] and len(parts) > 3:
        return parts[2] in BOTOCORE_SERVICES
    if parts[:2] == ["babel", "locale-data"] and len(parts) == 3:
        return parts[2].removesuffix(".dat") in ("root", *words.LANGUAGES)
    if parts[:2] == ["twilio", "rest"] and len(parts) > 3:
        return parts[2] in TWILIO_DOMAINS
    return True


def trim(package: Path) -> tuple[int, int]:
    """Rewrites the zip with only what the Lambda needs; returns (files kept, files dropped)."""
    kept = dropped = 0
    lean = package.with_suffix(".lean.zip")
    with zipfile.ZipFile(package) as src, zipfile.ZipFile(lean, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            if wanted(info.filename):
                out.writestr(info, src.read(info), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
                kept += 1
            else:
                dropped += 1
    lean.replace(package)
    return kept, dropped


def add_language_tables(package: Path) -> int:
    """py3langid's tables for the languages we write, uncompressed in the Lambda (mapped from disk,
    read without numpy: chalicelib/language.py), deflated in the zip. Returns the unpacked size."""
    from chalicelib import language

    with tempfile.TemporaryDirectory() as tmp:
        size = language.write(Path(tmp))
        with zipfile.ZipFile(package, "a", compression=zipfile.ZIP_DEFLATED) as zf:
            for path in sorted(Path(tmp).iterdir()):
                info = zipfile.ZipInfo(f"chalicelib/langid/{path.name}", date_time=(2020, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, path.read_bytes())
    return size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", default="dist")
    args = parser.parse_args(argv)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    stage = config["stages"][args.stage]
    prefix = stage["environment_variables"]["TABLE_PREFIX"]
    build = ROOT / "build"
    build.mkdir(exist_ok=True)
    merge = build / f"resources-{args.stage}.json"
    merged = resources(prefix)
    extra = watch(args.stage)
    merged["Resources"].update(extra.pop("Resources"))
    merged.update(extra)
    merge.write_text(json.dumps(merged, indent=2))
    chalice = Path(sys.executable).with_name("chalice")
    # `chalice package` wants a region even though the template is region-neutral.
    env = dict(os.environ, AWS_DEFAULT_REGION=os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"))
    subprocess.run([str(chalice), "package", "--stage", args.stage, "--merge-template", str(merge),
                    args.out], cwd=ROOT, check=True, env=env)
    kept, dropped = trim(ROOT / args.out / "deployment.zip")
    print(f"{args.out}/deployment.zip: {kept} files the Lambda uses, {dropped} left out")
    size = add_language_tables(ROOT / args.out / "deployment.zip")
    print(f"{args.out}/deployment.zip: the language detector's tables, {size / 1e6:.1f} MB unpacked")
    template = json.loads((ROOT / args.out / "sam.json").read_text())
    runtime = {r["Properties"].get("Runtime") for r in template["Resources"].values()
               if r["Type"] == "AWS::Serverless::Function"}
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    if runtime == {here}:  # bytecode is per Python version: only for the runtime this interpreter is
        count = add_bytecode(ROOT / args.out / "deployment.zip")
        print(f"{args.out}/deployment.zip: bytecode for {count} modules ({here}, unchecked-hash)")
    else:
        print(f"{args.out}/deployment.zip: no bytecode added (runtime {runtime}, this interpreter {here})")
    settings(template)
    own_log_groups(template, args.stage)
    template["Resources"]["RestAPI"]["Properties"]["DefinitionBody"][
        "x-amazon-apigateway-gateway-responses"] = gateway_responses()
    (ROOT / args.out / "sam.json").write_text(json.dumps(template, indent=2))
    zipped = (ROOT / args.out / "deployment.zip").stat().st_size
    print(f"{args.out}/deployment.zip: {zipped / 1e6:.1f} MB zipped (Lambda takes 50 MB uploaded directly)")
    tables = [k for k, v in template["Resources"].items() if v["Type"] == "AWS::DynamoDB::Table"]
    print(f"{args.out}/sam.json: {len(template['Resources'])} resources, tables: {', '.join(sorted(tables))}")
    env = stage["environment_variables"]
    print("\nSecrets live in SSM Parameter Store (SecureString), never in the template. Create them once:")
    for var, what in (("TWILIO_AUTH_TOKEN_PARAM", "<your Twilio auth token>"),
                      ("ADMIN_API_KEY_PARAM", "<a long random admin key, e.g. openssl rand -hex 24>")):
        print(f"  aws ssm put-parameter --name {env[var]} --type SecureString --value '{what}'")
    print("Then deploy (the settings are asked for, or taken from the environment; see README \"Deploy\"):")
    print(f"  make deploy STAGE={args.stage}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
