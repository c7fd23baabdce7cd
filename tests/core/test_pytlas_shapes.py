"""What pytlas and original-atlas skills need of the core: context fallbacks, the
``error`` end, slots as objects."""

from __future__ import annotations

from dataclasses import dataclass, replace

from atlas.core import Channel, Registry, Understood, World, step
from atlas.protocol import ChannelAsk, ChannelTerminate, IntentRequest, Pong, Reason

from .helpers import (
    ASK_TIMEOUT,
    SKILL_TIMEOUT,
    VERSION,
    KeywordUnderstanding,
    ask,
    context,
    new_channel,
    of,
    run,
    said,
    terminate,
)

GAME = Pong("game", intents={"play": [], "cave/look": [], "cave/__fallback__": [],
                             "__fallback__": []})
SHOP = Pong("shop", intents={"shop": [], "shop/add": ["item"]})


@dataclass(frozen=True)
class Picky(KeywordUnderstanding):
    """Strict parsing understands a text only when it is exactly a keyword."""

    def parse(self, lang: str, text: str, scope: frozenset[str], now: float | None = None,
              *, strict: bool = False) -> Understood:
        if strict and text.strip().lower() not in dict(self.keywords):
            return Understood(None)
        return super().parse(lang, text, scope, now)


UNDERSTANDING = Picky(keywords=(("play", "play"), ("look", "cave/look"), ("shop", "shop"),
                                ("add", "shop/add")))


def world(*pongs: Pong, object_slots: frozenset[str] = frozenset()) -> World:
    registry = Registry()
    for pong in pongs:
        registry, _ = registry.heard(pong, 0.0)
    catalog, _ = registry.catalog()
    return World(catalog, UNDERSTANDING, VERSION, SKILL_TIMEOUT, ASK_TIMEOUT, object_slots)


def in_context(name: str, w: World) -> Channel:
    channel, _ = run(new_channel(), [said("play", "c1"), context("c1", name), terminate("c1")], w)
    assert channel.context == name and channel.conversation is None
    return channel


def intent_of(channel: Channel, text: str, w: World) -> str:
    _, effects = step(channel, said(text, "c9"), w)
    [request] = of(effects, IntentRequest)
    return request.intent


def test_inside_a_context_what_its_intents_miss_goes_to_its_own_fallback() -> None:
    w = world(GAME)
    channel = in_context("cave", w)
    assert intent_of(channel, "look", w) == "cave/look"
    # Strict parsing: "look at the sky" is not the closest context intent.
    assert intent_of(channel, "look at the sky", w) == "cave/__fallback__"
    assert intent_of(channel, "open the door", w) == "cave/__fallback__"


def test_the_fallback_receives_the_text_and_no_slots() -> None:
    w = world(GAME)
    _, effects = step(in_context("cave", w), said("open the door", "c9"), w)
    [request] = of(effects, IntentRequest)
    assert request.text == "open the door" and request.slots == {}


def test_a_context_without_its_own_fallback_uses_the_global_one_and_parses_leniently() -> None:
    w = world(GAME, SHOP)
    channel = in_context("shop", w)
    assert intent_of(channel, "add milk please", w) == "shop/add"
    assert intent_of(channel, "open the door", w) == "__fallback__"


def test_a_context_with_only_a_fallback_left_is_still_served() -> None:
    only = Pong("game", intents={"play": [], "cave/__fallback__": []})
    w = world(only, SHOP)
    channel = in_context("cave", w)
    assert intent_of(channel, "anything at all", w) == "cave/__fallback__"
    assert w.catalog.scope("cave") == frozenset()     # never a candidate intent


def test_a_terminate_with_reason_error_ends_with_error() -> None:
    w = world(GAME)
    channel, _ = step(new_channel(), said("play", "c1"), w)
    _, effects = step(channel, replace(terminate("c1"), error=True), w)
    assert of(effects, ChannelTerminate)[-1].reason is Reason.ERROR


def test_slots_go_as_objects_to_the_skills_configured_so() -> None:
    shop = Pong("shop", intents={"shop": [], "add": ["item"]})
    understanding = KeywordUnderstanding(keywords=(("add", "add"),),
                                         slot_patterns={"item": r"milk|eggs"},
                                         intent_slots={"add": ("item",)})
    plain = replace(world(shop), understanding=understanding)
    objects = replace(plain, object_slots=frozenset({"shop"}))
    [request] = of(step(new_channel(), said("add milk and eggs"), plain)[1], IntentRequest)
    assert request.slots == {"item": ["milk", "eggs"]}
    [request] = of(step(new_channel(), said("add milk"), objects)[1], IntentRequest)
    assert request.slots == {"item": [{"value": "milk", "raw": "milk", "entity": "item"}]}
    assert request.to_dict()["item"][0]["value"] == "milk"


def test_the_answer_for_a_slot_the_intent_does_not_declare_is_taken_as_typed() -> None:
    w = world(GAME, SHOP)
    channel, _ = run(new_channel(), [said("shop", "c1"),
                                     ask("c1", "Name of the list?", slot="title")], w)
    _, effects = step(channel, said("Sunday market", "c2"), w)
    [request] = of(effects, IntentRequest)
    assert request.slots == {"title": "Sunday market"}


def test_a_declared_slot_still_needs_a_value_the_interpreter_reads() -> None:
    understanding = KeywordUnderstanding(keywords=(("add", "add"),),
                                         slot_patterns={"item": r"milk|eggs"})
    w = replace(world(Pong("lists", intents={"add": ["item"]})), understanding=understanding)
    channel, _ = run(new_channel(), [said("add", "c1"), ask("c1", "What?", slot="item")], w)
    _, effects = step(channel, said("whatever", "c2"), w)
    assert not of(effects, IntentRequest) and of(effects, ChannelAsk)
    _, effects = step(channel, said("milk", "c2"), w)
    assert of(effects, IntentRequest)[0].slots == {"item": "milk"}
