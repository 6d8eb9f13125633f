"""The web chat's page: static HTML and its script, served by the app itself (no CDN, no inline
script); the chat's requests go to the use cases in ``usecases.chat``."""
from __future__ import annotations

import html
from pathlib import Path

_HERE = Path(__file__).parent


def page(greeting: str, lang: str = "en") -> str:
    """The page, with the truth about now before a chat starts (escaped: it is text), in the
    visitor's language (the page's `lang`, which screen readers follow)."""
    return ((_HERE / "chat.html").read_text(encoding="utf-8").replace("{{greeting}}", html.escape(greeting))
            .replace('<html lang="en">', f'<html lang="{html.escape(lang)}">'))


def script() -> str:
    return (_HERE / "chat.js").read_text(encoding="utf-8")
