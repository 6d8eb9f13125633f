"""Record: an immutable value with named fields, built without generating code.

What ``@dataclass(frozen=True)`` gives (keyword or positional construction, defaults,
equality, hashing, a readable repr, no assignment after construction), for the small
value objects of the rules and use cases. Both dataclasses and ``typing.NamedTuple``
compile generated methods for every class they build: on Python 3.11 that is about
1.6 million instructions per class (valgrind), and a cold Lambda builds every class on
the webhook path before it answers Twilio (`make bench`, docs/benchmarks.md). A Record
class costs what a plain class costs; its methods are written once, here.

    class Link(Record):
        person_id: str
        role: str = "holder"

Fields are the class's annotations, in order; a value in the class body is the default.
"""
from __future__ import annotations

from typing import Any


class _RecordType(type):
    def __new__(mcs, name: str, bases: tuple, namespace: dict):
        if "__slots__" in namespace:  # Record itself
            return super().__new__(mcs, name, bases, namespace)
        own = tuple(namespace.get("__annotations__", ()))
        inherited = tuple(f for base in bases for f in getattr(base, "_fields", ()))
        defaults = {**{k: v for base in bases for k, v in getattr(base, "_defaults", {}).items()},
                    **{f: namespace.pop(f) for f in own if f in namespace}}
        fields = inherited + tuple(f for f in own if f not in inherited)
        seen_default = False
        for field in fields:  # as in a def: no field without a default after one with a default
            if field in defaults:
                seen_default = True
            elif seen_default:
                raise TypeError(f"{name}: field {field!r} without a default follows one with a default")
        namespace.update(__slots__=tuple(f for f in own if f not in inherited), _fields=fields, _defaults=defaults)
        return super().__new__(mcs, name, bases, namespace)


class Record(metaclass=_RecordType):
    __slots__ = ()
    _fields = ()  # the field names, in order (set for each Record class)
    _defaults = {}  # field name → default (set for each Record class)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        fields = self._fields
        if len(args) > len(fields):
            raise TypeError(f"{type(self).__name__} takes {len(fields)} values, got {len(args)}")
        values = dict(zip(fields, args, strict=False))  # fewer values than fields: defaults
        for key, value in kwargs.items():
            if key not in fields:
                raise TypeError(f"{type(self).__name__} has no field {key!r}")
            if key in values:
                raise TypeError(f"{type(self).__name__} got {key!r} twice")
            values[key] = value
        for field in fields:
            if field in values:
                value = values[field]
            elif field in self._defaults:
                value = self._defaults[field]
            else:
                raise TypeError(f"{type(self).__name__} needs {field!r}")
            object.__setattr__(self, field, value)

    def _values(self) -> tuple:
        return tuple(getattr(self, f) for f in self._fields)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._values()))

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"

    def __reduce__(self) -> tuple:  # copy, deepcopy and pickle rebuild through __init__
        return type(self), self._values()

    def replace(self, **changes: Any) -> Record:
        """A copy with some fields changed (dataclasses.replace)."""
        return type(self)(**{**dict(zip(self._fields, self._values(), strict=True)), **changes})
