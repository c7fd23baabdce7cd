"""Adapts the NLU interpreters to what the conversation core asks of them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime

from .. import nlu
from ..core import SlotValues, Understood

log = logging.getLogger(__name__)

#: Languages whose cancel words are understood on every channel.
CANCEL_LANGS = ("en", "fr")


def _rich(values: Sequence[nlu.SlotValue]) -> SlotValues:
    return [{"value": v.value, "raw": v.raw, "entity": v.entity} for v in values]


def _when(now: float | None) -> datetime:
    # Dates are read in the daemon's local time, as the user says them.
    return datetime.now() if now is None else datetime.fromtimestamp(now)


class NluUnderstanding:
    """One trained interpreter per language; an interpreter's failure is "not understood"."""

    def __init__(self, interpreters: Mapping[str, nlu.Interpreter]) -> None:
        self.interpreters = dict(interpreters)

    def _for(self, lang: str) -> nlu.Interpreter | None:
        return self.interpreters.get(lang) or self.interpreters.get(lang.split("_")[0][:2])

    def parse(self, lang: str, text: str, scope: frozenset[str],
              now: float | None = None, *, strict: bool = False) -> Understood:
        interpreter = self._for(lang)
        if interpreter is None or not scope:
            return Understood(None)
        try:
            parsed = interpreter.parse(text, scope, now=_when(now), strict=strict)
        except Exception:
            log.exception("interpreter %s failed to parse a message", lang)
            return Understood(None)
        return Understood(parsed.intent, {name: _rich(values)
                                          for name, values in parsed.slots.items()},
                          parsed.confidence)

    def parse_slot(self, lang: str, intent: str, slot: str, text: str,
                   now: float | None = None) -> SlotValues:
        interpreter = self._for(lang)
        if interpreter is None:
            return []
        try:
            return _rich(interpreter.parse_slot(text, intent, slot, now=_when(now)))
        except Exception:
            log.exception("interpreter %s failed to parse a value of %s", lang, slot)
            return []

    def match_choice(self, lang: str, text: str, choices: Sequence[str]) -> str | None:
        return nlu.match_choice(text, choices, lang)

    def is_cancel(self, lang: str, text: str) -> bool:
        # "stop" must work whatever language the profile says: check them all.
        return nlu.is_cancel_in(text, (lang, *CANCEL_LANGS))
