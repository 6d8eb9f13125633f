"""scripts.twilio_setup points both numbers at PUBLIC_BASE_URL through Twilio's REST API (here the
fake Twilio), idempotently; the fallback URLs it sets exist and answer."""
from __future__ import annotations

from scripts import twilio_setup
from tests.data import CUSTOMER
from tests.fake_twilio import ACCOUNT_SID


def test_both_numbers_get_the_five_urls_once(twilio):
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, "test-auth-token")
    lines: list[str] = []
    base = "https://abc.execute-api.eu-central-1.amazonaws.com/api"
    changed = twilio_setup.setup(client, base, [twilio.support, twilio.emergency], out=lines.append)
    assert changed == 2 * 10
    for number in (twilio.support, twilio.emergency):
        record = twilio.numbers()[number]
        assert record["sms_url"] == base + "/twilio/sms"
        assert record["sms_fallback_url"] == base + "/twilio/sms/fallback"
        assert record["status_callback"] == base + "/twilio/voice/status"
        assert record["voice_url"] == base + "/twilio/voice"
        assert record["voice_fallback_url"] == base + "/twilio/voice/fallback"
        assert record["sms_method"] == record["voice_method"] == "POST"
    assert any("sms_url: (unset) -> " + base + "/twilio/sms" in line for line in lines)
    # Run again: nothing to change, nothing sent.
    updates = len(twilio.number_updates)
    lines.clear()
    assert twilio_setup.setup(client, base, [twilio.support, twilio.emergency], out=lines.append) == 0
    assert len(twilio.number_updates) == updates
    assert all("already points at" in line for line in lines)


def test_the_fallback_urls_answer(api, twilio, team):
    r = twilio.post("/twilio/sms/fallback", {"MessageSid": "SM" + "7" * 32, "From": CUSTOMER,
                                                      "Body": "hello, anyone there?",
                                             "NumMedia": "0"}, replay=False)
    assert r.status_code == 200 and "ticket #1" in r.body.decode()
    r = twilio.post("/twilio/voice/fallback", {"CallSid": "CA" + "7" * 32, "From": CUSTOMER}, replay=False)
    assert r.status_code == 200 and b"<Dial" in r.body
    twilio.inbox.clear()
