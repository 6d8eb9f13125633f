"""The web chat's page: static HTML and its script, served by the app itself (no CDN, no inline
script); the chat's requests go to the use cases in ``usecases.chat``. Its words come from the
customers' catalogue (context "page"), in the visitor's language."""
from __future__ import annotations

import html
import json
from pathlib import Path

from chalicelib.domain.words import C_, LANGUAGES, translate_ctx

_HERE = Path(__file__).parent

# The page's words, by their place in chat.html ({{t:key}}).
PAGE = {
    "title": C_("page", "Chat with us"),
    "start_title": C_("page", "Start a chat"),
    "language": C_("page", "Language"),
    "name": C_("page", "Your name"),
    "contact": C_("page", "Phone (optional, so we can call or text you back)"),
    "start": C_("page", "Start chat"),
    "conversation": C_("page", "Conversation"),
    "message": C_("page", "Your message"),
    "send": C_("page", "Send"),
    "hint": C_("page", "Enter sends · Shift+Enter for a new line · write URGENT if it can't wait"),
}
# The words chat.js shows, handed to it in the page's data-words attribute.
SCRIPT = {
    "support": C_("page", "Support"),
    "survey": C_("page", "Did this answer your question?"),
    "yes": C_("page", "Yes"),
    "no": C_("page", "No"),
    "retry": C_("page", "Not sent — retry"),
    "not_sent": C_("page", "Message not sent: {error}. Retry"),
}
# The launcher widget.js adds to the company's own pages.
WIDGET = {
    "open": C_("page", "Chat with us"),
    "close": C_("page", "Close chat"),
    "title": C_("page", "Support chat"),
}
# Each language named in itself, for the menu (a language added to LANGUAGES without a name here
# is offered by its code).
NAMES = {"en": "English", "de": "Deutsch", "fr": "Français", "ro": "Română"}


def page(greeting: str, lang: str = "en") -> str:
    """The page, with the truth about now before a chat starts (escaped: it is text), in the
    visitor's language (the page's `lang`, which screen readers follow, and its words)."""
    text = (_HERE / "chat.html").read_text(encoding="utf-8")
    for key, (context, msgid) in PAGE.items():
        text = text.replace("{{t:%s}}" % key, html.escape(translate_ctx(lang, context, msgid)))
    script_words = {key: translate_ctx(lang, context, msgid, error="{error}")  # chat.js fills in {error}
                    for key, (context, msgid) in SCRIPT.items()}
    menu = "".join(f'<option value="{code}"{" selected" if code == lang else ""} lang="{code}">'
                   f"{html.escape(NAMES.get(code, code))}</option>" for code in LANGUAGES)
    return (text.replace("{{greeting}}", html.escape(greeting)).replace("{{languages}}", menu)
            .replace("{{script_words}}", html.escape(json.dumps(script_words, ensure_ascii=False)))
            .replace('<html lang="en">', f'<html lang="{html.escape(lang)}">'))


def script() -> str:
    return (_HERE / "chat.js").read_text(encoding="utf-8")


def widget(lang: str) -> str:
    """widget.js with its words in `lang` (JSON strings: nothing a translation holds can break out)."""
    text = (_HERE / "widget.js").read_text(encoding="utf-8").replace("{{lang}}", lang if lang in LANGUAGES else "en")
    for key, (context, msgid) in WIDGET.items():
        text = text.replace("{{%s}}" % key, json.dumps(translate_ctx(lang, context, msgid)))
    return text
