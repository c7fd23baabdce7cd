"""The live skills registry and the catalog it yields (issue 2, rules 1 and 11-12)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.core import Catalog, Registry
from atlas.protocol import FALLBACK_INTENT, Pong

from .helpers import CATCHALL, CLOCK, LIGHTS, TIMER

# --- Registry: heard, left, expire -----------------------------------------------------


def test_a_new_skill_is_a_change() -> None:
    registry, changed = Registry().heard(CLOCK, 5.0)
    assert changed
    assert registry.skills == {"clock": CLOCK} and registry.seen == {"clock": 5.0}


def test_the_same_pong_again_is_no_change_but_refreshes_the_clock() -> None:
    registry, _ = Registry().heard(CLOCK, 5.0)
    again, changed = registry.heard(Pong("clock", version="1.0",
                                         intents={"get_time": [], "get_date": []},
                                         env={"CLOCK_FORMAT": "string"}), 9.0)
    assert not changed
    assert again.seen == {"clock": 9.0} and again.skills == registry.skills


@pytest.mark.parametrize("updated", [
    Pong("clock", version="1.1", intents={"get_time": [], "get_date": []},
         env={"CLOCK_FORMAT": "string"}),
    Pong("clock", version="1.0", intents={"get_time": []}, env={"CLOCK_FORMAT": "string"}),
    Pong("clock", version="1.0", intents={"get_time": ["tz"], "get_date": []},
         env={"CLOCK_FORMAT": "string"}),
    Pong("clock", version="1.0", intents={"get_time": [], "get_date": []}, env={}),
    Pong("clock", version="1.0", intents={"get_time": [], "get_date": []},
         env={"CLOCK_FORMAT": "string"}, training={"en": "%[get_time]\n  time\n"}),
], ids=["version", "intents", "slots", "env", "training"])
def test_a_changed_description_is_a_change(updated: Pong) -> None:
    registry, _ = Registry().heard(CLOCK, 0.0)
    registry, changed = registry.heard(updated, 1.0)
    assert changed and registry.skills["clock"] == updated


def test_heard_does_not_change_the_registry_it_was_given() -> None:
    registry, _ = Registry().heard(CLOCK, 0.0)
    registry.heard(TIMER, 1.0)
    registry.heard(CLOCK, 2.0)
    assert registry.skills == {"clock": CLOCK} and registry.seen == {"clock": 0.0}


def test_left_forgets_a_known_skill() -> None:
    registry, _ = Registry().heard(CLOCK, 0.0)
    registry, _ = registry.heard(TIMER, 0.0)
    registry, changed = registry.left("clock")
    assert changed
    assert set(registry.skills) == {"timer"} and set(registry.seen) == {"timer"}


def test_left_of_an_unknown_skill_is_no_change() -> None:
    registry, _ = Registry().heard(CLOCK, 0.0)
    after, changed = registry.left("ghost")
    assert not changed and after == registry


def test_expire_drops_the_silent_skills_only() -> None:
    registry = Registry()
    for pong, at in ((CLOCK, 0.0), (TIMER, 10.0), (LIGHTS, 20.0)):
        registry, _ = registry.heard(pong, at)
    # heard at 10 with a timeout of 30: still there at 40 exactly, gone just after
    registry, gone = registry.expire(40.0, 30.0)
    assert gone == ["clock"] and set(registry.skills) == {"timer", "lights"}
    registry, gone = registry.expire(40.5, 30.0)
    assert gone == ["timer"] and set(registry.skills) == {"lights"}


def test_expire_with_nothing_silent_is_no_change() -> None:
    registry, _ = Registry().heard(CLOCK, 0.0)
    after, gone = registry.expire(1.0, 30.0)
    assert gone == [] and after == registry


def test_a_pong_keeps_a_skill_alive() -> None:
    registry, _ = Registry().heard(CLOCK, 0.0)
    registry, _ = registry.heard(CLOCK, 25.0)
    registry, gone = registry.expire(50.0, 30.0)
    assert gone == [] and "clock" in registry.skills


def test_expire_names_several_in_a_stable_order() -> None:
    registry = Registry()
    for pong in (TIMER, LIGHTS, CLOCK):
        registry, _ = registry.heard(pong, 0.0)
    registry, gone = registry.expire(100.0, 30.0)
    assert gone == ["clock", "lights", "timer"] and registry.skills == {}


# --- Catalog ---------------------------------------------------------------------------

def catalog_of(*pongs: Pong) -> tuple[Catalog, dict[str, dict[str, object]]]:
    registry = Registry()
    for pong in pongs:
        registry, _ = registry.heard(pong, 0.0)
    return registry.catalog()


def test_the_catalog_maps_intents_to_skills_and_skills_to_env_keys() -> None:
    catalog, conflicts = catalog_of(CLOCK, TIMER, LIGHTS)
    assert conflicts == {}
    assert catalog.skill_for("get_time") == "clock"
    assert catalog.skill_for("timer/pause") == "timer"
    assert catalog.skill_for("lights_on") == "lights"
    assert catalog.skill_for("nothing") is None
    assert dict(catalog.env_keys) == {"clock": ("CLOCK_FORMAT",),
                                      "timer": ("TIMER_SOUND", "TIMER_VOLUME"),
                                      "lights": ("LIGHTS_TOPIC",)}


def test_an_empty_catalog() -> None:
    catalog, conflicts = Registry().catalog()
    assert conflicts == {} and catalog.fallback is None
    assert catalog.scope(None) == frozenset() and catalog.scope("timer") == frozenset()


def test_the_fallback_intent_names_the_fallback_skill() -> None:
    assert catalog_of(CLOCK)[0].fallback is None
    catalog, _ = catalog_of(CLOCK, CATCHALL)
    assert catalog.fallback == "catchall"
    assert catalog.skill_for(FALLBACK_INTENT) == "catchall"


def test_the_root_scope_holds_neither_context_intents_nor_the_fallback() -> None:
    catalog, _ = catalog_of(CLOCK, TIMER, LIGHTS, CATCHALL)
    assert catalog.scope(None) == {"get_time", "get_date", "set_timer", "lights_on"}


@pytest.mark.parametrize(("context", "expected"), [
    ("timer", {"timer/pause", "timer/resume"}),
    ("tim", set()),          # a prefix of a context name is another context
    ("lights", set()),
    ("nowhere", set()),
])
def test_a_context_scope_holds_its_own_intents_only(context: str, expected: set[str]) -> None:
    catalog, _ = catalog_of(CLOCK, TIMER, LIGHTS, CATCHALL)
    assert catalog.scope(context) == expected


def test_two_skills_claiming_an_intent_the_first_name_wins_and_it_is_said() -> None:
    other = Pong("alarm", intents={"set_timer": ["duration"], "set_alarm": []},
                 env={"ALARM_SOUND": "string"})
    catalog, conflicts = catalog_of(TIMER, other)
    assert catalog.skill_for("set_timer") == "alarm"
    assert catalog.skill_for("set_alarm") == "alarm"
    assert catalog.skill_for("timer/pause") == "timer"
    assert conflicts == {"set_timer": {"chosen": "alarm", "claimed_by": ["alarm", "timer"]}}


def test_when_the_winner_leaves_the_other_claimant_takes_over() -> None:
    other = Pong("alarm", intents={"set_timer": []})
    registry = Registry()
    for pong in (TIMER, other):
        registry, _ = registry.heard(pong, 0.0)
    registry, _ = registry.left("alarm")
    catalog, conflicts = registry.catalog()
    assert catalog.skill_for("set_timer") == "timer" and conflicts == {}


# --- whatever the arrival order --------------------------------------------------------

NAMES = st.sampled_from(["alpha", "beta", "gamma", "delta", "epsilon"])
INTENTS = st.sampled_from(["get_time", "set_timer", "lights_on", "timer/pause",
                           FALLBACK_INTENT])
PONGS = st.builds(
    lambda name, intents, env: Pong(name, intents={i: [] for i in intents},
                                    env={k: "string" for k in env}),
    NAMES, st.lists(INTENTS, max_size=4, unique=True),
    st.lists(st.sampled_from(["A", "B", "C"]), max_size=3, unique=True))


def unique_by_name(pongs: list[Pong]) -> list[Pong]:
    return list({pong.name: pong for pong in pongs}.values())


@settings(max_examples=200, deadline=None)
@given(st.lists(PONGS, max_size=6).map(unique_by_name), st.randoms(use_true_random=False))
def test_the_catalog_does_not_depend_on_arrival_order(pongs: list[Pong], rng: object) -> None:
    shuffled = list(pongs)
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert catalog_of(*pongs) == catalog_of(*shuffled)


@settings(max_examples=200, deadline=None)
@given(st.lists(PONGS, max_size=6).map(unique_by_name))
def test_every_claimed_intent_has_one_owner_the_first_claimant_by_name(
        pongs: list[Pong]) -> None:
    catalog, conflicts = catalog_of(*pongs)
    claimants: dict[str, list[str]] = {}
    for pong in pongs:
        for intent in pong.intents:
            claimants.setdefault(intent, []).append(pong.name)
    assert set(catalog.owners) == set(claimants)
    for intent, names in claimants.items():
        assert catalog.skill_for(intent) == min(names)
        if len(names) > 1:
            assert conflicts[intent] == {"chosen": min(names), "claimed_by": sorted(names)}
        else:
            assert intent not in conflicts


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(PONGS, NAMES), max_size=12))
def test_changed_is_true_exactly_when_the_skills_change(events: list[Pong | str]) -> None:
    registry = Registry()
    for now, event in enumerate(events):
        before = dict(registry.skills)
        if isinstance(event, Pong):
            registry, changed = registry.heard(event, float(now))
        else:
            registry, changed = registry.left(event)
        assert changed == (dict(registry.skills) != before)
        assert set(registry.seen) == set(registry.skills)
