"""Two daemons' keepings on one real Redis, without a broker: who handles a sid, what a
stalled daemon may no longer publish, what a daemon taking over replays and re-sends."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
from core.helpers import make_world
from redis_server import RedisServer

from atlas.config import Config, RedisAddress
from atlas.core import Publish
from atlas.daemon.conversations import Conversations
from atlas.daemon.inbox import FairInbox
from atlas.daemon.sharing import Retry, SharedKeeping, shared
from atlas.protocol import ChannelCreate, DaemonSent, DialogParse, Message
from atlas.store import Store
from atlas.store.redis_state import Claim, Keys


class Daemon:
    """What the daemon's loop does with a batch, minus the broker: admit, handle, write,
    then say what was published (to the other daemons and to Redis)."""

    def __init__(self, keeping: SharedKeeping, conversations: Conversations) -> None:
        self.keeping = keeping
        self.conversations = conversations
        self.world = make_world()
        self.peers: list[Daemon] = []

    async def turn(self, *items: Any, dies_before_sending: bool = False) -> list[Message]:
        publishes: list[Publish] = []
        for item in await self.keeping.admit(list(items)):
            event = self.conversations.event_for(item)
            if event is not None:
                publishes += self.conversations.apply(event, self.world)
        refused = await self.keeping.commit(publishes)
        if dies_before_sending:
            return []
        mark = self.keeping.published()
        if isinstance(mark, DaemonSent):
            for peer in self.peers:
                peer.keeping.heard_sent(mark)
            await self.keeping.confirm(float("inf"))
        return [p.message for p in publishes if getattr(p.message, "sid", None) not in refused]


@pytest.fixture
async def daemons(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[list[Daemon]]:
    redis_server.client().flushdb()
    address = RedisAddress.parse(redis_server.url)
    async with AsyncExitStack() as stack:
        made = []
        for n in range(2):
            inbox: FairInbox[Any] = FairInbox()
            conversations = Conversations(Config(data_dir=tmp_path / str(n)),
                                          Store.in_data_dir(tmp_path / str(n)), inbox,
                                          timers=False)
            keeping = await stack.enter_async_context(
                shared(address, conversations, inbox, keys=Keys("t")))
            keeping.leases.lease_ms = 400        # short leases: the test waits them out
            made.append(Daemon(keeping, conversations))
        made[0].peers, made[1].peers = [made[1]], [made[0]]
        yield made


def kinds(messages: list[Message]) -> list[str]:
    return [type(m).__name__ for m in messages]


ASKED_THE_CLOCK = ["ChannelWork", "IntentRequest"]


async def open_s1(holder: Daemon, listener: Daemon) -> None:
    """s1 created: ``holder`` hears it first and holds it, ``listener`` only hears it."""
    create = ChannelCreate("s1", "alice")
    await holder.turn(create)
    await listener.turn(create)


async def test_one_daemon_handles_a_sid_and_the_other_keeps_what_it_heard(
        daemons: list[Daemon]) -> None:
    a, b = daemons
    create = ChannelCreate("s1", "alice")
    assert [type(m).__name__ for m in await a.turn(create)] == ["ChannelCreated"]
    assert await b.turn(create) == []           # a holds s1: b only heard it
    said = DialogParse("s1", "what time is it")
    assert kinds(await a.turn(said)) == ASKED_THE_CLOCK
    assert await b.turn(said) == []
    assert b.keeping.hearing.keeping("s1")      # until a's lease ends: a may die first
    await asyncio.sleep(0.5)                     # a's lease runs out; b takes s1 as a left it
    assert await b.turn(Retry("s1")) == []
    assert b.keeping.replayed == 0
    assert b.conversations.channels["s1"] == a.conversations.channels["s1"]


async def test_what_a_dead_holder_heard_but_never_handled_is_replayed_once(
        daemons: list[Daemon]) -> None:
    a, b = daemons
    create, said = ChannelCreate("s1", "alice"), DialogParse("s1", "what time is it")
    await a.turn(create)
    await b.turn(create)
    await b.turn(said)          # a "dies" before handling the text: only b heard it
    await asyncio.sleep(0.5)
    assert kinds(await b.turn(Retry("s1"))) == ASKED_THE_CLOCK
    assert b.keeping.replayed == 1
    assert await b.turn(Retry("s1")) == []       # replayed once, not twice


async def test_a_stalled_daemon_publishes_nothing_once_another_took_its_sid(
        daemons: list[Daemon]) -> None:
    a, b = daemons
    await open_s1(a, b)
    await asyncio.sleep(0.5)                     # a stalls past its lease…
    said = DialogParse("s1", "what time is it")
    assert kinds(await b.turn(said)) == ASKED_THE_CLOCK     # …b takes s1 over
    # a wakes up believing it still holds s1: its write is refused, nothing published.
    a.keeping.until["s1"] = float("inf")
    assert await a.turn(said) == []
    assert "s1" not in a.conversations.channels


async def test_messages_written_but_never_sent_are_sent_by_the_next_holder_only_then(
        daemons: list[Daemon]) -> None:
    a, b = daemons
    await open_s1(b, a)
    said = DialogParse("s1", "what time is it")
    # b writes, then dies before its messages leave (no sent mark, to Redis or to a).
    assert await b.turn(said, dies_before_sending=True) == []
    await a.turn(said)
    await asyncio.sleep(0.5)
    a.keeping.listening_since -= 60      # a was listening when b wrote
    await a.turn(Retry("s1"))
    unsent = a.keeping.unsent()
    assert [topic for topic, _ in unsent] == ["atlas/s1/channel/work",
                                              "atlas/intents/get_time"]


async def test_messages_marked_sent_are_not_sent_again(daemons: list[Daemon]) -> None:
    a, b = daemons
    await open_s1(b, a)
    said = DialogParse("s1", "what time is it")
    await b.turn(said, dies_before_sending=True)
    await a.turn(said)
    mark = b.keeping.published()        # in b's flush, after the messages…
    assert isinstance(mark, DaemonSent) and mark.sids == {"s1": 2}
    a.keeping.heard_sent(mark)          # …heard by a; b dies before telling Redis
    await asyncio.sleep(0.5)
    a.keeping.listening_since -= 60
    await a.turn(Retry("s1"))
    assert a.keeping.unsent() == []


async def test_deadlines_are_claimed_by_their_holder_or_by_anyone_once_it_is_gone(
        daemons: list[Daemon]) -> None:
    a, b = daemons
    create = ChannelCreate("s1", "alice")
    await a.turn(create)
    await a.turn(DialogParse("s1", "what time is it"))   # the skill's deadline is armed
    armed = a.conversations.stored("s1")
    assert armed is not None and armed.deadline is not None
    due = armed.deadline.at + 1
    assert await b.keeping.deadlines.claim(due, owner=b.keeping.owner) == []   # a's
    await asyncio.sleep(0.5)                             # a's lease runs out
    claims = await b.keeping.deadlines.claim(due, owner=b.keeping.owner)
    assert [c.sid for c in claims] == ["s1"]
    fired = await b.turn(*claims)
    assert kinds(fired)[-1] == "ChannelTerminate"       # the skill took too long
    assert await b.keeping.deadlines.claim(due + 60, owner=b.keeping.owner) == []


async def test_a_daemon_just_started_leaves_unsent_messages_to_one_that_was_listening(
        daemons: list[Daemon]) -> None:
    a, b = daemons
    await open_s1(b, a)
    await b.turn(DialogParse("s1", "what time is it"), dies_before_sending=True)
    await asyncio.sleep(0.5)
    a.keeping.listening_since = time.time()     # as if a had just (re)started
    assert await a.turn(Retry("s1")) == []
    assert "s1" not in a.keeping.until and a.keeping.unsent() == []
    assert "s1" in a.keeping._retries           # it looks again in a second


async def test_write_numbers_only_grow_across_holders(daemons: list[Daemon]) -> None:
    a, b = daemons
    await open_s1(a, b)                                   # write 1: channel/created
    assert await a.turn(Claim("s1", 99, 0.0)) == []      # a write that publishes nothing
    assert a.keeping.seq["s1"] == 1
    await asyncio.sleep(0.5)
    await b.turn(DialogParse("s1", "what time is it"))    # b takes s1 over: write 2
    assert b.keeping.seq["s1"] == 2


async def test_a_daemon_keeping_messages_looks_again_when_the_holders_lease_ends(
        daemons: list[Daemon]) -> None:
    a, b = daemons
    await open_s1(a, b)
    await b.turn(DialogParse("s1", "what time is it"))      # a has not handled it yet
    assert "s1" in b.keeping._retries
    b.keeping.heard_sent(DaemonSent(a.keeping.owner, {"s1": 1}))   # a's other news
    assert "s1" in b.keeping._retries
    retry = await asyncio.wait_for(b.keeping.inbox.get(), 2)       # a's lease ended
    assert retry == Retry("s1")
    assert kinds(await b.turn(retry)) == ASKED_THE_CLOCK            # a died: b answers
