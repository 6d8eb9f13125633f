"""`make bench`: DynamoDB round trips and in-process time per request.

Runs against moto in-process: the round-trip counts are exact and what
matters (each is ~5-10 ms on real DynamoDB); milliseconds here are moto's and
only compare runs on one machine.
"""
from __future__ import annotations

import statistics
import sys

from bench.harness import call, counted, fmt


def main() -> int:
    from chalice.test import Client
    from moto import mock_aws

    from app import app
    from chalicelib import store

    with mock_aws(), Client(app, stage_name="test") as client:
        store.create_tables()
        http = client.http
        for name, tier in (("Ana Lopez", 1), ("Ben Okafor", 1), ("Chloe Martin", 2)):
            call(http, "post", "/people", {"name": name, "tier": tier})
        ben_key = call(http, "post", "/people", {"name": "Dana Bench", "tier": 1}).json_body["api_key"]
        print("Requests (staff API), DynamoDB round trips per request:")
        rows = []
        ticket_ids = []

        def measure(label, method, path_fn, payload=None, key="bench-admin-key", n=20):
            times, calls = [], None
            for i in range(n):
                with counted() as r:
                    resp = call(http, method, path_fn(i), payload(i) if callable(payload) else payload, key=key)
                assert resp.status_code < 400, (label, resp.status_code, resp.body)
                if label == "open ticket":
                    ticket_ids.append(resp.json_body["id"])
                times.append(r["ms"])
                calls = r["calls"]
            rows.append((label, sum(calls.values()), fmt(calls), statistics.median(times)))

        measure("open ticket", "post", lambda i: "/tickets",
                lambda i: {"text": "our shop is down", "contact": f"+4915100001{i:03d}"})
        measure("get ticket", "get", lambda i: f"/tickets/{ticket_ids[i]}")
        measure("reply (agent key)", "post", lambda i: f"/tickets/{ticket_ids[i]}/reply", {"text": "on it"},
                key=ben_key)
        measure("ack", "post", lambda i: f"/tickets/{ticket_ids[i]}/ack")
        measure("list tickets", "get", lambda i: "/tickets?limit=20")
        measure("resolve", "post", lambda i: f"/tickets/{ticket_ids[i]}/resolve")
        width = max(len(r[0]) for r in rows)
        for label, total, detail, ms in rows:
            print(f"  {label:<{width}}  {total:>2} round trips  ({detail})  median {ms:.1f} ms in-process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
