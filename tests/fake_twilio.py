"""A fake Twilio in the spirit of GoAlert's mocktwilio.

- signs every webhook with Twilio's real algorithm (RequestValidator);
- records what the app sends through twilio's REST client, caught at the
  HTTP layer with `responses`, so the real client code runs;
- follows TwiML: Dial actions, screening Gathers, Record callbacks;
- replays every webhook twice by default (Twilio retries) and checks the
  retry gets the same answer;
- phone-style assertions: phone(n).expect_sms("ACK 42").reply("ack 42").expect("Acknowledged"),
  and a strict "no unexpected messages" check at the end of each story.
"""
from __future__ import annotations

import itertools
import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections import defaultdict
from urllib.parse import parse_qsl, urlencode, urlsplit

import responses
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "0" * 32
_ids = itertools.count(1)


def new_sid(prefix: str) -> str:
    return f"{prefix}{next(_ids):032x}"


class FakeTwilio:
    def __init__(self, http, token: str, base_url: str, support_number: str, emergency_number: str):
        self.http = http
        self.validator = RequestValidator(token)
        self.base_url = base_url
        self.support = support_number
        self.emergency = emergency_number
        self.inbox: dict[str, list[dict]] = defaultdict(list)
        self.calls: list[dict] = []  # calls the app placed (paging calls)
        self.replay = True
        self.sent_sids: list[str] = []
        self.rest_log: list[dict] = []  # Twilio's Messages list: what the app sent by REST
        self.rest_calls: list[dict] = []
        self.inbound_log: list[dict] = []  # Twilio's Messages list: what reached our numbers
        self.inbound_calls: list[dict] = []
        self._responses = responses.RequestsMock(assert_all_requests_are_fired=False)

    # --- REST side: what the app sends ------------------------------------------

    def __enter__(self):
        self._responses.start()
        base = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}"
        self._responses.add_callback(responses.POST, f"{base}/Messages.json", callback=self._message)
        self._responses.add_callback(responses.POST, f"{base}/Calls.json", callback=self._call)
        self._responses.add_callback(responses.GET, re.compile(re.escape(f"{base}/Messages.json") + r".*"),
                                     callback=self._list_messages)
        self._responses.add_callback(responses.GET, re.compile(re.escape(f"{base}/Calls.json") + r".*"),
                                     callback=self._list_calls)
        self._responses.add_callback(responses.GET, re.compile(re.escape(f"{base}/IncomingPhoneNumbers.json")
                                                               + r".*"), callback=self._list_numbers)
        self._responses.add_callback(responses.POST, re.compile(re.escape(f"{base}/IncomingPhoneNumbers/")
                                                                + r"PN\w+\.json"), callback=self._update_number)
        return self

    # --- the account's phone numbers (IncomingPhoneNumbers), for scripts.twilio_setup ---------

    _NUMBER_FIELDS = {"SmsUrl": "sms_url", "SmsMethod": "sms_method", "SmsFallbackUrl": "sms_fallback_url",
                      "SmsFallbackMethod": "sms_fallback_method", "StatusCallback": "status_callback",
                      "StatusCallbackMethod": "status_callback_method", "VoiceUrl": "voice_url",
                      "VoiceMethod": "voice_method", "VoiceFallbackUrl": "voice_fallback_url",
                      "VoiceFallbackMethod": "voice_fallback_method"}

    def numbers(self) -> dict[str, dict]:
        if not hasattr(self, "_numbers"):
            self._numbers = {n: {"sid": "PN" + secrets.token_hex(16), "account_sid": ACCOUNT_SID, "phone_number": n,
                                 **{f: None for f in self._NUMBER_FIELDS.values()}}
                             for n in (self.support, self.emergency)}
            self.number_updates: list[dict] = []
        return self._numbers

    def _list_numbers(self, request):
        query = dict(parse_qsl(urlsplit(request.url).query))
        found = [r for r in self.numbers().values() if r["phone_number"] == query.get("PhoneNumber", r["phone_number"])]
        return 200, {}, json.dumps({"incoming_phone_numbers": found, "next_page_uri": None, "page": 0,
                                    "page_size": len(found), "start": 0, "end": len(found), "uri": request.url,
                                    "first_page_uri": request.url, "previous_page_uri": None})

    def _update_number(self, request):
        sid = urlsplit(request.url).path.rsplit("/", 1)[1][:-len(".json")]
        record = next((r for r in self.numbers().values() if r["sid"] == sid), None)
        if record is None:
            return 404, {}, json.dumps({"code": 20404, "message": "not found", "status": 404})
        form = dict(parse_qsl(request.body if isinstance(request.body, str) else request.body.decode()))
        changes = {self._NUMBER_FIELDS[k]: v for k, v in form.items() if k in self._NUMBER_FIELDS}
        record.update(changes)
        self.number_updates.append({"number": record["phone_number"], **changes})
        return 200, {}, json.dumps(record)

    def __exit__(self, *exc):
        self._responses.stop()
        self._responses.reset()

    def _list(self, request, key: str, records: list[dict]):
        query = dict(parse_qsl(urlsplit(request.url).query))
        found = [r for r in reversed(records) if r["to"] == query.get("To", r["to"])
                 and r.get("from") == query.get("From", r.get("from"))]
        found = found[:int(query.get("PageSize", 50))]
        return 200, {}, json.dumps({key: found, "next_page_uri": None, "previous_page_uri": None, "page": 0,
                                    "page_size": len(found), "start": 0, "end": len(found), "uri": request.url,
                                    "first_page_uri": request.url})

    def _list_messages(self, request):
        return self._list(request, "messages", self.rest_log + self.inbound_log)

    def _list_calls(self, request):
        return self._list(request, "calls", [dict(c, **{"from": None}) for c in self.rest_calls] + self.inbound_calls)

    # --- Twilio's logs of what reached our numbers (read back by reconciliation) ------

    def _log_inbound(self, params: dict) -> None:
        self.inbound_log.append({"sid": params["MessageSid"], "to": params["To"], "from": params["From"],
                                 "body": params.get("Body", ""), "num_media": params.get("NumMedia", "0"),
                                 "status": "received", "direction": "inbound", "account_sid": ACCOUNT_SID,
                                 "date_sent": _now_rfc2822(), "date_created": _now_rfc2822()})

    def lost_sms(self, from_number: str, body: str) -> str:
        """A text that reached Twilio while our webhook was down: in Twilio's log, never posted to us."""
        sid = new_sid("SM")
        self._log_inbound({"MessageSid": sid, "To": self.support, "From": from_number, "Body": body})
        return sid

    def missed_call(self, from_number: str, status: str = "no-answer") -> str:
        """A call to the emergency line whose webhook never ran (Twilio played its error and hung up)."""
        sid = new_sid("CA")
        self.inbound_calls.append({"sid": sid, "to": self.emergency, "from": from_number, "status": status,
                                   "direction": "inbound", "account_sid": ACCOUNT_SID,
                                   "start_time": _now_rfc2822(), "date_created": _now_rfc2822()})
        return sid

    def _message(self, request):
        form = dict(parse_qsl(request.body, keep_blank_values=True))
        sid = new_sid("SM")
        self.sent_sids.append(sid)
        self.rest_log.append({"sid": sid, "to": form["To"], "from": form.get("From"), "body": form.get("Body", ""),
                              "status": "queued", "direction": "outbound-api", "account_sid": ACCOUNT_SID,
                              "date_created": _now_rfc2822()})
        self.inbox[form["To"]].append({"body": form.get("Body", ""), "from": form.get("From"), "sid": sid,
                                       "via": "rest"})
        return 201, {}, json.dumps({"sid": sid, "status": "queued", "to": form["To"], "from": form.get("From"),
                                    "body": form.get("Body"), "account_sid": ACCOUNT_SID})

    def _call(self, request):
        form = dict(parse_qsl(request.body, keep_blank_values=True))
        sid = new_sid("CA")
        self.calls.append({"to": form["To"], "url": form.get("Url"), "sid": sid})
        self.rest_calls.append({"sid": sid, "to": form["To"], "status": "queued", "account_sid": ACCOUNT_SID,
                                "date_created": _now_rfc2822()})
        return 201, {}, json.dumps({"sid": sid, "status": "queued", "to": form["To"], "account_sid": ACCOUNT_SID})

    # --- webhook side: what Twilio posts ----------------------------------------

    def sign(self, url: str, params: dict) -> str:
        return self.validator.compute_signature(url, params)

    def _as_twilio(self, path: str, params: dict) -> dict:
        """What every real webhook carries: the account, and our number as To (inbound) or From."""
        out = {"AccountSid": ACCOUNT_SID, **params}
        ours = self.support if path.startswith("/twilio/sms") else self.emergency
        if path in ("/twilio/sms", "/twilio/voice", "/twilio/sms/fallback", "/twilio/voice/fallback"):
            out.setdefault("To", ours)
        elif out.get("To") not in (self.support, self.emergency):
            out.setdefault("From", ours)
        return out

    def post(self, path: str, params: dict, *, signature: str | None = "sign", replay: bool | None = None,
             as_twilio: bool = True):
        if as_twilio:
            params = self._as_twilio(path, params)
        url = self.base_url + path
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature == "sign":
            headers["X-Twilio-Signature"] = self.sign(url, params)
        elif signature is not None:
            headers["X-Twilio-Signature"] = signature
        body = urlencode(params)
        first = self.http.post(path, headers=headers, body=body)
        if (self.replay if replay is None else replay) and first.status_code == 200:
            again = self.http.post(path, headers=headers, body=body)
            assert again.status_code == 200
            assert again.body == first.body, f"a retried webhook answered differently:\n{first.body}\n{again.body}"
        return first

    def sms(self, from_number: str, body: str, **extra) -> str:
        """A text from `from_number`; TwiML <Message> replies land in its inbox. Returns the TwiML."""
        params = {"MessageSid": new_sid("SM"), "AccountSid": ACCOUNT_SID, "From": from_number, "To": self.support,
                  "Body": body, "NumMedia": "0", **extra}
        self._log_inbound(params)
        r = self.post("/twilio/sms", params)
        assert r.status_code == 200, r.body
        assert r.headers["Content-Type"].startswith("text/xml")
        xml = r.body.decode() if isinstance(r.body, bytes) else r.body
        for message in ET.fromstring(xml).iter("Message"):
            self.inbox[from_number].append({"body": message.text or "", "from": self.support, "via": "twiml"})
        return xml

    def status(self, sid: str, status: str) -> None:
        r = self.post("/twilio/sms/status", {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID})
        assert r.status_code == 200, r.body

    def call(self, from_number: str) -> Call:
        sid = new_sid("CA")
        r = self.post("/twilio/voice", {"CallSid": sid, "From": from_number, "To": self.emergency,
                                        "AccountSid": ACCOUNT_SID, "CallStatus": "ringing"})
        assert r.status_code == 200, r.body
        return Call(self, sid, from_number, _xml(r))

    def phone(self, number: str) -> Phone:
        return Phone(self, number)

    def assert_no_unexpected(self) -> None:
        leftover = {n: [m["body"] for m in msgs] for n, msgs in self.inbox.items() if msgs}
        assert not leftover, f"unexpected messages: {leftover}"


def _now_rfc2822() -> str:
    """Twilio's date format, at the test clock's time."""
    from email.utils import format_datetime

    from chalicelib import clock

    return format_datetime(clock.now())


def _xml(response) -> ET.Element:
    body = response.body.decode() if isinstance(response.body, bytes) else response.body
    return ET.fromstring(body)


def _path(url: str, base: str) -> str:
    assert url.startswith(base), f"{url} is not under {base}"
    assert "?" not in url, "webhook URLs carry no query string"
    return url[len(base):]


class Phone:
    def __init__(self, fake: FakeTwilio, number: str):
        self.fake, self.number = fake, number

    def expect_sms(self, contains: str = "", *, pattern: str | None = None) -> Phone:
        inbox = self.fake.inbox[self.number]
        for i, message in enumerate(inbox):
            if contains.lower() in message["body"].lower() and (pattern is None or re.search(pattern, message["body"])):
                self.last = inbox.pop(i)
                return self
        raise AssertionError(f"{self.number} expected an SMS containing {contains!r}; inbox: "
                             f"{[m['body'] for m in inbox]}")

    expect = expect_sms

    def expect_nothing(self) -> Phone:
        assert not self.fake.inbox[self.number], [m["body"] for m in self.fake.inbox[self.number]]
        return self

    def reply(self, text: str) -> Phone:
        self.fake.sms(self.number, text)
        return self


class Call:
    """An inbound call to the emergency line, following the app's TwiML."""

    def __init__(self, fake: FakeTwilio, sid: str, caller: str, twiml: ET.Element):
        self.fake, self.sid, self.caller, self.twiml = fake, sid, caller, twiml

    def dialing(self) -> str | None:
        number = self.twiml.find("./Dial/Number")
        return number.text if number is not None else None

    def _dial_action(self, status: str, duration: int = 0) -> None:
        dial = self.twiml.find("./Dial")
        path = _path(dial.get("action"), self.fake.base_url)
        r = self.fake.post(path, {"CallSid": self.sid, "DialCallStatus": status, "DialCallDuration": str(duration),
                                  "AccountSid": ACCOUNT_SID})
        assert r.status_code == 200, r.body
        self.twiml = _xml(r)

    def answer(self, press: str = "1", talk_seconds: int = 90) -> Call:
        """The dialled person picks up, hears the screening, presses a key."""
        number = self.twiml.find("./Dial/Number")
        callee = number.text
        child = new_sid("CA")
        screen = self.fake.post(_path(number.get("url"), self.fake.base_url),
                                {"CallSid": child, "ParentCallSid": self.sid, "To": callee,
                                 "AccountSid": ACCOUNT_SID})
        gather = _xml(screen).find("./Gather")
        assert gather is not None and "press 1" in ET.tostring(gather, encoding="unicode").lower()
        if press:
            r = self.fake.post(_path(gather.get("action"), self.fake.base_url),
                               {"CallSid": child, "ParentCallSid": self.sid, "To": callee, "Digits": press,
                                "AccountSid": ACCOUNT_SID})
            accepted = press == "1" and _xml(r).find("./Hangup") is None
        else:
            accepted = False  # voicemail or silence: the screening hangs up
        self._dial_action("completed" if accepted else "no-answer", talk_seconds if accepted else 0)
        return self

    def no_answer(self) -> Call:
        self._dial_action("no-answer")
        return self

    def busy(self) -> Call:
        self._dial_action("busy")
        return self

    def leave_voicemail(self, transcript: str, seconds: int = 30) -> Call:
        record = self.twiml.find("./Record")
        assert record is not None, ET.tostring(self.twiml, encoding="unicode")
        assert record.get("action") and record.get("maxLength") and record.get("transcribeCallback")
        recording = new_sid("RE")
        url = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{recording}"
        r = self.fake.post(_path(record.get("action"), self.fake.base_url),
                           {"CallSid": self.sid, "RecordingSid": recording, "RecordingUrl": url,
                            "RecordingDuration": str(seconds), "AccountSid": ACCOUNT_SID})
        assert r.status_code == 200, r.body
        self.twiml = _xml(r)
        t = self.fake.post(_path(record.get("transcribeCallback"), self.fake.base_url),
                           {"CallSid": self.sid, "RecordingSid": recording, "TranscriptionSid": new_sid("TR"),
                            "TranscriptionText": transcript, "TranscriptionStatus": "completed",
                            "AccountSid": ACCOUNT_SID})
        assert t.status_code == 200, t.body
        return self

    def ended(self) -> bool:
        return self.twiml.find("./Hangup") is not None
