"""Call the emergency line of a running `make run`, as Twilio would: every webhook signed, the
TwiML followed the way Twilio follows it, the status callback at the end.

    .venv/bin/python -m scripts.call +4917712345678                    # the holder answers, presses 1
    .venv/bin/python -m scripts.call +4917712345678 --nobody-answers --voicemail "the shop is down"

The first rings the person on call (their phone plays the screening: "press 1"), they accept, the
call is connected and ends after a minute. With --nobody-answers every person rung lets it ring
out; the caller then leaves the --voicemail (or hangs up without one), which pages the team.
Signs with TWILIO_AUTH_TOKEN (local default: local-auth-token) against PUBLIC_BASE_URL (default
http://127.0.0.1:$PORT); prints each step and what the line said.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
import urllib.error
import xml.etree.ElementTree as ET

from scripts.sms import ACCOUNT_SID, Unreachable, base_url, post_signed

MAX_STEPS = 20  # a call is a few webhooks; more means a loop (which is a bug to report)


def _said(root: ET.Element) -> list[str]:
    return [el.text or "" for el in root.iter("Say")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("caller", help="the number calling, e.g. +4917712345678")
    parser.add_argument("--nobody-answers", action="store_true", help="every phone rung lets it ring out")
    parser.add_argument("--voicemail", help="what the caller says after the tone (its transcript)")
    args = parser.parse_args(argv)

    base = base_url()
    line = os.environ.get("EMERGENCY_NUMBER", "+15005550007")
    call = {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": ACCOUNT_SID, "From": args.caller, "To": line,
            "Direction": "inbound", "CallStatus": "ringing"}
    try:
        answer = post_signed(base, "/twilio/voice", call)
        for _ in range(MAX_STEPS):
            root = ET.fromstring(answer)
            for words in _said(root):
                print(f"  line says: {words}")
            dial, record = root.find("Dial"), root.find("Record")
            if dial is not None:
                number = dial.find("Number")
                callee = (number.text or "").strip()
                if args.nobody_answers:
                    print(f"ringing {callee}: no answer")
                    answer = post_signed(base, _path(base, dial.get("action")),
                                         {**call, "DialCallStatus": "no-answer", "DialCallDuration": "0"})
                    continue
                print(f"ringing {callee}: answered, the screening plays")
                # The leg to the callee: it comes from our line (the Dial's callerId), to them.
                leg = {**call, "CallSid": "CA" + secrets.token_hex(16), "ParentCallSid": call["CallSid"],
                       "From": dial.get("callerId") or line, "To": callee, "Called": callee,
                       "Direction": "outbound-dial"}
                screen = ET.fromstring(post_signed(base, _path(base, number.get("url")), leg))
                for words in _said(screen):
                    print(f"  {callee} hears: {words}")
                gather = screen.find("Gather")
                accepted = ET.fromstring(post_signed(base, _path(base, gather.get("action")), {**leg, "Digits": "1"}))
                for words in _said(accepted):
                    print(f"  {callee} pressed 1 and hears: {words}")
                print("connected: the call lasts a minute")
                answer = post_signed(base, _path(base, dial.get("action")),
                                     {**call, "DialCallStatus": "completed", "DialCallDuration": "60"})
                continue
            if record is not None:
                if not args.voicemail:
                    print("the caller hangs up without a message")
                    break
                recording = {**call, "RecordingSid": "RE" + secrets.token_hex(16), "RecordingDuration": "12",
                             "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/x"}
                print(f"voicemail left: {args.voicemail!r}")
                answer = post_signed(base, _path(base, record.get("action")), recording)
                if record.get("transcribeCallback"):
                    post_signed(base, _path(base, record.get("transcribeCallback")),
                                {**recording, "TranscriptionSid": "TR" + secrets.token_hex(16),
                                 "TranscriptionStatus": "completed", "TranscriptionText": args.voicemail})
                continue
            break  # a hangup, or nothing more to follow
        post_signed(base, "/twilio/voice/status", {**call, "CallStatus": "completed", "CallDuration": "75"})
        print("call ended (status callback sent)")
    except urllib.error.HTTPError as err:
        print(f"{err.code}: {err.read().decode()}", file=sys.stderr)
        return 1
    except Unreachable as err:
        print(str(err), file=sys.stderr)
        return 2
    return 0


def _path(base: str, url: str | None) -> str:
    """The path of a URL the TwiML names (it is absolute: PUBLIC_BASE_URL + path)."""
    if not url:
        raise SystemExit("the TwiML names no URL to follow")
    return url[len(base):] if url.startswith(base) else url


if __name__ == "__main__":
    raise SystemExit(main())
