"""The two-question survey as pure rules: when to ask, how to read an answer.

"Did this answer your question? Reply YES or NO", then after NO "How could we
do better?". At most one survey per customer per SURVEY_PERIOD_DAYS (7); it
expires after SURVEY_WINDOW_DAYS (3); none for tickets staff opened or
numbers that opted out.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timedelta

from chalicelib.domain import words
from chalicelib.domain.words import translate, translate_ctx

_YES = {"YES", "Y", "YEP", "YEAH", "SI", "👍"}  # and every language's words for it (the catalogues)
_NO = {"NO", "N", "NOPE", "👎"}


def q1(lang: str | None) -> str:
    """The first question, naming the customer's own words for yes and no (JA or NEIN)."""
    yes, no = (translate_ctx(lang, "keyword", w).split(",")[0].strip() for w in ("YES", "NO"))
    return translate(lang, "Did this answer your question? Reply {yes} or {no}", yes=yes, no=no)


def q2(lang: str | None) -> str:
    return translate(lang, "Sorry to hear that. How could we do better? (we have reopened your ticket)")


def thanks(lang: str | None) -> str:
    return translate(lang, "Thank you for your answer!")


def thanks_comment(lang: str | None) -> str:
    return translate(lang, "Thank you - we'll use this to do better.")


def sorry_comment(lang: str | None) -> str:
    """A NO that came with its reason in the same text: nothing more to ask."""
    return translate(lang, "Sorry to hear that - thank you for telling us. We have reopened your ticket "
                           "and will answer you.")



def window() -> timedelta:
    return timedelta(days=float(os.environ.get("SURVEY_WINDOW_DAYS", "3")))


def period() -> timedelta:
    return timedelta(days=float(os.environ.get("SURVEY_PERIOD_DAYS", "7")))


def yes_no(text: str) -> str | None:
    word = re.sub(r"[^\w👍👎]", "", (text or "").strip().upper())
    return ("yes" if word in _YES | words.answer_words("YES") else
            "no" if word in _NO | words.answer_words("NO") else None)


_SEPARATOR = r"[\s,.;:!?()\-\u2013\u2014]+"


def split_answer(text: str) -> tuple[str | None, str]:
    """The survey's answer with words after it, as people write (issue 34): 'NEIN die Seite ist schon
    wieder weiss', 'NON, toujours rien', 'NU ...', 'no - too slow', 'JA danke' is ('no' or 'yes', the
    rest: the comment); a bare 'NEIN' is ('no', ''); anything else (None, the text)."""
    stripped = (text or "").strip()
    verdict = yes_no(stripped)
    if verdict is not None:
        return verdict, ""
    first = re.match(rf"([^\s,.;:!?()\-\u2013\u2014]+){_SEPARATOR}(\S.*)", stripped, re.S)
    if first is not None:
        verdict = yes_no(first.group(1))
        if verdict is not None:
            return verdict, first.group(2).strip()
    return None, stripped


def should_ask(*, opened_by: str, survey_state: str | None, channel: str, phone: str | None,
               opted_out: bool, last_survey_at: datetime | None, now: datetime) -> bool:
    """Whether a resolve asks question one."""
    if opened_by != "customer" or survey_state in ("asked1", "asked2"):
        return False
    if channel in ("sms", "voice"):
        if not phone or opted_out:
            return False
        if last_survey_at is not None and now - last_survey_at < period():
            return False
    return True
