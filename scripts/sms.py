"""Send a signed test SMS to a running `make run`, as Twilio would (a call: `scripts.call`).

    .venv/bin/python -m scripts.sms +4917712345678 "our shop is down"
    .venv/bin/python -m scripts.sms +4915100000002 "ack 1"      # a demo staff phone

Signs with TWILIO_AUTH_TOKEN (local default: local-auth-token) against
PUBLIC_BASE_URL (default http://127.0.0.1:$PORT) and prints the TwiML reply.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import urllib.error
import urllib.request
from urllib.parse import urlencode

ACCOUNT_SID = "AC" + "0" * 32  # what local mode accepts (TWILIO_ACCOUNT_SID unset)


class Unreachable(Exception):
    """Nobody listens at the base URL."""


def base_url() -> str:
    port = os.environ.get("PORT", "8000")
    return os.environ.get("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}").rstrip("/")


def post_signed(base: str, path: str, params: dict, timeout: float = 15) -> str:
    """POSTs the form to base + path with Twilio's signature; the answer's body (HTTPError on 4xx/5xx).
    Twilio waits 15 s for an answer; so does this, unless told otherwise."""
    from twilio.request_validator import RequestValidator

    token = os.environ.get("TWILIO_AUTH_TOKEN", "local-auth-token")
    url = base + path
    request = urllib.request.Request(url, data=urlencode(params).encode(), headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(token).compute_signature(url, params)})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read().decode()
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise Unreachable(f"cannot reach {url}: {reason} (is `make run` running? it listens on PORT, "
                          f"here {os.environ.get('PORT', '8000')})") from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sender", help="the phone number the text comes from, e.g. +4917712345678")
    parser.add_argument("body", help="the text")
    args = parser.parse_args(argv)

    params = {"MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": args.sender,
              "To": os.environ.get("SUPPORT_NUMBER", "+15005550006"), "Body": args.body, "NumMedia": "0"}
    try:
        print(post_signed(base_url(), "/twilio/sms", params))
    except urllib.error.HTTPError as err:
        print(f"{err.code}: {err.read().decode()}", file=sys.stderr)
        return 1
    except Unreachable as err:
        print(str(err), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
