"""The pluggable interpreter interface and the engine registry."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol, runtime_checkable

from .dataset import Dataset
from .engine import SnipsLikeInterpreter
from .results import Parse, SlotValue


@runtime_checkable
class Interpreter(Protocol):
    lang: str

    def fit(self, dataset: Dataset) -> None: ...

    def parse(self, text: str, scope: Collection[str] | None = None, *,
              now: datetime | None = None, strict: bool = False) -> Parse: ...

    def parse_slot(self, text: str, intent: str, slot: str, *,
                   now: datetime | None = None) -> list[SlotValue]: ...

    @property
    def intents(self) -> list[str]: ...


# Configuration names an engine; "snips" is an alias of the default.
ENGINES: dict[str, type[SnipsLikeInterpreter]] = {
    "default": SnipsLikeInterpreter,
    "snips": SnipsLikeInterpreter,
}


def engine_class(engine: str) -> type[SnipsLikeInterpreter]:
    try:
        return ENGINES[engine]
    except KeyError:
        known = ", ".join(sorted(ENGINES))
        raise ValueError(f"unknown NLU engine {engine!r} (known: {known})") from None


def create_interpreter(lang: str, engine: str = "default") -> Interpreter:
    return engine_class(engine)(lang)
