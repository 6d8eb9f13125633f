"""The web chat's page: static HTML served by the app itself (no CDN); the chat's requests go to
the use cases in ``usecases.chat``."""
from __future__ import annotations

from pathlib import Path


def page() -> str:
    return (Path(__file__).parent / "chat.html").read_text(encoding="utf-8")
