"""The tables no Twilio webhook touches: API keys (staff authentication), web chat
sessions and the emergency phone's shift records (the handoff sweep, reports).

Apart from ``models`` so that an inbound SMS or call does not build these classes
on a cold start; the repositories reach them through ``lazy`` and ``tables`` lists
every model for creation and the package template.
"""
from __future__ import annotations

from pynamodb.attributes import (
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from chalicelib.store._base import Table, _Meta


class ApiKey(Table):
    Meta = _Meta("api_keys")
    key_hash = UnicodeAttribute(hash_key=True)
    person_id = UnicodeAttribute()
    role = UnicodeAttribute()  # copies of the person's role and name, kept in step by
    name = UnicodeAttribute(null=True)  # save_person(): one GetItem authenticates a request
    created_at = UTCDateTimeAttribute()


class ChatSession(Table):
    """A web chat session: an opaque id, a token stored only as its hash, a ticket."""

    Meta = _Meta("chat_sessions")
    id = UnicodeAttribute(hash_key=True)
    token_hash = UnicodeAttribute()
    ticket_id = NumberAttribute()
    name = UnicodeAttribute(null=True)
    contact = UnicodeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    expires_at = TTLAttribute()


class SignIn(Table):
    """Staff signing in (API v1.2): the latest code sent to a phone ("code#<phone>": its hash and the
    tries spent) and the sessions ("session#<token hash>": the person and the CSRF token)."""

    Meta = _Meta("sign_in")
    key = UnicodeAttribute(hash_key=True)
    person_id = UnicodeAttribute()
    secret_hash = UnicodeAttribute(null=True)  # a code's hash
    tries = NumberAttribute(null=True)
    csrf = UnicodeAttribute(null=True)  # a session's CSRF token (useless without the cookie)
    created_at = UTCDateTimeAttribute(null=True)
    expires_at = TTLAttribute()


class Shift(Table):
    """What happened on the emergency phone: who held it from when to when (``end`` is None while
    they still hold it), whom the rota scheduled, and why (rota | override | untaken | correction).

    Written by the handoff sweep as it happens; an admin's correction of the past replaces the
    records it covers and says who made it. Stats and the report count these, never the rota.
    """

    Meta = _Meta("shifts")
    rota = UnicodeAttribute(hash_key=True)  # "rota": one timeline
    start = UTCDateTimeAttribute(range_key=True)
    end = UTCDateTimeAttribute(null=True)
    person_id = UnicodeAttribute()
    scheduled_id = UnicodeAttribute(null=True)
    how = UnicodeAttribute(default="rota")
    override_id = UnicodeAttribute(null=True)
    took_at = UTCDateTimeAttribute(null=True)  # the TAKE that confirmed it
    corrected_by = UnicodeAttribute(null=True)
    recorded_at = UTCDateTimeAttribute()
