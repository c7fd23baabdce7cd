"""``dataclasses.replace`` for the core's frozen records, at a fraction of its cost.

``replace`` looks up the class's fields and calls ``__init__`` on every use, about
3 µs; the core makes some eight of them per turn. For a record whose every field
is an ``__init__`` argument and that has no ``__post_init__`` (``Channel``,
``Conversation``), copying the instance's attributes with the changes applied
builds the same object. Any other record goes to ``replace`` itself. mypy sees
``replace``, so field names and types are checked as before.

A change that changes nothing (every value the very object, or an equal string,
number or flag) returns the record itself: the shell writes a channel to the store
only when the core gives back another object, and a flood of refused messages
would otherwise rewrite the same channel batch after batch.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, TypeVar

T = TypeVar("T")

_FIELDS: dict[type, frozenset[str] | None] = {}
#: Values compared by equality when deciding whether a change changes anything.
_SCALARS = frozenset({str, int, float, bool})


def _plain_fields(kind: type) -> frozenset[str] | None:
    """The field names, if a copy of the attributes is a faithful ``replace``."""
    if not dataclasses.is_dataclass(kind) or hasattr(kind, "__post_init__") \
            or hasattr(kind, "__slots__"):
        return None
    fields = dataclasses.fields(kind)
    if any(not f.init for f in fields):
        return None
    return frozenset(f.name for f in fields)


def _evolve(record: T, /, **changes: Any) -> T:
    kind = type(record)
    if kind not in _FIELDS:
        _FIELDS[kind] = _plain_fields(kind)
    names = _FIELDS[kind]
    if names is None or not names.issuperset(changes):
        return dataclasses.replace(record, **changes)  # type: ignore[type-var]
    current = record.__dict__
    for name, value in changes.items():
        old = current[name]
        if old is not value and (type(value) not in _SCALARS or type(old) is not type(value)
                                 or old != value):
            break
    else:
        return record
    copy: T = object.__new__(kind)
    attributes = copy.__dict__
    attributes.update(current)
    attributes.update(changes)
    return copy


if TYPE_CHECKING:
    from dataclasses import replace as evolve  # so that mypy checks the changes
else:
    evolve = _evolve
