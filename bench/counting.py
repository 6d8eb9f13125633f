"""Counts every DynamoDB call by operation (patches PynamoDB's one choke point).

No side effects beyond the patch: tests import it too.
"""
from __future__ import annotations

import collections
import contextlib
import time

from pynamodb.connection import base as _base

CALLS: collections.Counter = collections.Counter()

if not getattr(_base.Connection._make_api_call, "_counting", False):
    _real = _base.Connection._make_api_call

    def _counting(self, operation_name, operation_kwargs, *args, **kwargs):
        CALLS[operation_name] += 1
        return _real(self, operation_name, operation_kwargs, *args, **kwargs)

    _counting._counting = True
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


def fmt(calls: collections.Counter) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items())) or "none"
