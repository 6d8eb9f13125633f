"""Point the support and emergency numbers at the deployed API, through Twilio's REST API.

    export TWILIO_ACCOUNT_SID=AC... PUBLIC_BASE_URL=https://abc.execute-api.eu-central-1.amazonaws.com/api
    export SUPPORT_NUMBER=+49... EMERGENCY_NUMBER=+49...
    .venv/bin/python -m scripts.twilio_setup --stage prod

On both numbers it sets SmsUrl, SmsFallbackUrl, StatusCallback, VoiceUrl and VoiceFallbackUrl
(all POST) under PUBLIC_BASE_URL. Idempotent: it changes only what differs and prints each change.
The auth token may also come from the stage's SSM parameter (TWILIO_AUTH_TOKEN_PARAM, read with
your AWS credentials). --dry-run shows what it would change.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

ROUTES = {  # Twilio's field → our route
    "sms_url": "/twilio/sms",
    "sms_fallback_url": "/twilio/sms/fallback",
    "status_callback": "/twilio/voice/status",
    "voice_url": "/twilio/voice",
    "voice_fallback_url": "/twilio/voice/fallback",
}


def wanted(base: str) -> dict[str, str]:
    fields = {name: base.rstrip("/") + path for name, path in ROUTES.items()}
    fields.update(sms_method="POST", sms_fallback_method="POST", status_callback_method="POST",
                  voice_method="POST", voice_fallback_method="POST")
    return fields


def setup(client, base: str, numbers: list[str], *, dry_run: bool = False, out=print) -> int:
    """Returns how many fields it changed (0: everything was already right)."""
    target = wanted(base)
    changed = 0
    for number in numbers:
        found = client.incoming_phone_numbers.list(phone_number=number, limit=2)
        if not found:
            raise SystemExit(f"{number} is not a number of this Twilio account")
        record = found[0]
        diff = {k: v for k, v in target.items() if getattr(record, k, None) != v}
        if not diff:
            out(f"{number}: already points at {base}")
            continue
        for k, v in diff.items():
            out(f"{number}: {k}: {getattr(record, k, None) or '(unset)'} -> {v}")
        if not dry_run:
            client.incoming_phone_numbers(record.sid).update(**diff)
        changed += len(diff)
    return changed


def _env(stage: str) -> dict[str, str]:
    env = dict(os.environ)
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    for name, value in config["stages"].get(stage, {}).get("environment_variables", {}).items():
        env.setdefault(name, value)
    if not env.get("TWILIO_AUTH_TOKEN") and env.get("TWILIO_AUTH_TOKEN_PARAM"):
        import boto3

        env["TWILIO_AUTH_TOKEN"] = boto3.client("ssm").get_parameter(
            Name=env["TWILIO_AUTH_TOKEN_PARAM"], WithDecryption=True)["Parameter"]["Value"]
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="prod")
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    env = _env(args.stage)
    missing = [n for n in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "PUBLIC_BASE_URL", "SUPPORT_NUMBER",
                           "EMERGENCY_NUMBER") if not env.get(n)]
    if missing:
        print(f"set {', '.join(missing)} first (see README, Deploy)", file=sys.stderr)
        return 2
    if not env["PUBLIC_BASE_URL"].startswith("https://"):
        print("PUBLIC_BASE_URL must be the https:// stage URL Twilio will call", file=sys.stderr)
        return 2
    from twilio.rest import Client

    client = Client(env["TWILIO_ACCOUNT_SID"], env["TWILIO_AUTH_TOKEN"])
    changed = setup(client, env["PUBLIC_BASE_URL"], [env["SUPPORT_NUMBER"], env["EMERGENCY_NUMBER"]],
                    dry_run=args.dry_run)
    print(f"{changed} field(s) {'would change' if args.dry_run else 'changed'}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
