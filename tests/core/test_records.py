"""Channels as stored records, and a conversation resumed after a daemon restart."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from atlas.core import (
    Channel,
    Phase,
    RecordError,
    Resumed,
    UserGave,
    from_record,
    step,
    to_record,
)
from atlas.core.phrases import say
from atlas.protocol import ChannelShow, ChannelTerminate, IntentRequest, Reason

from .helpers import ask, make_world, new_channel, notify, of, published, run, said

WORLD = make_world()


def working(cid: str = "c1") -> Channel:
    channel, _ = run(new_channel(), [said("set a timer", cid)], WORLD)
    return channel


def every_shape() -> list[Channel]:
    """Idle, working with a queue (texts and a notification), asking with choices, in a context."""
    busy, _ = run(working(), [said("what date", "c2", settings={"K": [1, {"a": None}]}),
                              notify("ding", card={"title": "t"}), said("lights", "c3")], WORLD)
    asked, _ = run(working(), [ask("c1", "Which?", slot="duration",
                                   choices=["5 minutes", "10 minutes"], hint="x")], WORLD)
    slotted, _ = run(new_channel(lang="fr"),
                     [said("lights in the kitchen and garage", settings={"LIGHTS_TOPIC": "t"})],
                     WORLD)
    gave = replace(busy, queue=(*busy.queue, UserGave("s1", {"choice": "yes", "n": [1]}, "c4",
                                                          "en", {"K": "v"})),
                   session={"first_name": "Ada", "cart": [{"id": 3}]}, told_full=True)
    return [new_channel(), busy, asked, slotted, gave,
            Channel("s9", "bob", "fr", context="timer", generation=41)]


@pytest.mark.parametrize("channel", every_shape(), ids=lambda c: c.phase.value)
def test_a_channel_survives_its_record_through_json(channel: Channel) -> None:
    record = json.loads(json.dumps(to_record(channel)))
    assert from_record(record) == channel


@pytest.mark.parametrize("record", [
    {"version": 99}, {"version": 1}, [], {"version": 1, "sid": "s", "uid": "u", "lang": "en",
                                          "context": None, "generation": "x",
                                          "conversation": None, "queue": []},
    {**to_record(working()), "conversation": {"cid": "c"}},
])
def test_an_unreadable_record_is_a_record_error(record: object) -> None:
    with pytest.raises(RecordError):
        from_record(record)  # type: ignore[arg-type]


def test_a_question_asked_before_a_restart_is_still_asked_and_the_answer_goes_on() -> None:
    channel, _ = run(working(), [ask("c1", "How long?", slot="duration")], WORLD)
    restored = from_record(to_record(channel))
    restored, effects = step(restored, Resumed("s1"), WORLD)
    assert effects == [] and restored.phase is Phase.ASKING
    restored, effects = step(restored, said("10 minutes", "c9"), WORLD)
    (request,) = of(effects, IntentRequest)
    assert request.cid == "c1" and request.slots == {"duration": "10 minutes"}


def test_a_conversation_working_at_the_restart_ends_with_a_reason_and_the_queue_goes_on() -> None:
    channel, _ = run(working(), [said("what date", "c2")], WORLD)
    restored, effects = step(from_record(to_record(channel)), Resumed("s1"), WORLD)
    messages = published(effects)
    assert messages[:2] == [ChannelShow("s1", say("restarted", "en")),
                            ChannelTerminate("s1", Reason.RESTARTED)]
    (request,) = of(effects, IntentRequest)
    assert request.cid == "c2" and request.intent == "get_date"
    assert restored.phase is Phase.WORKING and restored.queue == ()


def test_an_idle_channel_resumes_silently() -> None:
    channel, effects = step(new_channel(), Resumed("s1"), WORLD)
    assert effects == [] and channel == new_channel()
