"""What the core tests share: a small deterministic interpreter, a standard world,
and a few readers of effects.

``KeywordUnderstanding`` is an injected pure function of its arguments (the core
asks nothing else of an interpreter), so tests can say exactly what a text means.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from atlas.core import (
    Channel,
    Deadline,
    Dismissed,
    Effect,
    Publish,
    Registry,
    SlotValues,
    Understood,
    UserSaid,
    World,
    from_record,
    step,
    to_record,
)
from atlas.protocol import (
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogShow,
    DialogTerminate,
    Message,
    Pong,
)

CANCEL_WORDS = frozenset({"cancel", "stop", "annule"})


@dataclass(frozen=True)
class KeywordUnderstanding:
    """Keyword -> intent table, slots found by regex; first keyword present wins.

    ``keywords`` are tried in order; a keyword counts when it is a whole word of
    the lower-cased text and its intent is in the scope the core passes. Each slot
    pattern's matches (``findall``) become that slot's values, so a text naming two
    rooms yields two values; ``synonyms`` turn a match into its value. A keyword
    in ``unsure`` is understood with that confidence (1.0 otherwise).
    """

    keywords: tuple[tuple[str, str], ...]
    slot_patterns: Mapping[str, str] = field(default_factory=dict)
    intent_slots: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    synonyms: Mapping[str, str] = field(default_factory=dict)
    unsure: Mapping[str, float] = field(default_factory=dict)

    def parse(self, lang: str, text: str, scope: frozenset[str],
              now: float | None = None) -> Understood:
        words = set(re.findall(r"\w+", text.lower()))
        for keyword, intent in self.keywords:
            if keyword in words and intent in scope:
                slots = {slot: values for slot in self.intent_slots.get(intent, ())
                         if (values := self._values(slot, text))}
                return Understood(intent, slots, self.unsure.get(keyword, 1.0))
        return Understood(None)

    def parse_slot(self, lang: str, intent: str, slot: str, text: str,
                   now: float | None = None) -> SlotValues:
        return self._values(slot, text)

    def match_choice(self, lang: str, text: str, choices: Sequence[str]) -> str | None:
        wanted = text.strip().casefold()
        if not wanted:
            return None
        for choice in choices:
            if choice.casefold() == wanted:
                return choice
        for choice in choices:
            if choice.casefold().startswith(wanted):
                return choice
        return None

    def is_cancel(self, lang: str, text: str) -> bool:
        return text.strip().casefold() in CANCEL_WORDS

    def _values(self, slot: str, text: str) -> SlotValues:
        pattern = self.slot_patterns.get(slot)
        if pattern is None:
            return []
        return [{"value": self.synonyms.get(found.lower(), found), "raw": found, "entity": slot}
                for found in re.findall(pattern, text, flags=re.IGNORECASE)]


# --- the standard world ----------------------------------------------------------

SKILL_TIMEOUT = 10.0
ASK_TIMEOUT = 300.0
VERSION = "1.2.3-test"

CLOCK = Pong("clock", version="1.0", intents={"get_time": [], "get_date": []},
             env={"CLOCK_FORMAT": "string"})
TIMER = Pong("timer", version="1.0",
             intents={"set_timer": ["duration"], "timer/pause": [], "timer/resume": []},
             env={"TIMER_SOUND": "string", "TIMER_VOLUME": "int"})
LIGHTS = Pong("lights", version="1.0", intents={"lights_on": ["room"]},
              env={"LIGHTS_TOPIC": "string"})
CATCHALL = Pong("catchall", intents={"__fallback__": []})
GREETER = Pong("greeter", intents={"__welcome__": []}, env={"GREETING": "string"})

UNDERSTANDING = KeywordUnderstanding(
    keywords=(("time", "get_time"), ("date", "get_date"), ("timer", "set_timer"),
              ("lights", "lights_on"), ("pause", "timer/pause"), ("resume", "timer/resume"),
              # owned by no skill: understood, yet nobody handles it
              ("weather", "get_weather"),
              # understood without confidence
              ("clock", "get_time")),
    slot_patterns={"duration": r"\d+ (?:minutes?|seconds?|hours?)",
                   "room": r"kitchen|bedroom|garage"},
    intent_slots={"set_timer": ("duration",), "lights_on": ("room",)},
    unsure={"clock": 0.5},
)


def make_world(*pongs: Pong, understanding: Any = UNDERSTANDING) -> World:
    """A world with these live skills (clock, timer and lights when none are named)."""
    return world_of(pongs or (CLOCK, TIMER, LIGHTS), understanding)


def world_of(pongs: Iterable[Pong], understanding: Any = UNDERSTANDING) -> World:
    registry = Registry()
    for pong in pongs:
        registry, _ = registry.heard(pong, 0.0)
    catalog, _ = registry.catalog()
    return World(catalog, understanding, VERSION, SKILL_TIMEOUT, ASK_TIMEOUT)


def new_channel(sid: str = "s1", uid: str = "alice", lang: str = "en") -> Channel:
    return Channel(sid, uid, lang)


def said(text: str, cid: str = "c1", *, sid: str = "s1", lang: str = "en",
         settings: Mapping[str, Any] | None = None) -> UserSaid:
    return UserSaid(sid, text, cid, lang, dict(settings or {}))


# --- skill messages, built the way the daemon gets them: from raw payloads ------------

def _raw(cls: type[Message], sid: str, payload: Mapping[str, Any]) -> Any:
    return cls.from_payload({"sid": sid}, json.dumps(payload))


def show(cid: str | None, text: str = "hello", sid: str = "s1", **extra: Any) -> DialogShow:
    return _raw(DialogShow, sid, _with_cid(cid, {"text": text, **extra}))


def ask(cid: str | None, text: str = "?", sid: str = "s1", **fields: Any) -> DialogAsk:
    return _raw(DialogAsk, sid, _with_cid(cid, {"text": text, **fields}))


def context(cid: str | None, name: str | None, sid: str = "s1") -> DialogContext:
    return _raw(DialogContext, sid, _with_cid(cid, {"name": name}))


def terminate(cid: str | None, sid: str = "s1") -> DialogTerminate:
    return _raw(DialogTerminate, sid, _with_cid(cid, {}))


def notify(text: str, sid: str = "s1", **extra: Any) -> DialogNotify:
    return _raw(DialogNotify, sid, {"text": text, **extra})


def _with_cid(cid: str | None, data: dict[str, Any]) -> dict[str, Any]:
    return data if cid is None else {"__cid": cid, **data}


# --- driving and reading -----------------------------------------------------------

def run(channel: Channel, events: Iterable[Any], world: World) -> tuple[Channel, list[Effect]]:
    """Feed events one by one; all the effects, in order."""
    effects: list[Effect] = []
    for event in events:
        channel, more = step(channel, event, world)
        effects.extend(more)
    return channel, effects


M = TypeVar("M", bound=Message)


def published(effects: Iterable[Effect]) -> list[Message]:
    return [e.message for e in effects if isinstance(e, Publish)]


def of(effects: Iterable[Effect], cls: type[M]) -> list[M]:
    return [m for m in published(effects) if isinstance(m, cls)]


def deadlines(effects: Iterable[Effect]) -> list[Deadline]:
    return [e for e in effects if isinstance(e, Deadline)]


def dismissed(effects: Iterable[Effect]) -> list[Dismissed]:
    return [e for e in effects if isinstance(e, Dismissed)]


def wire(message: Message) -> tuple[str, dict[str, Any]]:
    """What actually goes on the wire: the topic and the decoded JSON payload."""
    payload = message.to_payload()
    return message.topic(), (json.loads(payload) if payload else {})


# --- persistence ----------------------------------------------------------------

def json_round_trip(channel: Channel) -> Channel:
    """The channel as the store keeps it: its record, through JSON, read back."""
    return from_record(json.loads(json.dumps(to_record(channel))))
