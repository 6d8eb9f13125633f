"""Every text the system writes to a staff phone, and the SMS segment counter (pure).

Staff texts stay in GSM-7: one character outside it ("·", an emoji, a curly
quote) makes the whole SMS UCS-2 and costs two or three segments (a page
with a 60-character excerpt is one). Customer words forwarded to staff are
the customer's own and may be anything. tests/test_domain.py runs every
function here through `segments`.
"""
from __future__ import annotations

from datetime import datetime, tzinfo

from chalicelib.domain.words import GSM7, translate

_GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # two septets each

HELP = ("Friday Night commands: ACK 42 takes ticket 42; RES 42 resolves; ESC 42 passes it up a tier; "
        "42 <text> answers the customer; WHO tells who holds the phone; TAKE confirms your shift")


def segments(text: str) -> dict:
    """SMS segments a text needs: GSM-7 160/153 septets, else UCS-2 70/67 UTF-16 units (an emoji
    outside the BMP takes two)."""
    gsm = all(c in GSM7 for c in text)
    length = sum(2 if c in _GSM7_EXTENDED else 1 for c in text) if gsm else len(text.encode("utf-16-le")) // 2
    single, multi = (160, 153) if gsm else (70, 67)
    count = 1 if length <= single else -(-length // multi)
    return {"encoding": "GSM-7" if gsm else "UCS-2", "characters": length, "segments": count}


def when(t: datetime, zone: tzinfo) -> str:
    """The one way a time reaches a person: weekday, day, month, time and the zone's name, in the
    reader's own zone ("Fri 04 Dec 17:00 WET" for Erik in Lisbon, "18:00 CET" for Ana)."""
    return t.astimezone(zone).strftime("%a %d %b %H:%M %Z")


_when = when


def gist(subject: str | None, words: int = 10) -> str:
    parts = (subject or "").split()
    return " ".join(parts[:words]) + ("..." if len(parts) > words else "")


def owner_now(ticket_id: int, tier: int, priority: str, subject: str | None) -> str:
    """A ticket moved to someone who must hear it at once (urgent, or they hold the phone)."""
    return (f"#{ticket_id} is yours now (tier {tier}, {priority}): {gist(subject) or '(no message yet)'}\n"
            f"{ticket_id} <text> answers the customer - RES {ticket_id} resolves")


def unacknowledged(ticket_id: int, rounds: int) -> str:
    """To every admin when a page ran all its rounds."""
    return f"Nobody acknowledged urgent #{ticket_id} after {rounds} paging round(s). ACK {ticket_id} takes it."


def storm_bundle(ticket_id: int) -> str:
    """Instead of one page per ticket in a storm: one summary per person and hour."""
    return (f"More urgent tickets are waiting (#{ticket_id} and any after it this hour). "
            f"ACK <n> takes one; the backup is paged for those nobody takes.")


def take_ask(start: datetime, end: datetime, zone: tzinfo) -> str:
    return f"Reply TAKE to hold the emergency phone from {_when(start, zone)} until {_when(end, zone)}."


def shift_started(end: datetime, zone: tzinfo) -> str:
    return (f"Your shift has started: you hold the emergency phone until {_when(end, zone)}. "
            f"Pages come here; text WHO or HELP any time.")


def take_missed_holder(new_name: str) -> str:
    return f"{new_name} has not replied TAKE: you stay on the emergency phone until they do."


def take_missed_admin(new_name: str, kept_name: str) -> str:
    return f"Handoff not confirmed: {new_name} has not replied TAKE. {kept_name} stays primary."


def take_thanks(start: datetime | None, end: datetime, zone: tzinfo) -> str:
    if start is None:
        return f"Thanks! You hold the emergency phone now, until {_when(end, zone)}."
    return f"Thanks! You hold the emergency phone from {_when(start, zone)} until {_when(end, zone)}."


def rota_changed(holder_name: str, start: datetime, end: datetime, zone: tzinfo) -> str:
    """To the people a rota change concerns (the old and the new holder of a shift)."""
    return (f"Rota changed: {holder_name} holds the emergency phone from {_when(start, zone)} "
            f"until {_when(end, zone)}. Text WHO any time.")


def automation_confirmed(ticket_id: int, lang: str | None = None) -> str:
    """To a customer who said YES to an automated answer (in their language: the catalogue's)."""
    return translate(lang, "Great - glad that solved it! Ticket #{ticket} is resolved; "
                           "just write again if you need us.",
               ticket=ticket_id)


def swap_asked(asker: str, start: datetime, end: datetime, zone: tzinfo, code: str) -> str:
    """To a colleague asked to hold the emergency phone for a while (nothing changes until YES)."""
    return (f"{asker} asks you to hold the emergency phone from {_when(start, zone)} until {_when(end, zone)}. "
            f"Reply YES {code} to take it; nothing changes until you do.")
