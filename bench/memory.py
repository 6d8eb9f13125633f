"""`make run` under load: its memory after every 500 of 2,000 requests (issue 23: it grew from
263 MB to 2.6 GB over ~1,500 requests).

Starts `make run`'s server (python -m scripts.run_local) on a free port, sends a mix a small team
sees (customer texts from 200 numbers, signed; staff reading the queue and tickets; the chat
page), and reads the server's resident memory (/proc) as it goes, with the embedded DynamoDB's
(moto keeps every item in memory: that part grows with the data, as any database does).

    python -m bench.memory [requests]
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the embedded DynamoDB runs in-process)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main(total: int = 2000) -> int:
    from scripts.sms import ACCOUNT_SID, post_signed

    port = _free_port()
    env = {**os.environ, "PORT": str(port), "SCHEDULE_TICK_SECONDS": "60"}
    server = subprocess.Popen([sys.executable, "-m", "scripts.run_local"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/openapi.json", timeout=1).read()
                break
            except OSError:
                time.sleep(0.25)
        admin = {"Authorization": "Bearer local-admin-key"}
        samples = [(0, _rss_mb(server.pid))]
        started = time.perf_counter()
        for i in range(1, total + 1):
            kind = i % 4
            if kind in (0, 1):
                post_signed(base, "/twilio/sms", {
                    "MessageSid": f"SM{i:032x}", "AccountSid": ACCOUNT_SID, "From": f"+4917755{i % 200:06d}",
                    "To": "+15005550006", "Body": f"hello, order {i} has not arrived yet", "NumMedia": "0"})
            elif kind == 2:
                request = urllib.request.Request(base + "/tickets?limit=20", headers=admin)
                json.loads(urllib.request.urlopen(request, timeout=10).read())
            else:
                urllib.request.urlopen(base + "/chat", timeout=10).read()
            if i % 500 == 0:
                samples.append((i, _rss_mb(server.pid)))
        seconds = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
    print(f"make run under {total} requests ({seconds:.0f} s; texts from 200 numbers, the queue, the chat page): "
          "resident memory " + ", ".join(f"{n}: {mb:.0f} MB" for n, mb in samples))
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 2000))
