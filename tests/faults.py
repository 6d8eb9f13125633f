"""Faults at the botocore layer: count DynamoDB calls, kill the work at call k,
answer TransactionConflict once per transaction.

`Crash` derives from BaseException, like a Lambda timeout or a recycled
container: no `except Exception` in the app can hide it or tidy up after it.
"""
from __future__ import annotations

from botocore.client import BaseClient
from botocore.exceptions import ClientError


class Crash(BaseException):
    """The Lambda died here (timeout, out of memory, recycled)."""


class DynamoFaults:
    def __init__(self):
        self.calls: list[str] = []
        self.crash_at: int | None = None
        self.conflicts: set[int] = set()  # transaction numbers (1-based) answered with TransactionConflict
        self.transactions = 0
        self.conflicted = 0
        self._real = BaseClient._make_api_call

    def install(self, monkeypatch) -> DynamoFaults:
        faults = self

        def api_call(client, operation, params):
            if client.meta.service_model.service_name != "dynamodb":
                return faults._real(client, operation, params)
            faults.calls.append(operation)
            if faults.crash_at is not None and len(faults.calls) == faults.crash_at:
                raise Crash(f"killed at DynamoDB call {faults.crash_at} ({operation})")
            if operation == "TransactWriteItems":
                faults.transactions += 1
                if faults.transactions in faults.conflicts:
                    faults.conflicted += 1
                    n = len(params.get("TransactItems", []))
                    raise ClientError({
                        "Error": {"Code": "TransactionCanceledException",
                                  "Message": "Transaction cancelled [TransactionConflict]"},
                        "CancellationReasons": [{"Code": "TransactionConflict",
                                                 "Message": "Transaction is ongoing for the item"}] * n,
                    }, operation)
            return faults._real(client, operation, params)

        monkeypatch.setattr(BaseClient, "_make_api_call", api_call)
        return self

    def reset(self, crash_at: int | None = None, conflicts: set[int] | None = None) -> None:
        self.calls.clear()
        self.crash_at = crash_at
        self.conflicts = set(conflicts or ())
        self.transactions = 0
        self.conflicted = 0

    def run_killed(self, run, crash_at: int | None, conflicts: set[int] | None = None) -> bool:
        """`run()` with the Lambda killed at DynamoDB call `crash_at` (and the given transactions
        answered with TransactionConflict); True when it was killed. Faults are off afterwards."""
        self.reset(crash_at=crash_at, conflicts=conflicts)
        try:
            run()
            return False
        except Crash:
            return True
        finally:
            self.reset()

    def count(self) -> int:
        return len(self.calls)
