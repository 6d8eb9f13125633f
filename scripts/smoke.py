"""`make smoke STAGE=prod`: a deployed stage checked end to end, each step printed; non-zero on failure.

1. `GET /status` with the admin key (read from the stage's SSM parameter): the engine answers and
   says how its sweeps are doing.
2. A test SMS signed as Twilio signs it (the auth token from SSM, the stack's TwilioAccountSid and
   SupportNumber) from a test number: answered with TwiML.
3. Its ticket found in `GET /tickets`.
4. That ticket resolved (`POST /tickets/{id}/resolve`).

The URL is the stack's EndpointURL (as make deploy set PublicBaseUrl). Every value can be given
instead, which is how it runs against a locally served stage (`make run`):

    SMOKE_URL=http://127.0.0.1:8000 ADMIN_API_KEY=local-admin-key TWILIO_AUTH_TOKEN=local-auth-token \\
        SUPPORT_NUMBER=+15005550006 .venv/bin/python -m scripts.smoke --stage local

The test text comes from SMOKE_FROM, else the stack's AlarmPhone (the operator's phone gets the
acknowledgement and the survey), else Twilio's test number +15005550006.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TEST_NUMBER = "+15005550006"
LOCAL_ACCOUNT = "AC" + "0" * 32


class Failed(Exception):
    """A step that did not do what it should: the line says what was seen."""


def _request(url: str, *, method: str = "GET", headers: dict | None = None, data: bytes | None = None,
             timeout: float = 30) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as e:
        raise Failed(f"cannot reach {url}: {getattr(e, 'reason', e)}") from None


def run(url: str, *, admin_key: str, auth_token: str, account_sid: str, support_number: str, sender: str,
        out=print) -> int:
    """The four steps against the stage at `url`; returns the number of the step that failed, 0 if none."""
    from twilio.request_validator import RequestValidator

    base = url.rstrip("/")
    staff = {"Authorization": f"Bearer {admin_key}"}
    marker = secrets.token_hex(3)
    steps = ["GET /status", "a signed test SMS", "its ticket in GET /tickets", "the ticket resolved"]
    found: dict = {}

    def status() -> str:
        code, body = _request(base + "/status", headers=staff)
        if code != 200:
            raise Failed(f"answered {code}: {body[:300]}")
        report = json.loads(body)
        late = [name for name, sweep in report.get("sweeps", {}).items() if sweep.get("stale")]
        return (f"ok={report.get('ok')}" + (f" (sweeps not run lately: {', '.join(late)})" if late else ""))

    def sms() -> str:
        params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": account_sid, "From": sender,
                  "To": support_number, "Body": f"Smoke test {marker}: please ignore", "NumMedia": "0"}
        signature = RequestValidator(auth_token).compute_signature(base + "/twilio/sms", params)
        code, body = _request(base + "/twilio/sms", method="POST", data=urlencode(params).encode(), headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        if code != 200 or "<Response" not in body:
            hint = " (the signature is checked against PUBLIC_BASE_URL + path)" if code == 403 else ""
            raise Failed(f"answered {code}{hint}: {body[:300]}")
        return "answered with TwiML" + (": " + body.split("<Message>")[1].split("</Message>")[0][:80]
                                        if "<Message>" in body else " (no text back)")

    def ticket() -> str:
        code, body = _request(base + "/tickets?status=open&limit=50", headers=staff)
        if code != 200:
            raise Failed(f"answered {code}: {body[:300]}")
        for item in json.loads(body).get("items", []):
            if marker in json.dumps(item):
                found.update(item)
                return f"ticket #{item['id']}"
        raise Failed(f"no open ticket mentions {marker} among the newest 50")

    def resolve() -> str:
        code, body = _request(f"{base}/tickets/{found['id']}/resolve", method="POST", data=b"{}",
                              headers={**staff, "Content-Type": "application/json"})
        if code != 200:
            raise Failed(f"answered {code}: {body[:300]}")
        return f"#{found['id']} is {json.loads(body).get('status')}"

    for number, (name, step) in enumerate(zip(steps, (status, sms, ticket, resolve), strict=True), start=1):
        try:
            out(f"smoke {number}/4 {name}: {step()}")
        except Failed as e:
            out(f"smoke {number}/4 {name}: FAILED, {e}")
            return number
    out(f"smoke: {base} works end to end")
    return 0


def _from_aws(stage: str, region: str | None) -> dict[str, str]:
    """The stack's URL and settings, and the stage's secrets from SSM."""
    import boto3

    from scripts.deploy import stack_name, stage_config

    env = stage_config(stage)
    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    stack = session.client("cloudformation").describe_stacks(StackName=stack_name(stage))["Stacks"][0]
    params = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    names = [env["ADMIN_API_KEY_PARAM"], env["TWILIO_AUTH_TOKEN_PARAM"]]
    values = {p["Name"]: p["Value"] for p in session.client("ssm").get_parameters(
        Names=names, WithDecryption=True)["Parameters"]}
    return {"url": outputs.get("EndpointURL", ""), "admin_key": values.get(names[0], ""),
            "auth_token": values.get(names[1], ""), "account_sid": params.get("TwilioAccountSid", ""),
            "support_number": params.get("SupportNumber", ""), "sender": params.get("AlarmPhone", "")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", default=None)
    args = parser.parse_args(argv)
    given = {"url": os.environ.get("SMOKE_URL", ""), "admin_key": os.environ.get("ADMIN_API_KEY", ""),
             "auth_token": os.environ.get("TWILIO_AUTH_TOKEN", ""),
             "account_sid": os.environ.get("TWILIO_ACCOUNT_SID", ""),
             "support_number": os.environ.get("SUPPORT_NUMBER", ""), "sender": os.environ.get("SMOKE_FROM", "")}
    if args.stage == "local":
        given["account_sid"] = given["account_sid"] or LOCAL_ACCOUNT
    elif not all(given[k] for k in ("url", "admin_key", "auth_token", "account_sid", "support_number")):
        try:
            stack = _from_aws(args.stage, args.region)
        except Exception as e:  # noqa: BLE001 - any AWS failure is one line for the operator
            print(f"smoke: cannot read the stage {args.stage} from AWS: {e}", file=sys.stderr)
            return 2
        given = {k: v or stack.get(k, "") for k, v in given.items()}
    given["sender"] = given["sender"] or TEST_NUMBER
    missing = [k for k in ("url", "admin_key", "auth_token", "account_sid", "support_number") if not given[k]]
    if missing:
        print(f"smoke: missing {', '.join(missing)} (deployed? see README \"Deploy\")", file=sys.stderr)
        return 2
    url = given.pop("url")
    print(f"smoke: {url} (stage {args.stage}), test texts from {given['sender']}")
    return 1 if run(url, **given) else 0


if __name__ == "__main__":
    raise SystemExit(main())
