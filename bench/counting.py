"""Counts every DynamoDB call by operation (patches PynamoDB's one choke point).

No side effects beyond the patch: tests import it too.
"""
from __future__ import annotations

import collections
import contextlib
import time

from pynamodb.connection import base as _base

CALLS: collections.Counter = collections.Counter()
ITEMS: collections.Counter = collections.Counter()  # items read, by operation

if not getattr(_base.Connection._make_api_call, "_counting", False):
    _real = _base.Connection._make_api_call

    def _counting(self, operation_name, operation_kwargs, *args, **kwargs):
        CALLS[operation_name] += 1
        out = _real(self, operation_name, operation_kwargs, *args, **kwargs)
        if isinstance(out, dict):
            ITEMS[operation_name] += (len(out.get("Items", [])) + (1 if out.get("Item") else 0)
                                      + sum(len(v) for v in (out.get("Responses") or {}).values()
                                            if isinstance(v, list)))
        return out

    _counting._counting = True
    _base.Connection._make_api_call = _counting


@contextlib.contextmanager
def counted():
    """Yields a dict filled with {'calls': Counter, 'ms': elapsed} on exit."""
    CALLS.clear()
    ITEMS.clear()
    result: dict = {}
    start = time.perf_counter()
    yield result
    result["ms"] = (time.perf_counter() - start) * 1000
    result["calls"] = collections.Counter(CALLS)
    result["items"] = sum(ITEMS.values())


def fmt(calls: collections.Counter) -> str:
    return ", ".join(f"{op} {n}" for op, n in sorted(calls.items())) or "none"
