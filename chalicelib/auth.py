"""Staff authentication: bearer API keys with roles admin and agent.

Keys are random (256 bits), shown once at creation and stored only as their
SHA-256 hash (a fast hash is right for high-entropy secrets: nothing to
brute-force). ADMIN_API_KEY is the bootstrap admin, compared in constant time.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from chalicelib import config, store
from chalicelib.domain.actors import Actor
from chalicelib.domain.record import Record
from chalicelib.errors import Forbidden, Unauthorized

ROLES = ("admin", "agent")
BOOTSTRAP_ID = "admin"


class Principal(Record):
    actor: Actor
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def new_key() -> str:
    return "fn_" + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def authenticate(authorization: str | None) -> Principal:
    if not authorization:
        raise Unauthorized("send 'Authorization: Bearer <api key>'", code="missing_credentials")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <api key>'", code="invalid_credentials")
    bootstrap = config.admin_api_key()
    if bootstrap and hmac.compare_digest(token.encode(), bootstrap.encode()):
        return Principal(Actor(BOOTSTRAP_ID, "Admin"), "admin")
    if len(token) > 200:
        raise Unauthorized("the API key is not valid", code="invalid_credentials")
    key = store.get_api_key(hash_key(token))
    if key is None:
        raise Unauthorized("the API key is not valid", code="invalid_credentials")
    return Principal(Actor(key.person_id, key.name or key.person_id), key.role)


def require(principal: Principal, role: str) -> None:
    if role == "admin" and not principal.is_admin:
        raise Forbidden("this needs an admin API key", code="admin_only")
