"""`make run`: Friday Night on this machine, no AWS or Twilio account needed.

Starts moto's DynamoDB on loopback, creates the tables, seeds a demo team,
serves the Chalice app on 127.0.0.1:$PORT, runs every @app.schedule handler
on its schedule in a background thread, and prints outbound SMS/calls
(the outbox, also at GET /dev/outbox). Ctrl-C stops everything.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent

DEFAULTS = {
    "ADMIN_API_KEY": "local-admin-key",
    "TWILIO_AUTH_TOKEN": "local-auth-token",
    "SUPPORT_NUMBER": "+15005550006",
    "EMERGENCY_NUMBER": "+15005550007",
}


def _serialise_dynamodb_calls() -> None:
    """One DynamoDB call at a time, as each real DynamoDB call is atomic: moto's server is not
    (a transaction that fails restores a table copy without a lock, so concurrent webhooks lost
    texts: issue 23). Local mode only; a deployed Lambda talks to DynamoDB itself."""
    import botocore.endpoint

    lock = threading.Lock()
    send = botocore.endpoint.Endpoint._send

    def serialised(self, request):
        with lock:
            return send(self, request)

    botocore.endpoint.Endpoint._send = serialised


def _forget_moto_instances() -> None:
    """moto keeps every model object it ever made in a list per class, for its dashboard
    (`BaseModel.__new__` → `instances_tracked`), and its transact_write_items deep-copies each table
    it touches (its rollback): every transaction kept a whole copy of the table alive, so `make run`
    grew from 117 MB to 5 GB over 2,000 requests (issue 23). Local mode has no dashboard: new objects
    are not tracked, and memory stays flat (bench/memory.py)."""
    from moto.core.common_models import BaseModel

    def untracked(cls, *args, **kwargs):
        return object.__new__(cls)

    BaseModel.__new__ = untracked


def one_request_per_thread() -> None:
    """Chalice keeps the request being answered on the app object (`app.current_request`): right in
    Lambda, where a process answers one event at a time, wrong in chalice's threaded local server.
    Two fetches of one page at once (the console asks for open and pending tickets together) read
    each other's query strings. Local mode keeps it per thread, so each request reads its own."""
    from chalice.app import Chalice

    slot = threading.local()
    for name in ("current_request", "lambda_context"):
        setattr(Chalice, name, property(lambda self, n=name: getattr(slot, n, None),
                                        lambda self, value, n=name: setattr(slot, n, value)))


def _deeper_listen_queue() -> None:
    """socketserver listens with a queue of 5: a burst of webhooks (Twilio sends them in parallel)
    found the door shut (connection reset). A real API Gateway queues them; so does this, for 128."""
    from chalice.local import ThreadedHTTPServer

    ThreadedHTTPServer.request_queue_size = 128


def every_method_answered() -> None:
    """http.server answers a method it has no handler for (TRACE, QUERY) with its own 501 HTML page; the
    app answers 405 in the contract's shape, as API Gateway refuses a method the API lacks."""
    from chalice.local import ChaliceRequestHandler

    def other_method(self, name):
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    ChaliceRequestHandler.__getattr__ = other_method


def _quiet_access_log() -> None:
    """The access log names method, path and status, never the query string (calendar tokens and
    report signatures travel there: issue 23)."""
    from chalice.local import ChaliceRequestHandler

    def log_request(self, code="-", size="-"):
        method, _, rest = self.requestline.partition(" ")
        self.log_message('"%s %s" %s', method, rest.split(" ")[0].split("?")[0], code)

    ChaliceRequestHandler.log_request = log_request


def _env(port: int) -> dict[str, str]:
    """Fills unset variables with development defaults; returns what it chose."""
    chosen = {}
    defaults = dict(DEFAULTS, PUBLIC_BASE_URL=f"http://127.0.0.1:{port}")
    for name, value in defaults.items():
        if not os.environ.get(name):
            os.environ[name] = value
            chosen[name] = value
    # Fake AWS credentials: the embedded DynamoDB accepts anything, real AWS is never called.
    for name, value in {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
                        "AWS_DEFAULT_REGION": "eu-central-1"}.items():
        os.environ.setdefault(name, value)
    os.environ.pop("AWS_PROFILE", None)
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")  # the console shows the outbox; JSON logs on demand
    return chosen


def _scheduler(app, stop: threading.Event, tick_seconds: float) -> threading.Thread:
    """Runs every schedule handler each `tick_seconds` (each is rate(1 minute) or finer-grained in code)."""
    from chalice.app import ScheduledEventConfig

    handlers = [(s.name, app.handler_map[s.name]) for s in app.event_sources
                if isinstance(s, ScheduledEventConfig)]

    def loop():
        # At once, then every tick: /status is honest from the first request (every sweep has run).
        while True:
            for name, handler in handlers:
                event = {"version": "0", "id": "local", "detail-type": "Scheduled Event", "source": "aws.events",
                         "account": "000000000000", "region": os.environ["AWS_DEFAULT_REGION"],
                         "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "resources": [],
                         "detail": {}}
                try:
                    handler(event, None)
                except Exception as exc:  # noqa: BLE001 - keep the loop alive, show the failure
                    print(f"[schedule] {name} failed: {exc!r}", flush=True)
            if stop.wait(tick_seconds):
                return

    thread = threading.Thread(target=loop, name="schedules", daemon=True)
    thread.start()
    print(f"Schedules: {', '.join(n for n, _ in handlers) or 'none'} every {tick_seconds:g}s", flush=True)
    return thread


def _no_route_in_contract_shape() -> None:
    """As the deployed template's GatewayResponse does: an unknown route is a 404 in the contract's
    shape, not the gateway's "Missing Authentication Token"."""
    from chalice import local

    from chalicelib.errors import no_route_body

    class NoRoute(local.LocalGatewayException):
        CODE = 404

    original = local.LocalGateway.handle_request

    def handle_request(self, method, path, headers, body):
        try:
            return original(self, method, path, headers, body)
        except local.ForbiddenError as exc:
            if b"Missing Authentication Token" in (exc.body or b"") or b"Authorization header" in (exc.body or b""):
                raise NoRoute({"Content-Type": "application/json"}, no_route_body()) from None
            raise

    local.LocalGateway.handle_request = handle_request


def _port_free(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        # As the server binds (allow_reuse_address): a port the last run left in TIME_WAIT is free;
        # without it a restart right after Ctrl-C was told "in use" for a minute.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    if not _port_free(port):
        print(f"make run: port {port} on 127.0.0.1 is in use (another make run?); try PORT={port + 1} make run",
              file=sys.stderr, flush=True)
        return 2
    start = os.environ.get("START")
    chosen = _env(port)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))

    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
    _forget_moto_instances()

    dynamo = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    dynamo.start()
    host, dport = dynamo.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL_DYNAMODB"] = f"http://{host}:{dport}"

    from chalice.cli.factory import CLIFactory
    from chalice.local import create_local_server

    factory = CLIFactory(str(ROOT))
    config = factory.create_config_obj(chalice_stage_name="local")
    for name, value in config.environment_variables.items():
        os.environ.setdefault(name, value)

    from app import app
    from chalicelib import clock, devtools, notify, store
    from chalicelib import config as app_config  # `config` here is Chalice's

    if start:
        try:
            clock.start_at(datetime.fromisoformat(start))
        except ValueError:
            print(f"make run: START={start!r} is not a time with its zone, like 2026-12-04T22:00+01:00",
                  file=sys.stderr, flush=True)
            dynamo.stop()
            return 2

    store.create_tables()
    seeded = devtools.seed(clock.now())
    devtools.register(app)
    notify.echo = lambda e: print(f"[outbox] {e['kind']} to {e['to']}: {e.get('body') or e.get('url')}",
                                  flush=True)

    print(f"Embedded DynamoDB (moto) on http://{host}:{dport}", flush=True)
    for name, value in chosen.items():
        print(f"  {name}={value}   (development default)", flush=True)
    hours = os.environ.get("BUSINESS_HOURS", "mon-fri 09:00-17:00")
    zone = app_config.business_timezone()
    print(f"Business hours: {hours} {zone} (BUSINESS_HOURS, BUSINESS_TIMEZONE); "
          f"the clock reads {clock.now().astimezone(ZoneInfo(zone)):%a %d %b %H:%M %Z}"
          + (" (START)" if start else " (START=2026-12-04T22:00+01:00 make run: a Friday night)"), flush=True)
    print("Data lives in memory: everything is gone when make run stops.", flush=True)
    print(f"Admin API key: {os.environ['ADMIN_API_KEY']}", flush=True)
    for person, key in seeded:
        print(f"  demo {person['role']:5} {person['name']:<13} {person['phone']}  key {key}", flush=True)

    _serialise_dynamodb_calls()
    one_request_per_thread()
    _deeper_listen_queue()
    every_method_answered()
    _quiet_access_log()
    stop = threading.Event()
    _scheduler(app, stop, float(os.environ.get("SCHEDULE_TICK_SECONDS", "60")))
    _no_route_in_contract_shape()
    server = create_local_server(app, config, "127.0.0.1", port)

    def shutdown(*_):
        stop.set()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, shutdown)
    signal.signal(signal.SIGTERM, shutdown)
    print(f"Try: curl -s http://127.0.0.1:{port}/tickets -H 'Authorization: Bearer "
          f"{os.environ['ADMIN_API_KEY']}'", flush=True)
    try:
        server.serve_forever()
    finally:
        stop.set()
        dynamo.stop()
        print("Stopped.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
