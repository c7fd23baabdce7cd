"""What the interpreter returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SlotValue:
    value: Any  # resolved value: canonical entity value, number, seconds, ISO datetime…
    raw: str  # the text span as typed
    entity: str  # entity type name, e.g. "room", "snips/duration"


@dataclass(frozen=True)
class Parse:
    text: str
    intent: str | None  # None = not understood
    confidence: float
    slots: dict[str, list[SlotValue]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": self.confidence,
            "slots": {
                name: [{"value": v.value, "raw": v.raw, "entity": v.entity} for v in values]
                for name, values in self.slots.items()
            },
        }
