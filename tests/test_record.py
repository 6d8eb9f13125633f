"""Record: the value objects' base (no generated code, so a cold start stays cheap)."""
from __future__ import annotations

import copy
import pickle

import pytest

from chalicelib.domain.paging import Position
from chalicelib.domain.record import Record
from chalicelib.domain.rota import Override


class Point(Record):
    x: int
    y: int = 0
    label: str | None = None


def test_construction_by_position_keyword_and_default():
    assert Point(1, 2) == Point(x=1, y=2) == Point(1, y=2, label=None)
    assert Point(3).y == 0 and Point(3).label is None
    assert Point._fields == ("x", "y", "label")


@pytest.mark.parametrize("make, message", [
    (lambda: Point(), "needs 'x'"),
    (lambda: Point(1, 2, "a", 4), "takes 3 values"),
    (lambda: Point(1, z=2), "no field 'z'"),
    (lambda: Point(1, x=2), "'x' twice"),
])
def test_wrong_construction_is_a_type_error(make, message):
    with pytest.raises(TypeError, match=message):
        make()


def test_immutable_equal_by_value_hashable_and_readable():
    p = Point(1, 2)
    with pytest.raises(AttributeError):
        p.x = 5
    with pytest.raises(AttributeError):
        del p.x
    with pytest.raises(AttributeError):
        p.other = 1  # slots: no stray attributes either
    assert p != Point(1, 3) and p != (1, 2, None)  # a value of its own type, not a tuple
    assert len({p, Point(1, 2), Point(2, 1)}) == 2
    assert repr(p) == "Point(x=1, y=2, label=None)"
    assert p.replace(y=9) == Point(1, 9) and p == Point(1, 2)


def test_copies_and_pickles_rebuild_the_same_value():
    o = Override("o1", "p1", None, None, None, auto="untaken")
    assert copy.copy(o) == o and copy.deepcopy(o) == o and pickle.loads(pickle.dumps(o)) == o
    assert Position(1, 2, "sms").key() == "1.2.sms"


def test_a_required_field_after_a_default_is_refused_when_the_class_is_made():
    with pytest.raises(TypeError, match="without a default"):
        class Bad(Record):
            a: int = 1
            b: int
