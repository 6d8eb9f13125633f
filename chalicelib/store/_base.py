"""Store infrastructure: transactions with retries, conditions, caches, cursors, connections."""
from __future__ import annotations

import base64
import json
import logging
import random
import threading
import time
from typing import Any

from pynamodb.connection import Connection
from pynamodb.exceptions import (
    DoesNotExist,
    PynamoDBException,
    TransactWriteError,
)
from pynamodb.indexes import AllProjection
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from chalicelib import aws, config
from chalicelib.domain.record import Record


class ConditionFailed(Exception):
    """A conditional write lost a race (someone else wrote first).

    ``tags`` names the writes of a transaction whose condition failed, so a
    caller can tell "the message was stored before" from "the ticket moved".
    """

    def __init__(self, message: str = "", tags=()):
        super().__init__(message)
        self.tags = set(tags)


class AlreadyDone(Exception):
    """The write's idempotency claim exists: an earlier delivery already made it."""


# --- one connection for every table ------------------------------------------

_SHARED: dict[tuple, Connection] = {}  # (region, endpoint) → the Connection every table uses


class Table(Model):
    """The base of every model: all tables talk through one Connection, so one botocore client.

    PynamoDB 6 gives each model class a TableConnection with a Connection of its own, and each
    Connection makes its own botocore session and client, loading DynamoDB's service description
    again (about 40 ms each on a cold start, a TLS handshake each in AWS): a new customer's text
    made 7 of them (issue 25). PynamoDB has no setting for sharing one (pynamodb#876, #1245);
    ``_get_connection`` is where a model makes its TableConnection, and a TableConnection reaches
    DynamoDB only through its ``connection`` with the table's schema registered there, so each
    table's is registered on the shared Connection and the fresh one, which never made a client,
    is dropped. tests/test_logs_imports.py counts the clients.
    """

    @classmethod
    def _get_connection(cls):
        table = super()._get_connection()
        own = table.connection
        shared = _SHARED.get((own.region, own.host))
        if shared is None:
            # Its client is made from the process's session (chalicelib.aws): SSM's client shares
            # botocore's loaded data with it. (PynamoDB keeps a Connection's session per thread.)
            own._local.session = aws.session()
            shared = _SHARED.setdefault((own.region, own.host), own)
        if own is not shared:
            if table.table_name not in shared._tables:
                shared.add_meta_table(own.get_meta_table(table.table_name))
            table.connection = shared
        return table


# --- lazy table names ---------------------------------------------------------


class _Meta:
    """Model.Meta whose table name follows TABLE_PREFIX at call time."""

    billing_mode = "PAY_PER_REQUEST"

    def __init__(self, base: str):
        self.base = base

    @property
    def table_name(self) -> str:
        return config.table_prefix() + self.base


class _IndexMeta:
    def __init__(self, name: str, projection=None):
        self.index_name = name
        self.projection = projection or AllProjection()


def _index(name: str, projection=None):
    return _IndexMeta(name, projection)


# --- request-scoped cache -------------------------------------------------------
# Settings (policy, rota) and the team list are read several times while one
# request or sweep runs; they are cached for that unit of work only. Entry
# points call begin_unit() (the middleware and every schedule handler).

class _Unit(threading.local):
    def __init__(self):
        self.cache: dict = {}


_LOCAL = _Unit()


# Admin-edited documents (policy, rota) and the templates change rarely and are read on
# every webhook: a warm Lambda keeps them SHARED_TTL seconds (like Powertools Parameters'
# max_age). A change made in this process is seen at once; in another, within SHARED_TTL.
SHARED_TTL = 30.0
_SHARED: dict[str, tuple[float, object]] = {}


def _shared_get(key: str):
    hit = _SHARED.get(key)
    if hit is not None and hit[0] > time.monotonic():
        return True, hit[1]
    return False, None


def _shared_put(key: str, value) -> None:
    _SHARED[key] = (time.monotonic() + SHARED_TTL, value)


def clear_shared() -> None:
    """Forget the process-wide cache (tests and the bench start on empty tables)."""
    _SHARED.clear()


def begin_unit() -> None:
    _LOCAL.cache = {}


class _UnitProxy:
    """Dict-like view of the current thread's cache (one unit of work per thread)."""

    def __contains__(self, key):
        return key in _LOCAL.cache

    def __getitem__(self, key):
        return _LOCAL.cache[key]

    def __setitem__(self, key, value):
        _LOCAL.cache[key] = value

    def pop(self, key, default=None):
        return _LOCAL.cache.pop(key, default)


_UNIT = _UnitProxy()


# --- cursors ------------------------------------------------------------------


def encode_cursor(last_key: dict | None, scope: str = "") -> str | None:
    """The next page's cursor, bound to its list (`scope`: the list and its filters)."""
    if not last_key:
        return None
    raw = json.dumps({"s": scope, "k": last_key}, sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, scope: str = "") -> dict | None:
    """The LastEvaluatedKey, or ValueError for a cursor that is forged, malformed, or from another
    list (real DynamoDB rejects a key of another index; moto would not)."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except Exception as exc:  # noqa: BLE001 - any decoding problem is the caller's input
        raise ValueError("not a cursor returned by this API") from exc
    if not isinstance(value, dict) or set(value) != {"s", "k"} or not isinstance(value["k"], dict):
        raise ValueError("not a cursor returned by this API")
    if value["s"] != scope:
        raise ValueError("this cursor belongs to another list (other filters); start again without it")
    key = value["k"]
    if not key or len(key) > 4 or not all(
            isinstance(v, dict) and len(v) == 1 and next(iter(v)) in ("S", "N")
            and isinstance(next(iter(v.values())), str) and len(next(iter(v.values()))) <= 200
            for v in key.values()):
        raise ValueError("not a cursor returned by this API")
    return key


# --- transactions ---------------------------------------------------------------

_log = logging.getLogger(__name__)
_RETRY_CODES = {"TransactionConflictException", "TransactionInProgressException", "ThrottlingException",
                "ProvisionedThroughputExceededException", "RequestLimitExceeded", "InternalServerError",
                "ServiceUnavailable"}
_RETRY_REASONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
ATTEMPTS = 6


class Write(Record):
    """One write of a transaction: put | update | delete | check, with its condition.

    ``tag`` names it in ConditionFailed.tags when its condition is what failed.
    """

    op: str
    model: Any
    condition: Any = None
    actions: list | None = None
    tag: str | None = None
    add_version_condition: bool = True


def transact(writes: list[Write]) -> None:
    """TransactWriteItems with retries on TransactionConflict and throttling (jittered).

    A failed condition is not retried: it is a fact for the caller (ConditionFailed).
    """
    # PynamoDB sends checks, deletes, puts, updates in that order: map reasons back to writes.
    order = [w for op in ("check", "delete", "put", "update") for w in writes if w.op == op]
    for attempt in range(ATTEMPTS):
        try:
            with TransactWrite(connection=_conn(type(writes[0].model))) as tx:
                for w in writes:
                    if w.op == "put":
                        tx.save(w.model, condition=w.condition)
                    elif w.op == "update":
                        tx.update(w.model, w.actions, condition=w.condition,
                                  add_version_condition=w.add_version_condition)
                    elif w.op == "delete":
                        tx.delete(w.model, condition=w.condition, add_version_condition=w.add_version_condition)
                    else:
                        model_cls = type(w.model)
                        tx.condition_check(model_cls, getattr(w.model, model_cls._hash_keyname),
                                           condition=w.condition)
            return
        except TransactWriteError as exc:
            reasons = list(getattr(exc, "cancellation_reasons", None) or [])
            failed = [order[i].tag for i, r in enumerate(reasons)
                      if r is not None and r.code == "ConditionalCheckFailed" and i < len(order)]
            if failed or _is_condition_failure(exc):
                raise ConditionFailed(str(exc), tags=failed) from exc
            if retryable(exc) and attempt < ATTEMPTS - 1:
                backoff(attempt)
                continue
            raise


def retryable(exc: Exception) -> bool:
    """TransactionConflict, throttling, a DynamoDB hiccup: the same write may simply be tried again."""
    code = getattr(exc, "cause_response_code", None)
    if code in _RETRY_CODES:
        return True
    if code == "TransactionCanceledException":
        reasons = [r for r in (getattr(exc, "cancellation_reasons", None) or []) if r is not None]
        return bool(reasons) and all(r.code in _RETRY_REASONS for r in reasons)
    return False


def backoff(attempt: int) -> None:
    """Full jitter, capped: 0–25 ms, 0–50 ms, ... (a Lambda has no time to lose)."""
    time.sleep(random.uniform(0, min(0.4, 0.025 * 2 ** attempt)))


def retrying(fn, *args, **kwargs) -> Any:
    """Runs one single-item call, retrying conflicts and throttling."""
    for attempt in range(ATTEMPTS):
        try:
            return fn(*args, **kwargs)
        except PynamoDBException as exc:
            if retryable(exc) and attempt < ATTEMPTS - 1:
                backoff(attempt)
                continue
            raise


def batch_read(wanted: list[tuple[type[Model], str]]) -> dict[tuple[type[Model], str], Model | None]:
    """Items of several tables by their hash keys in one consistent BatchGetItem (the keys DynamoDB
    leaves unprocessed asked again): a cold process reads what a request needs in one round trip."""
    tables: dict[str, tuple[type[Model], Any, list]] = {}
    for model, key in wanted:
        attr = model._hash_key_attribute()
        entry = tables.setdefault(model.Meta.table_name, (model, attr, []))
        entry[2].append({attr.attr_name: {attr.attr_type: attr.serialize(key)}})
    found: dict[tuple[type[Model], str], Model | None] = dict.fromkeys(wanted)
    conn = _conn(wanted[0][0])
    for model, _, _ in tables.values():
        _conn(model)  # every table's connection is the shared one, its name resolved
    request = {name: {"Keys": keys, "ConsistentRead": True} for name, (_, _, keys) in tables.items()}
    for attempt in range(ATTEMPTS):
        data = conn.dispatch("BatchGetItem", {"RequestItems": request})
        for name, items in (data.get("Responses") or {}).items():
            model, attr, _ = tables[name]
            for raw in items:
                item = model.from_raw_data(raw)
                found[(model, getattr(item, model._dynamo_to_python_attr(attr.attr_name)))] = item
        request = data.get("UnprocessedKeys") or {}
        if not request:
            return found
        backoff(attempt)
    raise RuntimeError("DynamoDB left keys unprocessed after every retry (throttled)")


# --- helpers ------------------------------------------------------------------


def _conn(model: type[Model]) -> Connection:
    """The process's one Connection (Table below), which transactions use too."""
    return model._get_connection().connection


def _is_condition_failure(exc: Exception) -> bool:
    code = getattr(exc, "cause_response_code", None)
    if code in ("ConditionalCheckFailedException",):
        return True
    if code == "TransactionCanceledException":
        reasons = getattr(exc, "cancellation_reasons", None) or []
        return any(r is not None and r.code == "ConditionalCheckFailed" for r in reasons)
    return False



def _key_ok(key: str) -> bool:
    """DynamoDB refuses empty or over-long key strings: such ids simply do not exist."""
    return isinstance(key, str) and 0 < len(key.encode()) <= 512


def get_by_key(model: type[Model], key: str | None) -> Model | None:
    """One consistent GetItem by a string key; None for a key that cannot exist or an item that does not."""
    if not _key_ok(key):
        return None
    try:
        return model.get(key, consistent_read=True)
    except DoesNotExist:
        return None
