"""`make bench`: DynamoDB round trips and in-process time per request and per sweep.

Runs against moto in-process: the round-trip counts are exact and are what
matters (each costs ~5-10 ms on real DynamoDB); milliseconds here are moto's
and only compare runs on one machine. Figures go in docs/benchmarks.md.
"""
from __future__ import annotations

import os
import statistics
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

from bench.harness import call, counted, fmt

FRIDAY_NIGHT = datetime(2026, 11, 20, 21, 0, tzinfo=timezone.utc)
# The engine's metrics are EMF lines on stdout (CloudWatch reads them from the log): here they would
# be noise between the figures. The first-request bench's interpreters keep theirs (part of the cost).
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")


def staff_api(http) -> None:
    ben_key = call(http, "post", "/people", {"name": "Dana Bench", "tier": 1}).json_body["api_key"]
    print("\nStaff API: DynamoDB round trips per request (20 requests each, median time)")
    ticket_ids: list[int] = []

    def measure(label, method, path_fn, payload=None, key="bench-admin-key", n=20):
        times, calls = [], None
        for i in range(n):
            with counted() as r:
                resp = call(http, method, path_fn(i), payload(i) if callable(payload) else payload, key=key)
            assert resp.status_code < 400, (label, resp.status_code, resp.body)
            if label == "open ticket (POST /tickets)":
                ticket_ids.append(resp.json_body["id"])
            times.append(r["ms"])
            calls = r["calls"]
        print(f"  {label:<34} {sum(calls.values()):>2} round trips ({fmt(calls)}); "
              f"median {statistics.median(times):.1f} ms")

    measure("open ticket (POST /tickets)", "post", lambda i: "/tickets",
            lambda i: {"text": "our shop is down", "contact": f"+4915100001{i:03d}"})
    measure("get ticket", "get", lambda i: f"/tickets/{ticket_ids[i]}")
    measure("reply (agent key)", "post", lambda i: f"/tickets/{ticket_ids[i]}/reply", {"text": "on it"}, key=ben_key)
    measure("ack", "post", lambda i: f"/tickets/{ticket_ids[i]}/ack")
    measure("list tickets (limit 20)", "get", lambda i: "/tickets?limit=20")
    measure("resolve", "post", lambda i: f"/tickets/{ticket_ids[i]}/resolve")


def webhooks(http) -> None:
    """Inbound SMS through the signed webhook, Twilio's REST client caught at the HTTP layer."""
    import os

    import responses
    from twilio.request_validator import RequestValidator

    from chalicelib import clock, notify

    sid = "AC" + "0" * 32
    os.environ["TWILIO_ACCOUNT_SID"] = sid
    notify._client_cache.clear()
    validator = RequestValidator(os.environ["TWILIO_AUTH_TOKEN"])
    handed: list[float] = []

    def message(request):
        handed.append(time.perf_counter())
        return 201, {}, '{"sid": "SM%032d", "status": "queued"}' % len(handed)

    def post(params):
        params = {"AccountSid": sid, "To": os.environ["SUPPORT_NUMBER"], **params}  # as Twilio sends them
        url = os.environ["PUBLIC_BASE_URL"] + "/twilio/sms"
        headers = {"Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": validator.compute_signature(url, params)}
        return http.post("/twilio/sms", headers=headers, body=urlencode(params))

    print("\nTwilio webhooks: inbound SMS (signed), DynamoDB round trips and time")
    clock.set_now(FRIDAY_NIGHT)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_callback(responses.POST, f"https://api.twilio.com/2010-04-01/Accounts/{sid}/Messages.json",
                          callback=message)
        rows = {"new customer text": [], "follow-up text (same burst)": [], "retried webhook": [],
                "urgent text → page": []}
        latencies = []
        for i in range(20):
            phone = f"+4917700{i:06d}"
            params = {"MessageSid": f"SM{i:032d}", "From": phone, "Body": "hello", "NumMedia": "0"}
            with counted() as r:
                assert post(params).status_code == 200
            rows["new customer text"].append(r)
            with counted() as r:
                assert post(params).status_code == 200
            rows["retried webhook"].append(r)
            with counted() as r:
                post({**params, "MessageSid": f"SMb{i:031d}", "Body": "more detail"})
            rows["follow-up text (same burst)"].append(r)
            handed.clear()
            start = time.perf_counter()
            with counted() as r:
                post({**params, "MessageSid": f"SMc{i:031d}", "From": f"+4917800{i:06d}",
                      "Body": "URGENT our shop is down"})
            rows["urgent text → page"].append(r)
            assert handed, "the page was not handed to the Twilio client"
            latencies.append((handed[0] - start) * 1000)
        for label, results in rows.items():
            calls = results[-1]["calls"]
            print(f"  {label:<30} {sum(calls.values()):>2} round trips ({fmt(calls)}); "
                  f"median {statistics.median(r['ms'] for r in results):.1f} ms")
        print(f"  urgent SMS → page handed to Twilio's client: median {statistics.median(latencies):.1f} ms, "
              f"max {max(latencies):.1f} ms (within the same request)")
    os.environ.pop("TWILIO_ACCOUNT_SID")
    notify._client_cache.clear()
    clock.set_now(None)


def sweeps() -> None:
    """The tier sweep over 100 and over 10,000 open tickets with the same 10 due."""
    from chalicelib import store
    from chalicelib.store import models
    from chalicelib.usecases import paging, tier_moves

    print("\nSweeps: DynamoDB calls grow with what is due, not with the table")
    for total in (100, 10_000):
        for model in (models.Ticket, models.TicketItem, models.Page, models.Person, models.OutboxItem,
                      models.Outbound, models.Limit):
            model.delete_table()
        store.create_tables()
        t0 = time.perf_counter()
        with models.Ticket.batch_write() as batch:
            for i in range(1, total + 1):
                due = FRIDAY_NIGHT - timedelta(minutes=5) if i <= 10 else FRIDAY_NIGHT + timedelta(hours=10)
                batch.save(models.Ticket(id=i, status="open", channel="sms", priority="normal", tier=1,
                                        owner="up-for-grabs", created_at=FRIDAY_NIGHT, updated_at=FRIDAY_NIGHT,
                                        tier_due_pk="due", tier_due_at=due, seq=0, version=1))
        models.Person(id="p_bench", name="Bench Holder", phone="+4915100009999", role="admin", tier=1,
                     created_at=FRIDAY_NIGHT).save()
        store.begin_unit()
        chain = [{"person_id": "p_bench", "role": "holder"}]
        with models.Page.batch_write() as batch:
            for i in range(1, total + 1):
                due = FRIDAY_NIGHT - timedelta(minutes=1) if i <= 10 else None
                opened = FRIDAY_NIGHT - timedelta(minutes=11)
                # The SMS step went out 11 minutes ago and nobody acknowledged: the call is due.
                batch.save(models.Page(id=f"t{i}", ticket_id=i, chain=chain, step=0, attempt="sms",
                                      status="open" if due else "acked", created_at=opened, updated_at=opened,
                                      key=f"{opened.isoformat()}|0.0.sms", sent=True, sent_at=opened,
                                      text=f"URGENT #{i}", due_pk="due" if due else None, due_at=due))
        fill = time.perf_counter() - t0
        with counted() as r:
            looked = tier_moves.tier_sweep(FRIDAY_NIGHT)
        with counted() as p:
            pages = paging.sweep(FRIDAY_NIGHT)
        print(f"  {total:>6} open tickets, 10 due: tier sweep {sum(r['calls'].values())} calls "
              f"({fmt(r['calls'])}), {looked} moved, {r['ms']:.0f} ms; (filled in {fill:.1f} s)")
        paged = sum(p["calls"].values())
        fixed = p["calls"].get("Query", 0)
        print(f"  {total:>6} open pages,   10 due: page sweep {paged} calls ({fmt(p['calls'])}), {pages} steps "
              f"taken and sent: {(paged - fixed) / 10:.1f} calls per due page, after {fixed} Queries per sweep "
              f"(the outbox's and the pages' due indexes)")


def reconcile_run() -> None:
    """One reconcile run over 285 inbound sids in Twilio's list, every one handled by its webhook."""
    import os

    from chalicelib import notify, store
    from chalicelib.store import models
    from chalicelib.usecases import reconcile

    now = FRIDAY_NIGHT
    listed = [{"sid": f"SM{i:032x}", "from": f"+4917712{i:06d}", "to": os.environ["SUPPORT_NUMBER"], "body": "hi",
               "num_media": 0, "at": now - timedelta(minutes=3)} for i in range(285)]
    with models.IdempotencyKey.batch_write() as batch:
        for m in listed:
            batch.save(models.IdempotencyKey(key=f"sms#{m['sid']}", created_at=now, expires_at=now + timedelta(days=3)))
    real, notify.inbound_since = notify.inbound_since, lambda since: (listed, [])
    os.environ["TWILIO_ACCOUNT_SID"] = "AC" + "0" * 32
    try:
        store.begin_unit()
        with counted() as r:
            from chalicelib.channels import sms, twilio_hooks

            reconcile.sweep(now, reconcile.Inbound(sms=sms.webhook, nothing=twilio_hooks.EMPTY_TWIML))
    finally:
        notify.inbound_since = real
        os.environ.pop("TWILIO_ACCOUNT_SID")
    print(f"\nReconcile run over {len(listed)} inbound sids already handled: {sum(r['calls'].values())} DynamoDB "
          f"calls ({fmt(r['calls'])}): the claims 100 to a BatchGetItem")


def first_request() -> None:
    """The first request of a cold Lambda as deployed, against the floor (bench/firstrequest.py),
    in a process of its own: its own moto server and the prod stage's variables. (The imports
    alone, bench/coldstart.py, no longer tell what a customer waits for.)"""
    import subprocess

    print()
    sys.stdout.flush()
    subprocess.run([sys.executable, "-m", "bench.firstrequest", "15"], check=True)


def history_reads(http) -> None:
    """Items read to open a ticket: the same on a quiet day and after 60 resolved tickets."""
    from chalicelib import store
    from chalicelib.store import models

    print("\nItems read to open a ticket (owner chosen from per-person open counters)")
    for model in (models.Ticket, models.TicketItem, models.Counter):
        model.delete_table()
    store.create_tables()
    payload = {"text": "our shop is down", "contact": "+4915100009876"}
    with counted() as quiet:
        ticket = call(http, "post", "/tickets", payload).json_body
    for _ in range(60):
        call(http, "post", f"/tickets/{ticket['id']}/resolve")
        ticket = call(http, "post", "/tickets", payload).json_body
    call(http, "post", f"/tickets/{ticket['id']}/resolve")
    with counted() as busy:
        call(http, "post", "/tickets", payload)
    print(f"  quiet day: {quiet['items']} items in {sum(quiet['calls'].values())} calls; after 60 resolved "
          f"tickets: {busy['items']} items in {sum(busy['calls'].values())} calls")


def polls(http) -> None:
    """The console's inbox poll (issue 36): bytes and DynamoDB items when something changed and when
    nothing did (If-None-Match: 304, no body), at 61 active tickets; and what three consoles polling
    every 5 s, nine hours a day, 22 working days, move in a month."""
    from chalicelib import store
    from chalicelib.store import models

    print("\nInbox polls: bytes and DynamoDB items per poll (61 active tickets, GET /tickets?status=open)")
    for model in (models.Ticket, models.TicketItem, models.Counter, models.Contact):
        model.delete_table()
    store.create_tables()
    for n in range(61):
        call(http, "post", "/tickets", {"text": f"question {n} about an order that never came",
                                        "contact": f"+491510{n:07d}"})
    path = "/tickets?status=open&limit=100"
    with counted() as changed:
        first = call(http, "get", path)
    etag = first.headers["ETag"]
    with counted() as same:
        again = http.get(path, headers={"Authorization": "Bearer bench-admin-key", "If-None-Match": etag})
    assert again.status_code == 304, again.status_code
    polls_a_month = 3 * (9 * 3600 // 5) * 22
    print(f"  changed:   200, {len(first.body):>6,} bytes, {changed['items']:>3} items in "
          f"{sum(changed['calls'].values())} calls")
    print(f"  unchanged: 304, {len(again.body):>6,} bytes, {same['items']:>3} items in "
          f"{sum(same['calls'].values())} calls (the ETag is a hash of the answer: it saves bytes, not reads)")
    print(f"  three consoles, every 5 s, 9 h a day, 22 days: {polls_a_month:,} polls a month; at most "
          f"{polls_a_month * len(first.body) / 1e9:.1f} GB if every poll changed, "
          f"{polls_a_month * len(again.body) / 1e9:.1f} GB of bodies when none did")


def main() -> int:
    import logging

    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import store
    from chalicelib.logs import logger

    logger.setLevel(logging.WARNING)
    with mock_aws(), Client(app, stage_name="test") as client:
        store.create_tables()
        http = client.http
        for name, tier in (("Ana Lopez", 1), ("Ben Okafor", 1), ("Chloe Martin", 2)):
            call(http, "post", "/people", {"name": name, "tier": tier,
                                           "phone": f"+49151000000{tier}{len(name)}"})
        ids = [p["id"] for p in call(http, "get", "/people").json_body["items"]]
        call(http, "put", "/rota", {"timezone": "Europe/Berlin", "handoff": {"weekday": "friday", "time": "18:00"},
                                    "shift_days": 7, "members": ids, "start": "2026-11-20"})
        staff_api(http)
        history_reads(http)
        polls(http)
        webhooks(http)
        sweeps()
        reconcile_run()
    first_request()
    from bench import languages

    print("\n" + languages.report())
    return 0


if __name__ == "__main__":
    sys.exit(main())
