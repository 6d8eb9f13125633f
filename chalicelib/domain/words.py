"""Words for customers, from one gettext catalogue per language, and dates in each language's form.

The catalogues are chalicelib/locale/<lang>/LC_MESSAGES/customers.po (compiled to .mo beside it
by `make catalogues`, which also extracts every `translate`/`translate_ctx` call of the code into
customers.pot). The English texts are the message ids; English needs no catalogue. Adding a
language is its catalogue and its code in LANGUAGES (tests/test_words.py shows it with a fake
one). Texts sent by SMS stay in GSM-7 (tests/test_words.py checks every language): a catalogue
writes Romanian and French in the forms a GSM-7 phone shows, and a date keeps them too.
"""
from __future__ import annotations

import gettext
import os
import unicodedata
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path

# The GSM 03.38 alphabet: a text inside it is one SMS encoding (domain.texts counts segments).
GSM7 = frozenset("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
                 "¿abcdefghijklmnopqrstuvwxyzäöñüà^{}\\[~]|€")

LANGUAGES = ("en", "de", "fr", "ro")  # the first one is the catalogues' source language
SOURCE = LANGUAGES[0]
DOMAIN = "customers"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"


def C_(context: str, msgid: str) -> tuple[str, str]:  # noqa: N802 - a marker: extracted, translated later
    return context, msgid


# Words, not sentences, each language translates (a comma list where several are understood; the
# first is the one its texts name): the SMS word that switches to it, yes and no for the survey,
# and the word that makes a message urgent.
KEYWORDS = (C_("keyword", "ENGLISH"), C_("keyword", "YES"), C_("keyword", "NO"), C_("keyword", "URGENT"))


def supported(code: str | None) -> str | None:
    """'fr-FR', 'FR', 'fr_CA' → 'fr' when we write French; None for what we do not write."""
    if not isinstance(code, str):
        return None
    base = code.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an Accept-Language header (by its q weights) that we write."""
    ranked = []
    for i, part in enumerate((header or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, i, tag))
    for _, _, tag in sorted(ranked):
        if supported(tag):
            return supported(tag)
    return None


def business() -> str:
    return supported(os.environ.get("BUSINESS_LANGUAGE", "").strip()) or SOURCE


@cache
def _catalogue(lang: str) -> gettext.NullTranslations:
    if lang == SOURCE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, str(LOCALE_DIR), [lang])


def translate(lang: str | None, msgid: str, **values) -> str:
    """The text `msgid` in `lang` (else the business language), its {placeholders} filled."""
    return _catalogue(supported(lang) or business()).gettext(msgid).format(**values)


def translate_ctx(lang: str | None, context: str, msgid: str, **values) -> str:
    """As `translate`, for a text whose meaning needs its context ("chat" pages, "keyword" words)."""
    return _catalogue(supported(lang) or business()).pgettext(context, msgid).format(**values)


def unfilled_ctx(lang: str | None, context: str, msgid: str) -> str:
    """The text as the catalogue has it, its {placeholders} left for a page's script to fill."""
    return _catalogue(supported(lang) or business()).pgettext(context, msgid)


def sms_form(text: str) -> str:
    """A letter outside GSM-7 in its plain GSM-7 form where it has one (ș → s, â → a, ç → c, û → u),
    so an SMS stays one encoding and its segments are counted right; é, ä, ß stay (they are GSM-7)."""
    out = []
    for c in text:
        if c not in GSM7:
            base = unicodedata.normalize("NFD", c)[0]
            c = base if base in GSM7 else c
        out.append(c)
    return "".join(out)


def when(t: datetime, zone: tzinfo, lang: str | None, *, date: bool = False) -> str:
    """'Mon 09:00 CET', 'Mo. 09:00 CET', 'lun. 09:00 CET' (with `date`: 'lun. 7 dec. 09:00 CET'): the
    language's own form, in the reader's zone, which it names.

    English, the source language, is what the C library writes in the C locale (a Lambda's), the
    same as CLDR's (tests/test_words.py compares them over a year): a new customer's first text in
    English does not import Babel and load its locale data (issue 25, about 10 ms of a cold start)."""
    lang = supported(lang) or business()
    local = t.astimezone(zone)
    if lang == SOURCE:
        shown = f"{local:%a} {local.day} {local:%b %H:%M}" if date else f"{local:%a %H:%M}"
        return f"{shown} {local.tzname()}"
    from babel.dates import format_datetime

    shown = format_datetime(local, "EEE d MMM HH:mm" if date else "EEE HH:mm", locale=lang)
    return sms_form(f"{shown} {local.tzname()}")


def keywords() -> dict[str, str]:
    """The SMS word that switches to each language (DEUTSCH, FRANCAIS, ROMANA, ENGLISH)."""
    return {translate_ctx(lang, "keyword", "ENGLISH").upper(): lang for lang in LANGUAGES}


def answer_words(msgid: str) -> frozenset[str]:
    """Every language's words for YES (or NO): a survey answered in any of them is understood."""
    words = set()
    for lang in LANGUAGES:
        words.update(w.strip().upper() for w in translate_ctx(lang, "keyword", msgid).split(",") if w.strip())
    return frozenset(words)


def of_country(country: str | None) -> str | None:
    """The language of a number's country, when we write one of its official languages (CH → de,
    BE → fr, MD → ro, US → en; Babel's CLDR territory data)."""
    if not country:
        return None
    from babel.languages import get_official_languages

    for code in get_official_languages(country, de_facto=True):
        if supported(code):
            return supported(code)
    return None
