"""A built-in entity found in a sentence."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Span:
    start: int  # token indices, end exclusive
    end: int
    entity: str
    value: Any
