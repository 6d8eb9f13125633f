"""Staff sign in with their phone (API v1.2): a code by SMS, then a session cookie; the API keys
stay for scripts. Every staff route accepts either (``auth.authenticate_request``).

A code goes only to a registered phone, but the answer is the same for any number (nothing tells
a stranger who is staff); codes are rate-limited per phone whether or not it is staff's. A code
works once, for 10 minutes, 5 tries. Sessions live 12 hours server-side; signing out, or the
person's removal, ends them at once (each request reads the person again).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from chalicelib import auth, config, limits, outbox, store, validate
from chalicelib.domain import limits as rate
from chalicelib.domain import signin as rules
from chalicelib.errors import Forbidden, TooManyRequests, Unauthorized
from chalicelib.logs import logger, mask_phone
from chalicelib.usecases import people


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _code_hash(phone: str, code: str) -> str:
    return _hash(f"{phone}:{code}")


def request_code(body: dict, now: datetime) -> dict:
    validate.unknown_fields(body, {"phone"})
    phone = validate.phone(body, "phone")
    if not limits.take(rate.SIGN_IN_CODES, phone, now):
        raise TooManyRequests("three codes were sent to this phone in the last 15 minutes; use the latest one")
    person = store.person_by_phone(phone)
    if person is not None:
        code = f"{secrets.randbelow(10**6):06d}"
        item = outbox.sms(phone, rules.code_text(code, person.language), purpose="notice", now=now, person_id=person.id)
        store.put_code(rules.Code(phone=phone, person_id=person.id, code_hash=_code_hash(phone, code),
                                     expires_at=now + rules.CODE_TTL), item)
        outbox.dispatch([item.id], now)
        logger.info("sign-in code sent", extra={"to": mask_phone(phone)})
    return {"sent": True}


def open_session(body: dict, now: datetime) -> tuple[dict, str]:
    """Signs in with a phone and its code, or an API key: the person, the CSRF token, and the session
    token for the cookie."""
    validate.unknown_fields(body, {"phone", "code", "api_key"})
    if body.get("api_key") is not None:
        principal = auth.authenticate("Bearer " + validate.text(body, "api_key", max_len=200))
        person_id, code = principal.actor.id, None
    else:
        phone = validate.phone(body, "phone")
        typed = validate.text(body, "code", max_len=12).strip()
        code = store.get_code(phone)
        if code is None or not code.usable(now):
            raise Unauthorized("the code is wrong or has expired; ask for a new one", code="invalid_code")
        if not hmac.compare_digest(code.code_hash, _code_hash(phone, typed)):
            store.spend_try(code)
            raise Unauthorized("the code is wrong or has expired; ask for a new one", code="invalid_code")
        person_id = code.person_id
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session = rules.StaffSession(token_hash=_hash(token), person_id=person_id, csrf=csrf, created_at=now,
                                 expires_at=now + rules.SESSION_TTL)
    try:
        store.open_staff_session(code, session)
    except store.ConditionFailed:  # the same code used twice at once: the first one signs in
        raise Unauthorized("the code is wrong or has expired; ask for a new one", code="invalid_code") from None
    return {"person": whoami(person_id), "csrf": csrf}, token


def whoami(person_id: str) -> dict:
    if person_id == auth.BOOTSTRAP_ID:
        return {"id": auth.BOOTSTRAP_ID, "name": "Admin", "role": "admin", "phone": None, "timezone": None}
    return people.person_json(people.get(person_id))


def current(token: str | None, now: datetime) -> rules.StaffSession | None:
    """The live session a cookie's token opens, or None."""
    if not token or len(token) > 100:
        return None
    session = store.get_staff_session(_hash(token))
    return session if session is not None and session.alive(now) else None


def person_of(token: str | None, now: datetime):
    """The person a live session belongs to (None: no session, the bootstrap admin, or removed)."""
    session = current(token, now)
    if session is None or session.person_id == auth.BOOTSTRAP_ID:
        return None
    return store.get_person(session.person_id)


def principal(token: str | None, method: str, csrf: str | None, now: datetime) -> auth.Principal:
    """The person a session cookie signs in; a write must carry the session's CSRF token."""
    session = current(token, now)
    if session is None:
        raise Unauthorized("sign in first (or send 'Authorization: Bearer <api key>')", code="missing_credentials")
    if method not in ("GET", "HEAD", "OPTIONS") and not (csrf and hmac.compare_digest(csrf, session.csrf)):
        raise Forbidden("a change made with the session cookie needs its X-CSRF-Token header", code="csrf")
    if session.person_id == auth.BOOTSTRAP_ID:
        if not config.admin_api_key():
            raise Unauthorized("the bootstrap admin key is no longer configured", code="invalid_credentials")
        return auth.Principal(auth.Actor(auth.BOOTSTRAP_ID, "Admin"), "admin")
    person = store.get_person(session.person_id)
    if person is None:  # removed: their sessions end at once
        raise Unauthorized("this person no longer has access", code="invalid_credentials")
    return auth.Principal(auth.Actor(person.id, person.name), person.role)


def close(token: str | None) -> None:
    if token and len(token) <= 100:
        store.end_staff_session(_hash(token))


def cookie(token: str, *, clear: bool = False) -> str:
    """The session cookie: HttpOnly, SameSite=Strict, scoped to the stage's base path, Secure on https."""
    from urllib.parse import urlsplit

    base = urlsplit(config.public_base_url())
    path = base.path.rstrip("/") or "/"
    parts = [f"{rules.COOKIE}={'' if clear else token}", f"Path={path}", "HttpOnly", "SameSite=Strict",
             f"Max-Age={0 if clear else int(rules.SESSION_TTL.total_seconds())}"]
    if base.scheme == "https":
        parts.append("Secure")
    return "; ".join(parts)


def token_from(cookie_header: str | None) -> str | None:
    from http.cookies import CookieError, SimpleCookie

    if not cookie_header:
        return None
    jar = SimpleCookie()
    try:
        jar.load(cookie_header)
    except CookieError:
        return None
    morsel = jar.get(rules.COOKIE)
    return morsel.value if morsel is not None and morsel.value else None
