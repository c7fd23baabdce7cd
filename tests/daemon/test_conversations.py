"""The conversation shell's own duties: store lookups and deadlines on the loop."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from core.helpers import make_world

from atlas.config import Config
from atlas.core import DeadlinePassed, Opened, Phase, Resumed, UserSaid, to_record
from atlas.core.conversation import MAX_QUEUE
from atlas.core.phrases import say
from atlas.daemon.conversations import CID_POOL, Conversations
from atlas.daemon.inbox import FairInbox
from atlas.protocol import (
    ChannelCreate,
    ChannelDestroy,
    ChannelShow,
    ChannelTerminate,
    DialogAsk,
    DialogParse,
    DialogShow,
    DialogTerminate,
    Reason,
)
from atlas.store import Armed, SqliteConversationState, Store, Stored


async def test_a_deadline_queued_before_the_sid_was_recreated_is_ignored(tmp_path: Path) -> None:
    inbox: FairInbox[object] = FairInbox()
    shell = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), inbox)
    world = make_world()

    def feed(message: object) -> list[object]:
        event = shell.event_for(message)  # type: ignore[arg-type]
        return [p.message for p in shell.apply(event, world)] if event else []

    feed(ChannelCreate("s1", "alice"))
    feed(DialogParse("s1", "set a timer"))
    (timer, fired, _) = shell._deadlines["s1"]
    timer.cancel()
    stale = fired                       # as if it went off and sat in the inbox
    feed(ChannelDestroy("s1"))
    feed(ChannelCreate("s1", "alice"))
    feed(DialogParse("s1", "set a timer"))   # armed again, with the same generation
    assert shell._deadlines["s1"][1].event == stale.event
    assert feed(stale) == []                 # not the armed one: ignored
    assert shell.channels["s1"].conversation is not None
    current = shell._deadlines["s1"][1]
    (shown, terminated) = feed(current)
    assert isinstance(shown, ChannelShow)
    assert terminated == ChannelTerminate("s1", Reason.TIMEOUT)
    shell.close()


async def test_the_user_is_looked_up_in_the_store(tmp_path: Path) -> None:
    store = Store.in_data_dir(tmp_path)
    store.add_user("bob", "fr")
    store.set_env("bob", {"TIMER_SOUND": "gong"})
    shell = Conversations(Config(data_dir=tmp_path, env={"TIMER_SOUND": "bell", "X": 1}),
                          store, FairInbox())
    opened = shell.event_for(ChannelCreate("s1", "bob"))
    assert isinstance(opened, Opened) and opened.cid    # a fresh cid, for a welcome
    assert opened == Opened("s1", "bob", "fr", cid=opened.cid,
                            settings={"TIMER_SOUND": "gong", "X": 1})
    unknown = shell.event_for(ChannelCreate("s2", "eve", {"a": 1}, True))
    assert isinstance(unknown, Opened)
    assert (unknown.lang, unknown.session, unknown.welcome) == ("en", {"a": 1}, True)
    # A bot's guest has the bot's language and env.
    store.add_bot("shop", "fr")
    store.set_bot_env("shop", {"X": 2})
    guest = shell.event_for(ChannelCreate("s3", "shop/abc"))
    assert isinstance(guest, Opened)
    assert (guest.lang, guest.settings) == ("fr", {"TIMER_SOUND": "bell", "X": 2})
    shell.apply(Opened("s1", "bob", "fr"), make_world())
    said = shell.event_for(DialogParse("s1", "set a timer"))
    assert isinstance(said, UserSaid)
    assert (said.lang, said.settings) == ("fr", {"TIMER_SOUND": "gong", "X": 1})
    assert shell.event_for(DialogParse("never-created", "hello")) is None
    assert shell.dismissed["unknown"] == 1


async def test_a_language_change_is_seen_at_the_next_turn(tmp_path: Path) -> None:
    store = Store.in_data_dir(tmp_path)
    store.add_user("bob", "en")
    shell = Conversations(Config(data_dir=tmp_path), store, FairInbox())
    shell.apply(shell.event_for(ChannelCreate("s1", "bob")), make_world())  # type: ignore[arg-type]
    said = shell.event_for(DialogParse("s1", "set a timer"))
    assert isinstance(said, UserSaid) and (said.lang, said.settings) == ("en", {})
    # `atlas users` changes bob from its own process, between two texts.
    elsewhere = Store.in_data_dir(tmp_path)
    elsewhere.set_lang("bob", "fr")
    elsewhere.set_env("bob", {"TIMER_SOUND": "gong"})
    said = shell.event_for(DialogParse("s1", "mets un minuteur"))
    assert isinstance(said, UserSaid)
    assert (said.lang, said.settings) == ("fr", {"TIMER_SOUND": "gong"})
    elsewhere.delete_user("bob")
    said = shell.event_for(DialogParse("s1", "set a timer"))
    assert isinstance(said, UserSaid) and (said.lang, said.settings) == ("en", {})
    shell.close()


async def test_every_change_is_written_through_and_a_new_shell_restores_it(tmp_path: Path) -> None:
    world = make_world()
    state = SqliteConversationState.in_data_dir(tmp_path)
    shell = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), FairInbox(),
                          state)
    for message in (ChannelCreate("s1", "alice"), DialogParse("s1", "set a timer"),
                    ChannelCreate("s2", "bob"), ChannelCreate("gone", "eve"),
                    ChannelDestroy("gone")):
        event = shell.event_for(message)
        assert event is not None
        shell.apply(event, world)
        shell.save(shell.take_dirty())     # what the daemon does after each batch
    cid = shell.channels["s1"].conversation.cid  # type: ignore[union-attr]
    shell.apply(DialogAsk("s1", cid, "How long?", slot="duration"), world)
    assert shell.dirty == {"s1"}
    shell.save(shell.take_dirty())
    before = dict(shell.channels)
    armed_at = shell._deadlines["s1"][2].at
    shell.close()      # as if killed: nothing more is written
    state.close()

    inbox: FairInbox[object] = FairInbox()
    again = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), inbox,
                          SqliteConversationState.in_data_dir(tmp_path))
    assert again.restore() == 2
    assert again.channels == before and again.channels["s1"].phase is Phase.ASKING
    assert abs(again._deadlines["s1"][2].at - armed_at) < 0.01
    assert "s2" not in again._deadlines
    assert sorted([inbox.get_nowait(), inbox.get_nowait()], key=str) == [Resumed("s1"),
                                                                         Resumed("s2")]
    again.close()


async def test_a_deadline_that_passed_while_the_daemon_was_down_fires_at_once(
        tmp_path: Path) -> None:
    world = make_world()
    state = SqliteConversationState(tmp_path / "state.sqlite3")
    shell = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), FairInbox(),
                          state)
    shell.apply(Opened("s1", "alice", "en"), world)
    shell.apply(UserSaid("s1", "set a timer", "c1", "en"), world)
    channel = shell.channels["s1"]
    state.save({"s1": Stored(to_record(channel), Armed(channel.generation, time.time() - 60))})
    shell.close()

    inbox: FairInbox[object] = FairInbox()
    again = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), inbox, state)
    again.restore()
    assert inbox.get_nowait() == Resumed("s1")
    fired = await asyncio.wait_for(inbox.get(), 5)
    event = again.event_for(fired)  # type: ignore[arg-type]
    assert event == DeadlinePassed("s1", channel.generation)
    again.close()


async def test_texts_refused_for_a_full_queue_write_nothing_after_the_first(
        tmp_path: Path) -> None:
    shell = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), FairInbox())
    world = make_world()

    def feed(message: object) -> list[object]:
        event = shell.event_for(message)  # type: ignore[arg-type]
        return [p.message for p in shell.apply(event, world)] if event else []

    feed(ChannelCreate("s1", "alice"))
    feed(DialogParse("s1", "set a timer"))        # the timer skill works on it
    for n in range(MAX_QUEUE):
        feed(DialogParse("s1", f"what time is it {n}"))
    shell.take_dirty()
    told = feed(DialogParse("s1", "one more"))
    assert told == [ChannelShow("s1", say("queue_full", "en"))]
    assert shell.take_dirty() == {"s1"}           # told_full is part of the channel
    before = shell.channels["s1"]
    for n in range(100):
        assert feed(DialogParse("s1", f"and more {n}")) == []
    assert shell.take_dirty() == set() and shell.channels["s1"] is before
    assert shell.dismissed["queue"] == 101
    # "cancel" still gets through a full queue.
    assert ChannelTerminate("s1", Reason.CANCELLED) in feed(DialogParse("s1", "cancel"))
    assert shell.take_dirty() == {"s1"}
    shell.close()


async def test_every_conversation_gets_its_own_unguessable_id(tmp_path: Path) -> None:
    shell = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), FairInbox())
    shell.apply(shell.event_for(ChannelCreate("s1", "alice")), make_world())  # type: ignore[arg-type]
    cids = [shell.event_for(DialogParse("s1", "hi")).cid  # type: ignore[union-attr]
            for _ in range(3 * CID_POOL)]
    assert len(set(cids)) == len(cids)
    assert all(len(cid) == 32 and int(cid, 16) >= 0 for cid in cids)
    # Random, not counted: a counter would give them all the same first digits.
    assert len({cid[:8] for cid in cids}) == len(cids)
    shell.close()


async def test_a_skills_words_out_of_turn_are_dropped_as_they_are_read(tmp_path: Path) -> None:
    shell = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), FairInbox())
    world = make_world()
    shell.apply(shell.event_for(ChannelCreate("s1", "alice")), world)  # type: ignore[arg-type]
    shell.apply(shell.event_for(DialogParse("s1", "set a timer")), world)  # type: ignore[arg-type]
    cid = shell.channels["s1"].conversation.cid  # type: ignore[union-attr]
    assert not shell.drop_stale(DialogShow("s1", cid, "still working"))
    assert shell.drop_stale(DialogShow("s1", "an-old-cid", "late"))
    assert shell.drop_stale(DialogTerminate("s1", None))
    assert not shell.drop_stale(DialogParse("s1", "hello"))     # a user's text: not a skill's
    assert not shell.drop_stale(DialogShow("gone", cid, "late"))  # no channel: see unread
    assert shell.dismissed == {"stale": 1, "no": 1}
    shell.close()


async def test_what_is_dropped_before_it_is_decoded(tmp_path: Path) -> None:
    shell = Conversations(Config(data_dir=tmp_path), Store.in_data_dir(tmp_path), FairInbox())
    world = make_world()

    def unread(message: DialogParse | DialogShow, *, training: bool = False) -> bool:
        return shell.unread(message.topic(), message.to_payload(), world, training=training)

    def feed(message: object) -> None:
        event = shell.event_for(message)  # type: ignore[arg-type]
        if event is not None:
            shell.apply(event, world)

    feed(ChannelCreate("s1", "alice"))
    show = DialogShow("s1", "any-cid", "hello")
    assert unread(show)                                      # nothing runs on s1
    assert unread(DialogShow("nobody", "c", "x"))
    assert not unread(DialogParse("s1", "hi"))               # room in the queue: read
    feed(DialogParse("s1", "set a timer"))
    assert not unread(show)                                  # a conversation runs: read the cid
    for n in range(MAX_QUEUE + 1):
        feed(DialogParse("s1", f"what time is it {n}"))      # full, and the user was told
    assert unread(DialogParse("s1", "  hello  "))
    assert not unread(DialogParse("s1", "cancel"))
    assert not unread(DialogParse("s1", "hello"), training=True)
    # Behind texts that change nothing either, the next one is judged at once (a flood
    # read faster than it is handled is still dropped); behind a cancel, it waits.
    for text in ("earlier", "and again"):
        waiting = DialogParse("s1", text)
        assert shell.plain(waiting, world)
        shell.inbox.put("s1", waiting, plain=True)
        assert unread(DialogParse("s1", "hello"))
    assert not shell.plain(DialogParse("s1", "cancel"), world)
    assert not shell.plain(DialogShow("s1", "c", "hi"), world)
    assert not shell.plain(DialogParse("nobody", "hi"), world)
    shell.inbox.put("s1", DialogParse("s1", "cancel"))
    assert not unread(DialogParse("s1", "hello"))            # the cancel may make room
    assert not shell.unread(DialogParse("s1", "x").topic(), b"\xff\xfe", world, training=False)
    assert shell.dismissed == {"stale": 1, "unknown": 1, "queue": 4}
    shell.close()
