"""Browser tests' shared parts: Debian's Chromium (the fixture lives in conftest) and a proxy that
serves only /api/* as an API Gateway stage URL does."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
# Screenshots go to a build folder (never into tracked files); `make pictures` points this at docs/.
SHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or Path(__file__).resolve().parent.parent / "build" / "screenshots")


def launch_chromium():
    """Debian's chromium, installed by `make test` (Playwright's own download fails here)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium (make test does it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        browser.close()


def _serve(handler_class) -> tuple[str, object]:
    import threading
    from http.server import ThreadingHTTPServer

    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def _stage_proxy(upstream: str):
    """Answers only /api/* (forwarded to the app without the prefix), as an API Gateway stage URL."""
    import urllib.error
    import urllib.request
    from http.server import BaseHTTPRequestHandler

    class Proxy(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _forward(self):
            if not self.path.startswith("/api/"):
                body = b'{"message": "Forbidden"}'
                self.send_response(403)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
            req = urllib.request.Request(upstream + self.path[len("/api"):], data=data, headers=headers,
                                         method=self.command)
            try:
                with urllib.request.urlopen(req, timeout=20) as r:
                    status, rh, body = r.status, r.headers, r.read()
            except urllib.error.HTTPError as e:
                status, rh, body = e.code, e.headers, e.read()
            self.send_response(status)
            for name, value in rh.items():  # cookies, ETags, security headers: as API Gateway passes them
                if name.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = _forward

    return Proxy


