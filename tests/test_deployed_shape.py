"""The deployed shape: a stage that is half set up refuses to run, secrets come from SSM, and a
webhook must come from our Twilio account, for our numbers."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib import notify, store
from tests.data import ADMIN_KEY, CUSTOMER
from tests.fake_twilio import ACCOUNT_SID

ROOT = Path(__file__).resolve().parent.parent


def _tickets(api) -> list:
    return api.get("/tickets").json_body["items"]


@pytest.fixture
def dev_stage_without_twilio(monkeypatch):
    monkeypatch.setenv("FRIDAY_STAGE", "dev")
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "SUPPORT_NUMBER"):
        monkeypatch.delenv(name, raising=False)
    import app as app_module

    app_module._REPORTED.clear()
    yield
    app_module._REPORTED.clear()


def test_a_dev_stage_without_twilio_answers_503_and_sends_nothing(api, client, schedule, caplog,
                                                                   dev_stage_without_twilio):
    notify.clear_outbox()
    r = api.get("/tickets")
    assert r.status_code == 503 and r.json_body["error"]["code"] == "misconfigured"
    r = api.post("/chat/sessions", {"name": "Mike"}, key=None)
    assert r.status_code == 503
    sms = client.http.post("/twilio/sms", headers={"Content-Type": "application/x-www-form-urlencoded"},
                           body=f"MessageSid=SM{'a' * 32}&From=%2B4917712345678&Body=URGENT+help")
    assert sms.status_code == 503 and b"<Message>Sorry, our support line is not working" in sms.body
    call = client.http.post("/twilio/voice", headers={"Content-Type": "application/x-www-form-urlencoded"},
                            body=f"CallSid=CA{'b' * 32}&From=%2B4917712345678")
    assert call.status_code == 503 and b"<Say>" in call.body
    with pytest.raises(Exception, match="configuration incomplete"):
        schedule("page_sweep")
    assert notify.outbox() == []
    from datetime import datetime, timezone

    assert store.outbox_due(datetime(2100, 1, 1, tzinfo=timezone.utc)) == []  # nothing queued either
    http_errors = [r for r in caplog.records if r.levelname == "ERROR" and getattr(r, "where", None) == "http"]
    assert len(http_errors) == 1  # one ERROR for all those requests, naming what is missing
    assert any("TWILIO_ACCOUNT_SID" in m for m in http_errors[0].missing)
    assert any("SUPPORT_NUMBER" in m for m in http_errors[0].missing)


def test_the_local_outbox_is_only_for_local_stages(monkeypatch):
    from datetime import datetime, timezone

    monkeypatch.setenv("FRIDAY_STAGE", "prod")
    monkeypatch.delenv("TWILIO_ACCOUNT_SID", raising=False)
    with pytest.raises(notify.SendError, match="not configured"):
        notify.place_call("+4915100000001", "https://x.example/twiml", now=datetime.now(timezone.utc))


def test_secrets_come_from_ssm_securestrings(api, monkeypatch):
    import boto3

    from chalicelib import config

    ssm = boto3.client("ssm", region_name="eu-central-1")
    ssm.put_parameter(Name="/friday-night/dev/admin-api-key", Value="from-ssm-admin-key", Type="SecureString")
    monkeypatch.setenv("ADMIN_API_KEY_PARAM", "/friday-night/dev/admin-api-key")
    monkeypatch.setenv("ADMIN_API_KEY", "plain-is-ignored")
    assert config.admin_api_key() == "from-ssm-admin-key"
    assert api.get("/people", key="from-ssm-admin-key").status_code == 200
    assert api.get("/people", key="plain-is-ignored").status_code == 401
    monkeypatch.setenv("TWILIO_AUTH_TOKEN_PARAM", "/friday-night/dev/missing")
    assert config.twilio_auth_token() == ""  # missing: reported by problems(), never a crash


def test_a_webhook_from_another_account_or_for_another_number_is_refused(api, twilio, team):
    base = {"MessageSid": "SM" + "e" * 32, "From": CUSTOMER, "Body": "hello", "NumMedia": "0"}
    other_account = {**base, "AccountSid": "AC" + "f" * 32, "To": twilio.support}
    r = twilio.post("/twilio/sms", other_account, as_twilio=False, replay=False)
    assert r.status_code == 403 and r.json_body["error"]["code"] == "wrong_account"
    other_number = {**base, "AccountSid": ACCOUNT_SID, "To": "+4930999999"}
    r = twilio.post("/twilio/sms", other_number, as_twilio=False, replay=False)
    assert r.status_code == 403 and r.json_body["error"]["code"] == "wrong_number"
    assert _tickets(api) == [] and not store.claim_exists("sms#SM" + "e" * 32)


def test_a_replay_with_a_shifted_boundary_is_refused(api, twilio, team):
    """Twilio's signature runs keys and values together: {MessageSid: SM..., To: +49...} signs the
    same as {MessageSid: SM...T, o: +49...}. The id's shape and our number catch it."""
    params = {"AccountSid": ACCOUNT_SID, "Body": "hello", "From": CUSTOMER, "MessageSid": "SM" + "d" * 32,
              "To": twilio.support}  # sorted: MessageSid, then To
    signature = twilio.sign(twilio.base_url + "/twilio/sms", params)
    assert twilio.post("/twilio/sms", params, signature=signature, as_twilio=False,
                       replay=False).status_code == 200
    shifted = {k: v for k, v in params.items() if k != "To"}
    shifted["MessageSid"] = params["MessageSid"] + "T"
    shifted["o"] = params["To"]
    assert twilio.sign(twilio.base_url + "/twilio/sms", shifted) == signature  # the same signature
    r = twilio.post("/twilio/sms", shifted, signature=signature, as_twilio=False, replay=False)
    assert r.status_code in (400, 403)
    assert [m["author"] for m in api.get("/tickets/1").json_body["messages"]] == ["customer", "system"]
    assert len(_tickets(api)) == 1
    twilio.inbox.clear()


def test_a_signature_mismatch_says_which_url_was_checked(api, twilio, team):
    params = {"AccountSid": ACCOUNT_SID, "Body": "hi", "From": CUSTOMER, "MessageSid": "SM" + "9" * 32,
              "To": twilio.support}
    signed_for_localhost = twilio.sign("http://localhost:8000/twilio/sms", params)
    r = twilio.post("/twilio/sms", params, signature=signed_for_localhost, as_twilio=False, replay=False)
    assert r.status_code == 403 and "https://friday.example/api/twilio/sms" in r.json_body["error"]["message"]
    assert ADMIN_KEY  # (the admin key is not needed for any of this)


def test_the_lambdas_zone_path_is_the_interpreters_own():
    """PYTHONTZPATH (in .chalice/config.json) only spares zoneinfo loading sysconfig at a cold start:
    it names the same folders the interpreter would, and Berlin still resolves."""
    import json
    import sysconfig

    env = json.loads((ROOT / ".chalice" / "config.json").read_text())["environment_variables"]
    assert env["PYTHONTZPATH"] == sysconfig.get_config_var("TZPATH")
    code = ("import sys, zoneinfo; from datetime import datetime; print(':'.join(zoneinfo.TZPATH), "
            "datetime(2026, 7, 1, tzinfo=zoneinfo.ZoneInfo('Europe/Berlin')).utcoffset(), "
            "any(m.startswith('_sysconfigdata') for m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONTZPATH": env["PYTHONTZPATH"]},
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [env["PYTHONTZPATH"], "2:00:00", "False"]
