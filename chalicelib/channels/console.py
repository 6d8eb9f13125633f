"""The staff console's files: one HTML shell for every page, its ES module and its styles.

The console is a client of the JSON API (one set of rules): the shell is the same for every page,
the script reads the page from the URL and renders it from the API's answers. Every URL is
relative to where the page was served, so it works under a stage path (".../api/console").
"""
from __future__ import annotations

import hashlib
import html
import json
from functools import cache
from pathlib import Path

from chalicelib.domain.words import LANGUAGES, unfilled_ctx

_HERE = Path(__file__).parent / "console"
PAGES = ("rota", "people", "templates", "status", "report")
_CACHE: dict[str, tuple[str, str]] = {}


@cache
def _texts() -> tuple[str, ...]:
    """The console's texts (context "console"), listed by `make catalogues` in words.json."""
    return tuple(json.loads((_HERE / "words.json").read_text(encoding="utf-8")))


def words(lang: str) -> dict[str, str]:
    """The console's words in `lang`, keyed by the English text (only those that differ)."""
    out = {}
    for text in _texts():
        said = unfilled_ctx(lang, "console", text)
        if said != text:
            out[text] = said
    return out


def page(depth: int, lang: str = "en") -> str:
    """The shell for a page `depth` levels below /console (its assets are "../" * depth + name), in
    the reader's language: its `lang` and its words (an attribute the script reads: no inline script)."""
    lang = lang if lang in LANGUAGES else "en"
    return ((_HERE / "console.html").read_text(encoding="utf-8").replace("{{prefix}}", "../" * depth)
            .replace("{{lang}}", lang)
            .replace("{{words}}", html.escape(json.dumps(words(lang), ensure_ascii=False), quote=True)))


def asset(name: str) -> tuple[str, str]:
    """A file's text and its ETag (a hash of the content), read once per process."""
    if name not in _CACHE:
        text = (_HERE / name).read_text(encoding="utf-8")
        _CACHE[name] = (text, '"' + hashlib.sha256(text.encode()).hexdigest()[:20] + '"')
    return _CACHE[name]
