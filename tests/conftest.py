"""Shared fixtures: fresh tables per test, a clock the test moves, API helpers."""
from __future__ import annotations

import json
import os
from datetime import datetime, timedelta

import pytest

# Before anything creates a botocore client: fake credentials, a region, no real AWS.
os.environ.update({
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "eu-central-1", "FRIDAY_STAGE": "test", "TABLE_PREFIX": "test-",
    "ADMIN_API_KEY": "test-admin-key", "SUPPORT_NUMBER": "+4930901820", "EMERGENCY_NUMBER": "+4930901821",
    "PUBLIC_BASE_URL": "https://friday.example/api", "TWILIO_AUTH_TOKEN": "test-auth-token",
})
os.environ.pop("TWILIO_ACCOUNT_SID", None)
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)

from chalice.test import Client  # noqa: E402
from moto import mock_aws  # noqa: E402

from app import app  # noqa: E402
from chalicelib import clock, notify, store  # noqa: E402
from tests.data import ADMIN_KEY, ANA, BEN, CHLOE, CUSTOMER, FRIDAY_NIGHT  # noqa: E402,F401


@pytest.fixture(autouse=True, scope="session")
def no_scans():
    """DESIGN.md: no Scan in any request path or sweep. Any Scan anywhere fails the suite."""
    from pynamodb.connection import base

    real = base.Connection._make_api_call

    def guarded(self, operation_name, *args, **kwargs):
        assert operation_name != "Scan", "a DynamoDB Scan was issued; query a GSI instead"
        return real(self, operation_name, *args, **kwargs)

    base.Connection._make_api_call = guarded
    yield
    base.Connection._make_api_call = real


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """`make package STAGE=prod` into a folder of its own, once a run (test_package, test_deploy): with
    the suite spread over workers (pytest-xdist), the first worker packages under a lock in the run's
    shared temporary folder and the others use its package (xdist's documented pattern)."""
    import fcntl
    import subprocess
    import sys
    from pathlib import Path

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # common to every worker of this run
    out = shared / "dist-prod"
    with open(shared / "dist-prod.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "done").exists():
            out.mkdir(exist_ok=True)
            subprocess.run([sys.executable, "-m", "scripts.package", "--stage", "prod", "--out", str(out)],
                           cwd=Path(__file__).resolve().parent.parent, check=True, capture_output=True)
            (out / "done").write_text("packaged")
    return out


@pytest.fixture(autouse=True)
def tables(request):
    # botocore clients survive across tests (creating them costs ~0.1 s each);
    # moto intercepts every call at send time, so each test still gets empty tables.
    if request.node.get_closest_marker("pure") or request.node.get_closest_marker("own_aws"):
        yield  # domain rules: no DynamoDB at all; or an AWS of its own (a moto server: the deploy rehearsal)
        return
    with mock_aws():
        store.begin_unit()
        store.create_tables()
        notify.clear_outbox()
        yield


class Clock:
    def __init__(self, start: datetime):
        self.set(start)

    def set(self, when: datetime) -> None:
        self.now = when
        clock.set_now(when)

    def advance(self, **delta) -> datetime:
        self.set(self.now + timedelta(**delta))
        return self.now


@pytest.fixture
def clock_at():
    c = Clock(FRIDAY_NIGHT)
    yield c
    clock.set_now(None)


class Api:
    """chalice.test.Client with JSON and bearer keys: api.post("/people", {...}, key=...)."""

    def __init__(self, client: Client):
        self.http = client.http
        self.key = ADMIN_KEY

    def call(self, method: str, path: str, payload=None, *, key: str | None = "default", headers=None,
             raw: bytes | str | None = None):
        hdrs = {"Content-Type": "application/json"}
        key = self.key if key == "default" else key
        if key:
            hdrs["Authorization"] = f"Bearer {key}"
        hdrs.update(headers or {})
        body = raw if raw is not None else (json.dumps(payload) if payload is not None else None)
        return getattr(self.http, method)(path, headers=hdrs, body=body)

    def get(self, path, **kw):
        return self.call("get", path, **kw)

    def post(self, path, payload=None, **kw):
        return self.call("post", path, payload, **kw)

    def patch(self, path, payload=None, **kw):
        return self.call("patch", path, payload, **kw)

    def put(self, path, payload=None, **kw):
        return self.call("put", path, payload, **kw)

    def delete(self, path, **kw):
        return self.call("delete", path, **kw)

    # stories
    def person(self, name: str, phone: str | None = None, role: str = "agent", tier: int = 1) -> dict:
        payload = {"name": name, "role": role, "tier": tier}
        if phone:
            payload["phone"] = phone
        r = self.post("/people", payload, key=ADMIN_KEY)
        assert r.status_code == 201, r.body
        return r.json_body

    def ticket(self, text: str = "our shop is down", contact: str = "+4915112345678", **extra) -> dict:
        r = self.post("/tickets", {"text": text, "contact": contact, **extra}, key=ADMIN_KEY)
        assert r.status_code == 201, r.body
        return r.json_body


@pytest.fixture
def client():
    with Client(app, stage_name="test") as c:
        yield c


@pytest.fixture
def api(client, clock_at):
    return Api(client)


# --- the fake Twilio and a team with a rota ------------------------------------------



@pytest.fixture
def twilio(client, clock_at, monkeypatch):
    """Real twilio REST client against a fake Twilio; webhooks signed and replayed."""
    from tests.fake_twilio import ACCOUNT_SID, FakeTwilio

    monkeypatch.setenv("TWILIO_ACCOUNT_SID", ACCOUNT_SID)
    notify._client_cache.clear()
    with FakeTwilio(client.http, os.environ["TWILIO_AUTH_TOKEN"], os.environ["PUBLIC_BASE_URL"],
                    os.environ["SUPPORT_NUMBER"], os.environ["EMERGENCY_NUMBER"]) as fake:
        yield fake
        fake.assert_no_unexpected()
    notify._client_cache.clear()


@pytest.fixture
def team(api):
    """Ana (admin, tier 1), Ben (tier 1), Chloe (tier 2); rota Ana → Ben → Chloe, Fridays 18:00 Berlin."""
    return make_team(api)


def make_team(api) -> dict:
    people = {
        "ana": api.person("Ana Lopez", ANA, role="admin", tier=1),
        "ben": api.person("Ben Okafor", BEN, tier=1),
        "chloe": api.person("Chloe Martin", CHLOE, tier=2),
    }
    frozen = clock._frozen
    if frozen is None:
        clock.set_now(FRIDAY_NIGHT)  # the rota's history begins on a known Friday, whatever today is
    r = api.put("/rota", {"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"},
                          "shift_days": 7, "members": [people["ana"]["id"], people["ben"]["id"],
                                                       people["chloe"]["id"]], "start": "2026-11-20"})
    clock.set_now(frozen)
    assert r.status_code == 200, r.body
    return people


@pytest.fixture
def proxy(live_server):
    """The app behind an /api-only stage proxy, as deployed (the console and the chat in Chromium)."""
    from tests.browser import _serve, _stage_proxy

    url, server = _serve(_stage_proxy(live_server))
    yield url + "/api"
    server.shutdown()


@pytest.fixture
def live_server():
    """The app on a loopback port, in this process (so moto's mock applies)."""
    import threading

    from chalice.local import LocalDevServer

    from scripts.run_local import every_method_answered, one_request_per_thread

    config = Client(app, stage_name="test")._chalice_config
    server = LocalDevServer(app, config, "127.0.0.1", 0)
    every_method_answered()
    one_request_per_thread()  # as make run: a page's parallel fetches each read their own request
    # moto's in-process mock is not thread-safe either; real DynamoDB is atomic per call, and so is
    # this: one call at a time, as make run does with its server.
    from botocore.client import BaseClient

    lock = threading.RLock()
    call = BaseClient._make_api_call

    def one_at_a_time(self, *args, **kwargs):
        with lock:
            return call(self, *args, **kwargs)

    BaseClient._make_api_call = one_at_a_time
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server.server_address[:2]
    yield f"http://{host}:{port}"
    server.server.shutdown()
    BaseClient._make_api_call = call


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, one for the whole run (tests/browser.py)."""
    from tests.browser import launch_chromium

    yield from launch_chromium()


@pytest.fixture
def schedule(client):
    """Runs a scheduled handler as EventBridge would: schedule("page_sweep")."""

    def run(name: str) -> None:
        event = client.events.generate_cw_event(source="aws.events", detail_type="Scheduled Event", detail={},
                                                resources=[])
        client.lambda_.invoke(name, event)

    return run
