"""A module imported on first use, for what most cold starts never need.

A Lambda answers its first request only after importing everything its module
imports. Names bound here load when first touched, so an inbound SMS does not
pay for the rota handshake (TAKE) or staff authentication it does not use
(`make bench`: the webhook path's cold import). Only at module level, and only
with the module's full name: tests/test_architecture.py reads these calls as
imports (layering and cycles are checked the same).
"""
from __future__ import annotations

import importlib
from types import ModuleType


class LazyModule:
    __slots__ = ("_name", "_module")

    def __init__(self, name: str):
        self._name, self._module = name, None

    def _load(self) -> ModuleType:
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return self._module

    def __getattr__(self, attr: str):
        return getattr(self._load(), attr)

    def __repr__(self) -> str:
        return f"<lazy {self._name}{'' if self._module is None else ' (loaded)'}>"


def module(name: str) -> LazyModule:
    return LazyModule(name)
