"""The staff console's files: one HTML shell for every page, its ES module and its styles.

The console is a client of the JSON API (one set of rules): the shell is the same for every page,
the script reads the page from the URL and renders it from the API's answers. Every URL is
relative to where the page was served, so it works under a stage path (".../api/console").
"""
from __future__ import annotations

import hashlib
from pathlib import Path

_HERE = Path(__file__).parent / "console"
PAGES = ("rota", "people", "templates", "status", "report")
_CACHE: dict[str, tuple[str, str]] = {}


def page(depth: int) -> str:
    """The shell for a page `depth` levels below /console (its assets are "../" * depth + name)."""
    prefix = "../" * depth
    return (_HERE / "console.html").read_text(encoding="utf-8").replace("{{prefix}}", prefix)


def asset(name: str) -> tuple[str, str]:
    """A file's text and its ETag (a hash of the content), read once per process."""
    if name not in _CACHE:
        text = (_HERE / name).read_text(encoding="utf-8")
        _CACHE[name] = (text, '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"')
    return _CACHE[name]
