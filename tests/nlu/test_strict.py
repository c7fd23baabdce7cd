"""Strict parsing: inside a context with a fallback of its own, only what an intent's
own sentences cover is that intent."""

from __future__ import annotations

from functools import cache

from atlas import nlu
from atlas.nlu.engine import SnipsLikeInterpreter

DATA = """
%[cave/look]
  look around
  look at the walls
  examine the room

%[cave/take]
  take the @[thing]
  grab the @[thing]
  pick up the @[thing]

%[get_time]
  what time is it
  tell me the time

@[thing]
  torch
  rope
"""
SCOPE = frozenset({"cave/look", "cave/take"})


@cache
def interpreter() -> SnipsLikeInterpreter:
    fitted = SnipsLikeInterpreter("en")
    fitted.fit(nlu.load_training(DATA, source="test", lang="en"))
    return fitted


def test_strict_keeps_what_the_intents_cover_and_refuses_the_rest() -> None:
    parser = interpreter()
    assert parser.parse("grab the rope", SCOPE, strict=True).intent == "cave/take"
    assert parser.parse("pick up the shovel", SCOPE, strict=True).intent == "cave/take"
    assert parser.parse("look at the walls", SCOPE, strict=True).intent == "cave/look"
    # Words of another skill's intent, or of nobody's: not the closest context intent.
    for text in ("what time is it", "dance with the rope", "open the door"):
        assert parser.parse(text, SCOPE, strict=True).intent is None, text


def test_without_strict_the_scope_takes_its_closest_intent() -> None:
    assert interpreter().parse("dance with the rope", SCOPE).intent == "cave/take"
