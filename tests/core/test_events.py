"""Events in, effects out: small frozen values, and every kind of event has a home."""

from __future__ import annotations

import dataclasses
from typing import Any, get_args

import pytest

from atlas.core import (
    Channel,
    Closed,
    Deadline,
    DeadlinePassed,
    Dismissed,
    Event,
    Opened,
    OverBudget,
    Publish,
    Resumed,
    SkillGone,
    UserGave,
    UserSaid,
    handle,
)
from atlas.core.conversation import _HANDLERS
from atlas.protocol import ChannelWork, DialogNotify, DialogSession

from .helpers import ask, context, make_world, notify, said, show, terminate

WORLD = make_world()

ONE_OF_EACH: list[Any] = [
    Opened("s1", "alice", "en"), Closed("s1"), said("what time"), DeadlinePassed("s1", 1),
    SkillGone("clock"), ask("c1", slot="duration"), show("c1"), terminate("c1"),
    context("c1", "timer"), notify("ding"), UserGave("s1", {"timer": 1}, "c2", "en"),
    DialogSession("s1", {"first_name": "Ada"}), Resumed("s1"),
    OverBudget("s1", "c1", "more than 1 KiB a second in a conversation"),
]


def test_the_examples_cover_every_event_type() -> None:
    assert {type(e) for e in ONE_OF_EACH} == set(get_args(Event))


@pytest.mark.parametrize("value", [
    *ONE_OF_EACH, Publish(ChannelWork("s1")), Deadline("s1", 1, 2.0),
    Dismissed("s1", "show", "no __cid"),
], ids=lambda v: type(v).__name__)
def test_events_and_effects_are_frozen(value: Any) -> None:
    field = dataclasses.fields(value)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(value, field, "changed")


def test_a_channel_event_is_handled_by_the_conversation_the_rest_by_the_router() -> None:
    per_channel = set(get_args(Event)) - {Opened, Closed}
    assert set(_HANDLERS) == per_channel


@pytest.mark.parametrize("event", ONE_OF_EACH, ids=lambda e: type(e).__name__)
def test_handle_takes_every_event_with_or_without_channels(event: Any) -> None:
    for channels in ({}, {"s1": Channel("s1", "alice", "en")}):
        changes, effects = handle(channels, event, WORLD)  # must not raise
        assert set(changes) <= {"s1"}
        assert all(isinstance(e, Publish | Deadline | Dismissed) for e in effects)


def test_user_said_settings_default_to_empty_and_are_not_shared() -> None:
    first, second = UserSaid("s1", "a", "c1", "en"), UserSaid("s1", "b", "c2", "en")
    assert first.settings == {} and first.settings is not second.settings


def test_a_notification_needs_no_cid() -> None:
    assert not hasattr(DialogNotify("s1", "ding"), "cid")
