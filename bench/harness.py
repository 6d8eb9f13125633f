"""An in-process app on moto, with every DynamoDB call counted by operation."""
from __future__ import annotations

import collections
import contextlib
import json
import os
import time

os.environ.update({
    "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "eu-central-1",
    "TABLE_PREFIX": "bench-", "ADMIN_API_KEY": "bench-admin-key", "FRIDAY_STAGE": "test",
    "SUPPORT_NUMBER": "+4930901820", "EMERGENCY_NUMBER": "+4930901821",
    "PUBLIC_BASE_URL": "https://friday.example/api", "TWILIO_AUTH_TOKEN": "bench-token",
})
os.environ.pop("AWS_ENDPOINT_URL_DYNAMODB", None)
os.environ.pop("TWILIO_ACCOUNT_SID", None)

from pynamodb.connection import base as _base  # noqa: E402

CALLS: collections.Counter = collections.Counter()
_real = _base.Connection._make_api_call


def _counting(self, operation_name, operation_kwargs, *args, **kwargs):
    CALLS[operation_name] += 1
    return _real(self, operation_name, operation_kwargs, *args, **kwargs)


_base.Connection._make_api_call = _counting


@contextlib.contextmanager
def counted():
    """Yields a dict filled with {'calls': Counter, 'ms': elapsed} on exit."""
    CALLS.clear()
    result: dict = {}
    start = time.perf_counter()
    yield result
    result["ms"] = (time.perf_counter() - start) * 1000
    result["calls"] = collections.Counter(CALLS)


def call(http, method: str, path: str, payload=None, key: str = "bench-admin-key"):
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    body = json.dumps(payload) if payload is not None else None
    return getattr(http, method)(path, headers=headers, body=body)


def fmt(calls: collections.Counter) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items())) or "none"
