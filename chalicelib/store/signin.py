"""Sign-in codes and staff sessions (one table, keyed "code#<phone>" and "session#<token hash>")."""
from __future__ import annotations

from pynamodb.exceptions import DeleteError, UpdateError

from chalicelib import lazy
from chalicelib.domain.outbox import Item
from chalicelib.domain.signin import CODE_TRIES, Code, StaffSession
from chalicelib.store._base import Write, _is_condition_failure, get_by_key, transact
from chalicelib.store.delivery import outbox_put

rare = lazy.module("chalicelib.store.rare_models")


def put_code(code: Code, sms: Item) -> None:
    """The code (replacing an earlier one) and its SMS, in one transaction."""
    m = rare.SignIn(key=f"code#{code.phone}", person_id=code.person_id, secret_hash=code.code_hash, tries=0,
                    expires_at=code.expires_at)
    transact([Write("put", m), outbox_put(sms)])


def get_code(phone: str) -> Code | None:
    m = get_by_key(rare.SignIn, f"code#{phone}")
    if m is None:
        return None
    return Code(phone=phone, person_id=m.person_id, code_hash=m.secret_hash, expires_at=m.expires_at,
                tries=int(m.tries or 0))


def spend_try(code: Code) -> bool:
    """One wrong try, counted conditionally (two wrong tries at once both count); False when none is left."""
    try:
        rare.SignIn(key=f"code#{code.phone}").update(
            actions=[rare.SignIn.tries.add(1)],
            condition=rare.SignIn.key.exists() & (rare.SignIn.tries < CODE_TRIES))
        return True
    except UpdateError as exc:
        if _is_condition_failure(exc):
            return False
        raise


def open_staff_session(code: Code | None, session: StaffSession) -> None:
    """The session; with a code, the code is used up in the same transaction (it works once)."""
    writes = [Write("put", rare.SignIn(key=f"session#{session.token_hash}", person_id=session.person_id,
                                       csrf=session.csrf, created_at=session.created_at,
                                       expires_at=session.expires_at),
                    rare.SignIn.key.does_not_exist())]
    if code is not None:
        writes.append(Write("delete", rare.SignIn(key=f"code#{code.phone}"),
                            rare.SignIn.secret_hash == code.code_hash, tag="code"))
    transact(writes)


def get_staff_session(token_hash: str) -> StaffSession | None:
    m = get_by_key(rare.SignIn, f"session#{token_hash}")
    if m is None:
        return None
    return StaffSession(token_hash=token_hash, person_id=m.person_id, csrf=m.csrf, created_at=m.created_at,
                        expires_at=m.expires_at)


def end_staff_session(token_hash: str) -> None:
    try:
        rare.SignIn(key=f"session#{token_hash}").delete()
    except DeleteError as exc:
        if not _is_condition_failure(exc):
            raise

