"""All channels at once: create, re-attach, destroy, routing by sid (issue 2, rule 3)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from atlas.core import (
    Channel,
    Closed,
    Deadline,
    DeadlinePassed,
    Dismissed,
    Effect,
    Opened,
    Phase,
    SkillGone,
    handle,
)
from atlas.protocol import (
    ChannelContext,
    ChannelCreated,
    ChannelDestroyed,
    ChannelShow,
    ChannelTerminate,
    IntentRequest,
    Reason,
)

from .helpers import (
    ask,
    context,
    deadlines,
    make_world,
    notify,
    of,
    published,
    said,
    show,
    terminate,
    wire,
)

WORLD = make_world()
Channels = dict[str, Channel]


def feed(channels: Channels, events: Iterable[Any]) -> tuple[Channels, list[Effect]]:
    """Apply events the way the daemon does: merge the changes into its dict."""
    channels = dict(channels)
    effects: list[Effect] = []
    for event in events:
        changes, more = handle(channels, event, WORLD)
        for sid, channel in changes.items():
            if channel is None:
                channels.pop(sid, None)
            else:
                channels[sid] = channel
        effects.extend(more)
    return channels, effects


def test_create_answers_created_with_the_users_language() -> None:
    changes, effects = handle({}, Opened("s1", "alice", "fr"), WORLD)
    assert changes == {"s1": Channel("s1", "alice", "fr")}
    [created] = published(effects)
    assert wire(created) == ("atlas/s1/channel/created", {"lang": "fr"})
    assert deadlines(effects) == []


def test_create_again_by_the_same_user_reattaches_to_the_conversation() -> None:
    channels, _ = feed({}, [Opened("s1", "alice", "en"), said("set a timer"),
                            ask("c1", "How long?", slot="duration")])
    before = channels["s1"]
    channels, effects = feed(channels, [Opened("s1", "alice", "fr")])
    after = channels["s1"]
    assert published(effects) == [ChannelCreated("s1", "fr")]
    assert after.conversation == before.conversation and after.phase is Phase.ASKING
    assert after.generation == before.generation and after.lang == "fr"
    # the pending question can still be answered
    _, effects = feed(channels, [said("5 minutes", "c2")])
    assert of(effects, IntentRequest)[0].cid == "c1"


def test_reattaching_repeats_the_current_context() -> None:
    channels, _ = feed({}, [Opened("s1", "alice", "en"), said("set a timer"),
                            context("c1", "timer"), terminate("c1")])
    _, effects = feed(channels, [Opened("s1", "alice", "en")])
    assert published(effects) == [ChannelCreated("s1", "en"), ChannelContext("s1", "timer")]


def test_create_by_another_user_starts_afresh() -> None:
    channels, _ = feed({}, [Opened("s1", "alice", "en"), said("set a timer"),
                            context("c1", "timer"), said("what date", "c2")])
    old = channels["s1"]
    channels, effects = feed(channels, [Opened("s1", "bob", "fr")])
    fresh = channels["s1"]
    assert (fresh.uid, fresh.lang, fresh.context, fresh.conversation, fresh.queue) == \
        ("bob", "fr", None, None, ())
    assert published(effects) == [ChannelCreated("s1", "fr")]
    # alice's clock is disarmed, and its generation can never be mistaken for bob's
    assert deadlines(effects) == [Deadline("s1", fresh.generation, None)]
    assert fresh.generation > old.generation
    _, effects = feed(channels, [DeadlinePassed("s1", old.generation)])
    assert effects == []
    # alice's skill is no longer heard on bob's channel
    _, effects = feed(channels, [show("c1", "for alice")])
    assert [type(e) for e in effects] == [Dismissed]


def test_destroy_answers_destroyed_and_forgets_the_sid() -> None:
    channels, _ = feed({}, [Opened("s1", "alice", "en"), said("set a timer")])
    generation = channels["s1"].generation
    changes, effects = handle(channels, Closed("s1"), WORLD)
    assert changes == {"s1": None}
    assert published(effects) == [ChannelDestroyed("s1")]
    assert wire(ChannelDestroyed("s1")) == ("atlas/s1/channel/destroyed", {})
    assert deadlines(effects) == [Deadline("s1", generation + 1, None)]


def test_destroy_of_an_unknown_sid_is_dismissed() -> None:
    changes, effects = handle({}, Closed("nope"), WORLD)
    assert changes == {}
    assert effects == [Dismissed("nope", "destroy", "unknown sid")]


@pytest.mark.parametrize("event", [
    said("what time", sid="ghost"), show("c1", sid="ghost"), terminate("c1", sid="ghost"),
    ask("c1", slot="x", sid="ghost"), context("c1", "timer", sid="ghost"),
    notify("ding", sid="ghost"), DeadlinePassed("ghost", 1),
], ids=lambda e: type(e).__name__)
def test_a_sid_never_created_gets_nothing(event: Any) -> None:
    channels, _ = feed({}, [Opened("s1", "alice", "en")])
    changes, effects = handle(channels, event, WORLD)
    assert changes == {}
    [gone] = effects
    assert isinstance(gone, Dismissed) and gone.sid == "ghost" and gone.reason == "unknown sid"


def test_a_destroyed_sid_gets_nothing() -> None:
    channels, _ = feed({}, [Opened("s1", "alice", "en"), Closed("s1")])
    assert channels == {}
    _, effects = feed(channels, [said("what time")])
    assert [type(e) for e in effects] == [Dismissed]


def test_channels_are_independent() -> None:
    channels, effects = feed({}, [Opened("s1", "alice", "en"), Opened("s2", "bob", "fr"),
                                  said("set a timer", "a1", sid="s1"),
                                  said("what time", "b1", sid="s2", lang="fr")])
    requests = of(effects, IntentRequest)
    assert [(r.sid, r.uid, r.cid, r.intent) for r in requests] == [
        ("s1", "alice", "a1", "set_timer"), ("s2", "bob", "b1", "get_time")]
    # s2's cid means nothing on s1
    _, effects = feed(channels, [show("b1", "hi", sid="s1")])
    assert [type(e) for e in effects] == [Dismissed]
    channels, effects = feed(channels, [terminate("b1", sid="s2")])
    assert published(effects) == [ChannelTerminate("s2", Reason.NOMINAL)]
    assert channels["s1"].phase is Phase.WORKING and channels["s2"].phase is Phase.IDLE


def test_a_skill_leaving_ends_its_conversations_on_every_channel_and_only_those() -> None:
    channels, _ = feed({}, [Opened("s1", "a", "en"), Opened("s2", "b", "fr"),
                            Opened("s3", "c", "en"), Opened("s4", "d", "en"),
                            said("set a timer", "a1", sid="s1"),
                            said("minuteur timer", "b1", sid="s2", lang="fr"),
                            ask("b1", "Combien ?", slot="duration", sid="s2"),
                            said("what time", "c1", sid="s3")])
    changes, effects = handle(channels, SkillGone("timer"), WORLD)
    assert set(changes) == {"s1", "s2"}
    assert all(channel is not None and channel.phase is Phase.IDLE
               for channel in changes.values())
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.SKILL_GONE),
                                             ChannelTerminate("s2", Reason.SKILL_GONE)]
    assert ChannelShow("s2", "Désolé, la compétence qui s'en occupait s'est arrêtée.") \
        in published(effects)


def test_a_skill_leaving_that_nobody_uses_changes_nothing() -> None:
    channels, _ = feed({}, [Opened("s1", "a", "en"), said("what time")])
    assert handle(channels, SkillGone("timer"), WORLD) == ({}, [])
    assert handle({}, SkillGone("clock"), WORLD) == ({}, [])


def test_handle_reports_only_the_channel_it_touched() -> None:
    channels, _ = feed({}, [Opened("s1", "a", "en"), Opened("s2", "b", "en")])
    changes, _ = handle(channels, said("what time", sid="s2"), WORLD)
    assert set(changes) == {"s2"}
    assert channels["s2"].phase is Phase.IDLE     # the caller's dict is not touched
