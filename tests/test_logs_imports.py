"""Logs carry no phone numbers or message bodies; app.py imports stay light."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.logs import mask_phone, mask_text

ROOT = Path(__file__).resolve().parent.parent


def test_a_request_with_a_phone_number_and_a_message_logs_neither(api):
    import io
    import logging

    from chalicelib import notify
    from chalicelib.logs import logger

    api.person("Ana Lopez", "+4915100000001")
    stream = io.StringIO()
    old_stream = logger.registered_handler.setStream(stream)
    old_level = logger.log_level
    logger.setLevel(logging.DEBUG)
    try:
        t = api.ticket("my password is hunter2, please help", contact="+4917712345678")
        api.post(f"/tickets/{t['id']}/reply", {"text": "secret answer text"})
        from urllib.parse import urlencode

        from twilio.request_validator import RequestValidator

        params = {"MessageSid": "SM" + "9" * 32, "From": "+4917712345678", "To": "+4930901820",
                  "Body": "URGENT hunter2 again", "NumMedia": "0"}
        sig = RequestValidator("test-auth-token").compute_signature("https://friday.example/api/twilio/sms", params)
        r = api.http.post("/twilio/sms", body=urlencode(params), headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
        assert r.status_code == 200
        logger.info("free text", extra={"note": "customer +49 177 1234 5678 said hi", "contact": "+4917712345678"})
    finally:
        logger.registered_handler.setStream(old_stream)
        logger.setLevel(old_level)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    assert lines, "the request should have logged something (the outbox line at least)"
    for line in lines:
        json.loads(line)  # structured JSON
        assert "4917712345678" not in line and "17712345678" not in line
        assert "hunter2" not in line and "secret answer" not in line
    assert notify.outbox()[0]["to"] == "+4917712345678"
    assert any('"message": "sms in"' in line for line in lines)


def test_masks():
    assert mask_phone("+4917712345678") == "+***78"
    assert mask_text("2026-11-22 18:55:26,929") == "2026-11-22 18:55:26,929"
    assert "12345678" not in mask_text("call me at +49 177 1234 5678 tomorrow")


def test_an_arn_is_kept_whole_and_a_phone_beside_it_is_masked():
    line = ("AccessDenied: arn:aws:iam::123456789012:role/friday-night-prod-ApiHandlerRole is not allowed "
            "dynamodb:GetItem on arn:aws:dynamodb:eu-central-1:123456789012:table/friday-night-prod-tickets; "
            "customer 4917712345678")
    masked = mask_text(line)
    assert "arn:aws:iam::123456789012:role/friday-night-prod-ApiHandlerRole" in masked
    assert "arn:aws:dynamodb:eu-central-1:123456789012:table/friday-night-prod-tickets;" in masked
    assert "4917712345678" not in masked and masked.endswith("customer +***78")
    assert mask_text("arn:aws:iam::+4917712345678") == "arn:aws:iam::+***78"  # not an ARN: masked


def test_importing_app_imports_neither_twilio_rest_nor_requests():
    code = ("import sys, app; bad = [m for m in ('twilio.rest', 'requests', 'twilio') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_an_unexpected_error_is_a_500_in_shape_and_logged_masked(api, monkeypatch):
    import io

    from chalicelib.logs import logger
    from chalicelib.usecases import tickets

    def boom(*args, **kwargs):
        raise RuntimeError("database said no for +4917712345678")

    monkeypatch.setattr(tickets, "get", boom)
    stream = io.StringIO()
    old = logger.registered_handler.setStream(stream)
    try:
        r = api.get("/tickets/1")
    finally:
        logger.registered_handler.setStream(old)
    assert r.status_code == 500 and r.json_body["error"]["code"] == "internal"
    logged = stream.getvalue()
    assert "unhandled error" in logged and "RuntimeError" in logged
    assert "4917712345678" not in logged


@pytest.mark.parametrize("first", ["request", "sweep"])
def test_the_cyclic_collector_is_off_for_the_cold_start_and_back_after_the_first_event(first):
    """app.py turns the collector off while a cold start imports (long-lived objects only) and the
    first event, whatever it is, turns it back on: a warm Lambda collects as usual."""
    code = f"""
import gc, os
os.environ.update(FRIDAY_STAGE="test", TWILIO_AUTH_TOKEN="t", ADMIN_API_KEY="k", AWS_DEFAULT_REGION="eu-central-1",
                  AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", TABLE_PREFIX="gc-", PUBLIC_BASE_URL="https://f.example/api",
                  SUPPORT_NUMBER="+4930901820", EMERGENCY_NUMBER="+4930901821")
from moto import mock_aws
from chalice.test import Client
from app import app
from chalicelib import store
off = not gc.isenabled()
with mock_aws(), Client(app, stage_name="test") as client:
    store.create_tables()
    if {first!r} == "request":
        client.http.get("/openapi.json")
    else:
        client.lambda_.invoke("tier_sweep", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={{}}, resources=[]))
print(off, gc.isenabled(), gc.get_freeze_count() > 10000, gc.get_count()[0] < 1000)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-4:] == ["True", "True", "True", "True"]  # and the cold start's objects frozen


def test_one_botocore_session_one_dynamodb_client_and_one_ssm_call_per_process():
    """Issue 25: each PynamoDB model made its own botocore session and client (7 for one text, each
    loading DynamoDB's service description again) and Powertools an eighth for SSM. Now: one
    session, one DynamoDB client for every table (transactions included), one SSM client that
    reads both secrets in one call, whatever the process does (webhook, chat, staff, sweep)."""
    code = """
import collections, os
os.environ.update(AWS_DEFAULT_REGION="eu-central-1", AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x",
                  PUBLIC_BASE_URL="https://f.example/api", SUPPORT_NUMBER="+4930901820",
                  EMERGENCY_NUMBER="+4930901821", TWILIO_ACCOUNT_SID="AC" + "1" * 32,
                  TABLE_PREFIX="friday-night-prod-")  # the prod stage's variables come from .chalice/config.json
from moto import mock_aws
with mock_aws():
    import boto3
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/friday-night/prod/twilio-auth-token", Value="tok", Type="SecureString")
    ssm.put_parameter(Name="/friday-night/prod/admin-api-key", Value="admin-key", Type="SecureString")
    import botocore.session
    made, sessions, calls = collections.Counter(), set(), collections.Counter()
    original = botocore.session.Session.create_client
    def counting(self, service_name, *args, **kwargs):
        made[service_name] += 1
        sessions.add(id(self))
        client = original(self, service_name, *args, **kwargs)
        client.meta.events.register("before-call.*.*", lambda model, **kw: calls.update([model.name]))
        return client
    botocore.session.Session.create_client = counting
    from chalice.test import Client
    from twilio.request_validator import RequestValidator
    from app import app
    from chalicelib import store
    store.create_tables()
    with Client(app, stage_name="prod") as client:
        params = {"MessageSid": "SM" + "a" * 32, "AccountSid": "AC" + "1" * 32, "From": "+4917712345678",
                  "To": "+4930901820", "Body": "hello, our shop is down since this morning", "NumMedia": "0"}
        from urllib.parse import urlencode
        sig = RequestValidator("tok").compute_signature("https://f.example/api/twilio/sms", params)
        r = client.http.post("/twilio/sms", body=urlencode(params), headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sig})
        assert r.status_code == 200 and b"<Message>" in r.body, r.body
        assert client.http.get("/people", headers={"Authorization": "Bearer admin-key"}).status_code == 200
        import json
        r = client.http.post("/chat/sessions", body=json.dumps({"name": "Mia"}),
                             headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.body
        client.lambda_.invoke("handoff_sweep", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
print(dict(made), len(sessions), calls["GetParameters"], calls["GetParameter"])
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    made, sessions, batched, single = out.stdout.strip().splitlines()[-1].rsplit(" ", 3)
    assert made == "{'dynamodb': 1, 'ssm': 1}" and sessions == "1", out.stdout
    assert (batched, single) == ("1", "0")  # both secrets in one call, kept for the warm Lambda
