"""Every text the system writes to a staff phone, and the SMS segment counter (pure).

Staff read their texts in their own language (people.language, else the business language; issue
24): the words come from the catalogue (context "staff"), times in the reader's zone, named, in
their language's form. Staff texts stay in GSM-7: one character outside it ("·", an emoji, a curly
quote) makes the whole SMS UCS-2 and costs two or three segments (a page with a 60-character
excerpt is one); tests/test_words.py checks every language. Customer words forwarded to staff are
the customer's own and may be anything. tests/test_domain.py runs every function here through
`segments`. The commands (ACK, RES, TAKE, YES, WHO) are the same words in every language.
"""
from __future__ import annotations

from datetime import datetime, tzinfo

from chalicelib.domain.words import C_, GSM7, SOURCE, business, sms_form, supported, translate, translate_ctx

_GSM7_EXTENDED = frozenset("^{}\\[~]|€")  # two septets each

HELP_TEXT = C_("staff", "Friday Night commands: ACK 42 takes ticket 42; RES 42 resolves; ESC 42 passes it up a "
                        "tier; 42 <text> answers the customer; WHO tells who holds the phone; TAKE confirms your shift")
HELP = HELP_TEXT[1]  # the English one


def help_text(lang: str | None = None) -> str:
    return translate_ctx(lang, *HELP_TEXT)


def not_understood(lang: str | None = None) -> str:
    return translate_ctx(lang, "staff", "Sorry, I didn't get that. {help}", help=help_text(lang))


def segments(text: str) -> dict:
    """SMS segments a text needs: GSM-7 160/153 septets, else UCS-2 70/67 UTF-16 units (an emoji
    outside the BMP takes two)."""
    gsm = all(c in GSM7 for c in text)
    length = sum(2 if c in _GSM7_EXTENDED else 1 for c in text) if gsm else len(text.encode("utf-16-le")) // 2
    single, multi = (160, 153) if gsm else (70, 67)
    count = 1 if length <= single else -(-length // multi)
    return {"encoding": "GSM-7" if gsm else "UCS-2", "characters": length, "segments": count}


def when(t: datetime, zone: tzinfo, lang: str | None = None) -> str:
    """The one way a time reaches a person: weekday, day, month, time and the zone's name, in the
    reader's own zone and language ("Fri 04 Dec 17:00 WET" for Erik in Lisbon, "18:00 CET" for Ana,
    "Fr. 04 Dez. 18:00 CET" for Dora, who reads German)."""
    lang = supported(lang) or business()
    local = t.astimezone(zone)
    if lang == SOURCE:
        return local.strftime("%a %d %b %H:%M %Z")
    from babel.dates import format_datetime

    return sms_form(f"{format_datetime(local, 'EEE dd MMM HH:mm', locale=lang)} {local.tzname()}")


_when = when


def gist(subject: str | None, words: int = 10) -> str:
    parts = (subject or "").split()
    return " ".join(parts[:words]) + ("..." if len(parts) > words else "")


PRIORITY = {"normal": C_("staff", "normal"), "urgent": C_("staff", "urgent")}


def owner_now(ticket_id: int, tier: int, priority: str, subject: str | None, lang: str | None = None, *,
              caller: str | None = None, channel: str | None = None) -> str:
    """A ticket moved to someone who must hear it at once (urgent, or they hold the phone). A call
    has no words yet when its ticket opens, and this text may go out after its voicemail came
    (issue 34): it says what is true then and later, a call from the number."""
    if not subject and channel == "voice":
        said = translate_ctx(lang, "staff", "a call from {caller}",
                             caller=caller or translate_ctx(lang, "staff", "withheld number"))
    else:
        said = gist(subject) or translate_ctx(lang, "staff", "(no message yet)")
    shown = translate_ctx(lang, *PRIORITY[priority]) if priority in PRIORITY else priority
    return translate_ctx(lang, "staff", "#{ticket} is yours now (tier {tier}, {priority}): {gist}\n"
                                        "{ticket} <text> answers the customer - RES {ticket} resolves",
                         ticket=ticket_id, tier=tier, priority=shown, gist=said)


def unacknowledged(ticket_id: int, rounds: int, lang: str | None = None) -> str:
    """To every admin when a page ran all its rounds."""
    return translate_ctx(lang, "staff", "Nobody acknowledged urgent #{ticket} after {rounds} paging round(s). "
                                        "ACK {ticket} takes it.", ticket=ticket_id, rounds=rounds)


def storm_bundle(ticket_id: int, lang: str | None = None) -> str:
    """Instead of one page per ticket in a storm: one summary per person and hour."""
    return translate_ctx(lang, "staff", "More urgent tickets are waiting (#{ticket} and any after it this hour). "
                                        "ACK <n> takes one; the backup is paged for those nobody takes.",
                         ticket=ticket_id)


def take_ask(start: datetime, end: datetime, zone: tzinfo, lang: str | None = None) -> str:
    return translate_ctx(lang, "staff", "Reply TAKE to hold the emergency phone from {start} until {end}.",
                         start=_when(start, zone, lang), end=_when(end, zone, lang))


def shift_started(end: datetime, zone: tzinfo, lang: str | None = None) -> str:
    return translate_ctx(lang, "staff", "Your shift has started: you hold the emergency phone until {end}. "
                                        "Pages come here; text WHO or HELP any time.", end=_when(end, zone, lang))


def take_missed_holder(new_name: str, lang: str | None = None) -> str:
    return translate_ctx(lang, "staff", "{name} has not replied TAKE: you stay on the emergency phone until they do.",
                         name=new_name)


def take_missed_admin(new_name: str, kept_name: str, lang: str | None = None) -> str:
    return translate_ctx(lang, "staff", "Handoff not confirmed: {name} has not replied TAKE. {kept} stays primary.",
                         name=new_name, kept=kept_name)


def take_thanks(start: datetime | None, end: datetime, zone: tzinfo, lang: str | None = None) -> str:
    if start is None:
        return translate_ctx(lang, "staff", "Thanks! You hold the emergency phone now, until {end}.",
                             end=_when(end, zone, lang))
    return translate_ctx(lang, "staff", "Thanks! You hold the emergency phone from {start} until {end}.",
                         start=_when(start, zone, lang), end=_when(end, zone, lang))


def no_rota(lang: str | None = None) -> str:
    return translate_ctx(lang, "staff", "No rota is set up yet: nobody holds the emergency phone.")


def nothing_to_take(lang: str | None = None) -> str:
    return translate_ctx(lang, "staff", "There is no handoff for you to take right now. "
                                        "Text WHO to see who holds the phone.")


def holds_until(name: str | None, until: datetime, zone: tzinfo, lang: str | None = None) -> str:
    """WHO's answer (`name` None: the holder has left the team)."""
    if name is None:
        return translate_ctx(lang, "staff", "Someone who left the team holds the emergency phone until {end}.",
                             end=_when(until, zone, lang))
    return translate_ctx(lang, "staff", "{name} holds the emergency phone until {end}.", name=name,
                         end=_when(until, zone, lang))


def rota_changed(holder_name: str, start: datetime, end: datetime, zone: tzinfo, lang: str | None = None) -> str:
    """To the people a rota change concerns (the old and the new holder of a shift)."""
    return translate_ctx(lang, "staff", "Rota changed: {name} holds the emergency phone from {start} until {end}. "
                                        "Text WHO any time.",
                         name=holder_name, start=_when(start, zone, lang), end=_when(end, zone, lang))


def automation_confirmed(ticket_id: int, lang: str | None = None) -> str:
    """To a customer who said YES to an automated answer (in their language: the catalogue's)."""
    return translate(lang, "Great - glad that solved it! Ticket #{ticket} is resolved; "
                           "just write again if you need us.",
               ticket=ticket_id)


def swap_asked(asker: str, start: datetime, end: datetime, zone: tzinfo, code: str, lang: str | None = None) -> str:
    """To a colleague asked to hold the emergency phone for a while (nothing changes until YES)."""
    return translate_ctx(lang, "staff", "{name} asks you to hold the emergency phone from {start} until {end}. "
                                        "Reply YES {code} to take it; nothing changes until you do.",
                         name=asker, start=_when(start, zone, lang), end=_when(end, zone, lang), code=code)
