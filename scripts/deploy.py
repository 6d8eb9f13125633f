"""`make deploy STAGE=prod`: the stack created or updated from this machine, with boto3 alone.

    TWILIO_ACCOUNT_SID=AC... SUPPORT_NUMBER=+49... EMERGENCY_NUMBER=+49... ALARM_EMAIL=ops@example.com \\
        make deploy STAGE=prod

What it does, in order (nothing is changed before every check has passed):
1. Checks: AWS credentials and a region, the stage's two SSM secrets (it prints the commands that
   create them when missing), the settings a first deploy needs, each value against the template's
   own pattern, and `dist/` built for this stage (`make deploy` runs `make package` first).
2. The artifacts bucket `friday-night-artifacts-<account>-<region>`, created when missing: private
   (public access blocked), encrypted (SSE-S3), versioned, TLS only, old versions expire.
3. The package uploaded (named by its SHA-256: an unchanged package is not uploaded again), the SAM
   template turned into plain CloudFormation by SAM's own translator with the package's S3 location,
   and uploaded too (too big to pass inline: CloudFormation takes 51,200 bytes inline, 1 MB from S3).
4. A change set, its changes printed, executed and waited for; the outputs printed. Nothing changed:
   it says so and stops. A first deploy creates the stack without PublicBaseUrl (the URL does not exist
   yet; the stage answers 503 until it is set), then sets it from the stack's EndpointURL at once.

Settings come from the environment (TWILIO_ACCOUNT_SID, SUPPORT_NUMBER, EMERGENCY_NUMBER, ALARM_PHONE,
ALARM_EMAIL, LOG_RETENTION_DAYS, API_RESERVED_CONCURRENCY, PUBLIC_BASE_URL) or `--set Name=value`
(template parameter names); an update keeps every value not given. The region's API Gateway logging
role is made by the first stage deployed in the region (ManageApiGatewayAccount), never by a second.
No SAM CLI, no Docker.
"""
from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# template parameter → environment variable that may give it
ENVIRONMENT = {
    "TwilioAccountSid": "TWILIO_ACCOUNT_SID",
    "SupportNumber": "SUPPORT_NUMBER",
    "EmergencyNumber": "EMERGENCY_NUMBER",
    "PublicBaseUrl": "PUBLIC_BASE_URL",
    "AlarmPhone": "ALARM_PHONE",
    "AlarmEmail": "ALARM_EMAIL",
    "LogRetentionDays": "LOG_RETENTION_DAYS",
    "ApiReservedConcurrency": "API_RESERVED_CONCURRENCY",
}
INLINE_LIMIT = 51_200  # bytes CloudFormation takes as TemplateBody
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
        "IMPORT_ROLLBACK_COMPLETE"}


class Refused(Exception):
    """A reason not to go on, said before anything was changed: one line each."""


def stack_name(stage: str) -> str:
    return f"friday-night-{stage}"


def stage_config(stage: str) -> dict:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    if stage not in config["stages"] or stage == "local":
        deployable = ", ".join(s for s in config["stages"] if s != "local")
        raise Refused(f"no stage {stage!r} to deploy (.chalice/config.json has {deployable})")
    return config["stages"][stage]["environment_variables"]


# ---- 1. checks, before anything changes ---------------------------------------------------------

def session_and_account(region: str | None):
    """boto3's session with credentials and a region, and the account id; Refused otherwise."""
    import boto3
    import botocore.exceptions

    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    problems = []
    if session.get_credentials() is None:
        problems.append("no AWS credentials: run `aws configure` (or set AWS_PROFILE, or AWS_ACCESS_KEY_ID "
                        "and AWS_SECRET_ACCESS_KEY)")
    if not session.region_name:
        problems.append("no AWS region: set AWS_REGION (e.g. AWS_REGION=eu-central-1) or pass --region")
    if problems:
        raise Refused("\n".join(problems))
    try:
        account = session.client("sts").get_caller_identity()["Account"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        raise Refused(f"AWS does not accept these credentials: {e}") from e
    return session, account


def check_secrets(session, env: dict) -> None:
    names = [env["TWILIO_AUTH_TOKEN_PARAM"], env["ADMIN_API_KEY_PARAM"]]
    found = session.client("ssm").get_parameters(Names=names, WithDecryption=False)
    missing = [n for n in names if n not in {p["Name"] for p in found["Parameters"]}]
    if missing:
        lines = [f"the SSM parameter {name} is missing (a SecureString: the stage's secret)" for name in missing]
        lines.append("create it first, e.g.:")
        what = {env["TWILIO_AUTH_TOKEN_PARAM"]: "'<your Twilio auth token>'",
                env["ADMIN_API_KEY_PARAM"]: '"$(openssl rand -hex 24)"'}
        lines += [f"  aws ssm put-parameter --name {n} --type SecureString --value {what[n]}" for n in missing]
        raise Refused("\n".join(lines))


def given_settings(template: dict, overrides: list[str], environ: dict) -> dict[str, str]:
    """Template parameter → value given on this run (environment or --set), each checked against the
    template's own AllowedPattern / AllowedValues."""
    params = template["Parameters"]
    given = {name: environ[var].strip() for name, var in ENVIRONMENT.items()
             if name in params and environ.get(var, "").strip()}
    for item in overrides:
        name, sep, value = item.partition("=")
        if not sep or name not in params:
            raise Refused(f"--set {item!r}: expected Name=value with Name one of {', '.join(sorted(params))}")
        given[name] = value
    problems = []
    for name, value in given.items():
        spec = params[name]
        var = ENVIRONMENT.get(name, name)
        if "AllowedPattern" in spec and not re.fullmatch(spec["AllowedPattern"].strip("^$"), value):
            problems.append(f"{var}={value!r} is not valid: {spec.get('Description', spec['AllowedPattern'])}")
        if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
            problems.append(f"{var}={value!r} is not one of {', '.join(str(v) for v in spec['AllowedValues'])}")
    if problems:
        raise Refused("\n".join(problems))
    return given


def parameters(template: dict, given: dict[str, str], existing: dict[str, str] | None) -> list[dict]:
    """The change set's parameters: given values, else (on an update) the stack's, else the default.
    A first deploy without a required setting is refused, naming its variable."""
    out, missing = [], []
    for name, spec in template["Parameters"].items():
        if name in given:
            out.append({"ParameterKey": name, "ParameterValue": given[name]})
        elif existing is not None and name in existing:
            out.append({"ParameterKey": name, "UsePreviousValue": True})
        elif "Default" not in spec:
            missing.append(f"{ENVIRONMENT.get(name, name)} is needed for a first deploy ({spec.get('Description')})")
    if missing:
        raise Refused("\n".join(missing))
    return out


def manage_account_setting(session, existing: dict[str, str] | None) -> str:
    """'true' when this stack makes the region's API Gateway logging role (it already does, or nobody
    has set one), 'false' when another stage (or anything else) already set it."""
    if existing is not None and existing.get("ManageApiGatewayAccount") == "true":
        return "true"
    account = session.client("apigateway").get_account()
    return "false" if account.get("cloudwatchRoleArn") else "true"


# ---- 2. and 3. the bucket, the package, the template --------------------------------------------

def ensure_bucket(s3, bucket: str, region: str, out) -> None:
    import botocore.exceptions

    try:
        s3.head_bucket(Bucket=bucket)
        return
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchBucket", "NotFound"):
            raise Refused(f"the artifacts bucket {bucket} exists but is not yours to use: {e}") from e
    out(f"artifacts bucket: creating {bucket} (private, encrypted, versioned)")
    create = {"Bucket": bucket}
    if region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": region}
    s3.create_bucket(**create)
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
        "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "old-versions", "Status": "Enabled", "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}]})
    if not s3.meta.endpoint_url.startswith("https://"):
        return  # a local stand-in for S3 (the rehearsal) speaks plain HTTP: TLS-only would lock it out
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))


def upload(s3, bucket: str, key: str, data: bytes, out) -> None:
    import botocore.exceptions

    try:
        s3.head_object(Bucket=bucket, Key=key)
        out(f"s3://{bucket}/{key}: already there")
        return
    except botocore.exceptions.ClientError as e:
        if e.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    out(f"s3://{bucket}/{key}: uploaded ({len(data) / 1e6:.1f} MB)")


def sam_transform(template: dict, bucket: str, key: str, session) -> dict:
    """The SAM template as CloudFormation creates it, by SAM's own translator (what CloudFormation's
    AWS::Serverless transform would do), every function's code at s3://bucket/key."""
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    sam = copy.deepcopy(template)
    for resource in sam["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = {"Bucket": bucket, "Key": key}
    # The translator reads the partition from the default session's region.
    os.environ.setdefault("AWS_DEFAULT_REGION", session.region_name)
    return transform(sam, {}, ManagedPolicyLoader(session.client("iam")))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---- 4. the change set ---------------------------------------------------------------------------

def describe(cfn, name: str) -> dict | None:
    import botocore.exceptions

    try:
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    except botocore.exceptions.ClientError as e:
        if "does not exist" in str(e):
            return None
        raise


def wait(cfn, waiter: str, **kwargs) -> None:
    delay = float(os.environ.get("DEPLOY_POLL_SECONDS", "10"))
    cfn.get_waiter(waiter).wait(WaiterConfig={"Delay": max(1, int(delay)), "MaxAttempts": 720}, **kwargs)


def apply(cfn, name: str, template_url: str, params: list[dict], exists: bool, out) -> bool:
    """Creates, prints, executes and waits for one change set; False when there was nothing to change."""
    import botocore.exceptions

    change_set = f"deploy-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{os.getpid()}"
    cfn.create_change_set(StackName=name, ChangeSetName=change_set, TemplateURL=template_url, Parameters=params,
                          Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                          ChangeSetType="UPDATE" if exists else "CREATE",
                          Description="make deploy")
    try:
        wait(cfn, "change_set_create_complete", StackName=name, ChangeSetName=change_set)
    except botocore.exceptions.WaiterError:
        pass  # a failed change set: its reason is read below
    described = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)
    changes = described.get("Changes", [])
    reason = described.get("StatusReason") or ""
    if described["Status"] == "FAILED":
        if not changes and ("didn't contain changes" in reason or "No updates" in reason):
            cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
            return False
        raise SystemExit(f"deploy: the change set failed: {reason}")
    out(f"{name}: {len(changes)} change{'s' if len(changes) != 1 else ''}:")
    for change in changes:
        rc = change["ResourceChange"]
        replace = " (replaced)" if rc.get("Replacement") == "True" else ""
        out(f"  {rc['Action']:<7} {rc['LogicalResourceId']} {rc['ResourceType']}{replace}")
    cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
    try:
        wait(cfn, "stack_update_complete" if exists else "stack_create_complete", StackName=name)
    except botocore.exceptions.WaiterError as e:
        events = cfn.describe_stack_events(StackName=name)["StackEvents"]
        failed = [f"  {ev['LogicalResourceId']}: {ev.get('ResourceStatusReason', '')}" for ev in events
                  if ev["ResourceStatus"].endswith("_FAILED")][:10]
        raise SystemExit("deploy: the stack did not complete (" + str(e) + "); CloudFormation says:\n"
                         + "\n".join(failed)) from e
    return True


def outputs(stack: dict) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def deploy(stage: str, *, dist: Path, region: str | None = None, overrides: list[str] = (),
           environ: dict | None = None, out=print) -> dict[str, str]:
    """Deploys `dist/` as the stage's stack; returns the stack's outputs."""
    environ = dict(os.environ if environ is None else environ)
    env = stage_config(stage)
    name = stack_name(stage)
    sam_path, zip_path = dist / "sam.json", dist / "deployment.zip"
    if not sam_path.exists() or not zip_path.exists():
        raise Refused(f"{dist}/ has no package: run `make package STAGE={stage}` (make deploy does)")
    template = json.loads(sam_path.read_text())
    built_for = {r["Properties"]["Environment"]["Variables"].get("FRIDAY_STAGE")
                 for r in template["Resources"].values() if r["Type"] == "AWS::Serverless::Function"}
    if built_for != {stage}:
        raise Refused(f"{dist}/ was packaged for {', '.join(sorted(map(str, built_for)))}, not {stage}: "
                      f"run `make package STAGE={stage}`")
    given = given_settings(template, list(overrides), environ)
    session, account = session_and_account(region)
    region = session.region_name
    check_secrets(session, env)
    cfn = session.client("cloudformation")
    stack = describe(cfn, name)
    if stack is not None and stack["StackStatus"] in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_FAILED"):
        raise Refused(f"{name} is {stack['StackStatus']} (a first create that failed): delete it, then deploy "
                      f"again: aws cloudformation delete-stack --stack-name {name} --region {region}")
    if stack is not None and stack["StackStatus"] not in DONE:
        raise Refused(f"{name} is {stack['StackStatus']}: wait for it to finish, then deploy again")
    existing = None if stack is None else {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    given.setdefault("ManageApiGatewayAccount", manage_account_setting(session, existing))
    params = parameters(template, given, existing)
    sets_account = given["ManageApiGatewayAccount"] == "true"
    out(f"deploying {name} to account {account}, {region}"
        + (" (this stage sets the region's API Gateway logging role)" if sets_account else ""))

    s3 = session.client("s3")
    bucket = f"friday-night-artifacts-{account}-{region}"
    ensure_bucket(s3, bucket, region, out)
    package = zip_path.read_bytes()
    code_key = f"{name}/{sha256(package)[:20]}-deployment.zip"
    upload(s3, bucket, code_key, package, out)
    body = json.dumps(sam_transform(template, bucket, code_key, session), separators=(",", ":"),
                      sort_keys=True).encode()
    template_key = f"{name}/{sha256(body)[:20]}-template.json"
    upload(s3, bucket, template_key, body, out)
    if len(body) > INLINE_LIMIT:
        out(f"template: {len(body):,} bytes (over the {INLINE_LIMIT:,} CloudFormation takes inline: from S3)")
    url = f"https://{bucket}.s3.{region}.amazonaws.com/{template_key}"

    changed = apply(cfn, name, url, params, stack is not None, out)
    if not changed:
        out(f"{name}: nothing to change (the package, the template and the settings are as deployed)")
    stack = describe(cfn, name)
    found = outputs(stack)
    current = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    endpoint = found.get("EndpointURL", "").rstrip("/")
    if endpoint and not current.get("PublicBaseUrl"):
        out(f"{name}: PublicBaseUrl is the stage's own URL, {endpoint}: setting it")
        params = [{"ParameterKey": k, "UsePreviousValue": True} for k in current if k != "PublicBaseUrl"]
        params.append({"ParameterKey": "PublicBaseUrl", "ParameterValue": endpoint})
        apply(cfn, name, url, params, True, out)
        found = outputs(describe(cfn, name))
    out(f"{name}: {describe(cfn, name)['StackStatus']}")
    for key in sorted(found):
        out(f"  {key}: {found[key]}")
    out(f"next: point Twilio at it (.venv/bin/python -m scripts.twilio_setup --stage {stage}), "
        f"then make smoke STAGE={stage}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--dist", default=str(ROOT / "dist"))
    parser.add_argument("--region", default=None, help="AWS region (default: AWS_REGION / your AWS config)")
    parser.add_argument("--set", action="append", default=[], metavar="Name=value",
                        help="a template parameter (repeatable), e.g. --set LogRetentionDays=90")
    parser.add_argument("--preflight", action="store_true",
                        help="only the checks that need no package: credentials, region, the SSM secrets")
    args = parser.parse_args(argv)
    try:
        if args.preflight:
            env = stage_config(args.stage)
            session, account = session_and_account(args.region)
            check_secrets(session, env)
            print(f"deploy: {stack_name(args.stage)} can be deployed to account {account}, {session.region_name}")
            return 0
        deploy(args.stage, dist=Path(args.dist), region=args.region, overrides=args.set)
    except Refused as e:
        for line in str(e).splitlines():
            print(f"deploy: {line}" if not line.startswith("  ") else line, file=sys.stderr)
        print("deploy: nothing was changed", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
