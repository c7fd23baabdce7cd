"""Conversations in a real Redis, and the primitives several daemons need: leases
with fencing, deadlines claimed once, a publication once per change."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from core.helpers import make_world
from redis_server import RedisServer

from atlas.config import Config, RedisAddress
from atlas.core import Phase, Resumed, to_record
from atlas.daemon.conversations import Conversations
from atlas.daemon.inbox import FairInbox
from atlas.protocol import ChannelCreate, ChannelDestroy, DialogAsk, DialogParse
from atlas.store import Armed, Store, Stored
from atlas.store.redis_async import (
    AsyncDeadlines,
    AsyncLeases,
    AsyncOncePerChange,
    AsyncRedisState,
)
from atlas.store.redis_async import connect as connect_async
from atlas.store.redis_state import (
    Deadlines,
    Fenced,
    Keys,
    Lease,
    Leases,
    NotLeased,
    OncePerChange,
    RedisConversationState,
)

WORKER = Path(__file__).with_name("redis_worker.py")


@pytest.fixture
def client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis_server.client()
    client.flushdb()
    yield client
    client.close()


def wait_until_gone(client: redis.Redis, key: str) -> None:
    """Until ``key`` expired (a lease let lapse; the test's timeout bounds it)."""
    while client.exists(key):
        time.sleep(0.01)


def go(client: redis.Redis) -> None:
    """Start the workers together, once both wait for it (tests/redis_worker.py)."""
    while sum(c.get("cmd") == "blpop" for c in client.client_list()) < 2:
        time.sleep(0.01)
    client.rpush("go", "1", "1")


# -- the ConversationState interface --------------------------------------------------


def test_the_latest_of_each_sid_is_kept_and_none_forgets(redis_server: RedisServer,
                                                        client: redis.Redis) -> None:
    state = RedisConversationState.at(RedisAddress.parse(redis_server.url))
    for n in range(50):
        state.save({"s1": Stored({"n": n, "text": "où ça ?"}, Armed(n, 1000.5 + n)),
                    "s2": Stored({"n": -n})})
    state.save({"s2": None})
    state.save({"s3": Stored({"n": 3}, Armed(1, 2000.0))})
    state.save({"s3": Stored({"n": 4})})         # its deadline disarmed
    state.close()
    again = RedisConversationState(redis_server.client())
    assert again.load() == {"s1": Stored({"n": 49, "text": "où ça ?"}, Armed(49, 1049.5)),
                            "s3": Stored({"n": 4})}
    assert again.load_sid("s1") == Stored({"n": 49, "text": "où ça ?"}, Armed(49, 1049.5))
    assert again.load_sid("s2") is None
    # Nothing left of the forgotten sid nor of the disarmed deadline.
    assert client.zrange("atlas:deadlines", 0, -1) == ["s1"]
    assert client.hkeys("atlas:deadline-gen") == ["s1"]
    assert client.smembers("atlas:sids") == {"s1", "s3"}


def test_a_damaged_record_comes_back_as_none(client: redis.Redis) -> None:
    client.sadd("atlas:sids", "s1")
    client.set("atlas:conv:s1", "{not json")
    assert RedisConversationState(client).load() == {"s1": Stored(None)}


def test_two_prefixes_are_two_separate_stores(client: redis.Redis) -> None:
    RedisConversationState(client, keys=Keys("a")).save({"s1": Stored({"n": 1})})
    assert RedisConversationState(client, keys=Keys("b")).load() == {}


async def test_the_daemons_shell_writes_through_and_a_new_one_restores(
        tmp_path: Path, redis_server: RedisServer, client: redis.Redis) -> None:
    world = make_world()
    config = Config(data_dir=tmp_path)
    shell = Conversations(config, Store.in_data_dir(tmp_path), FairInbox(),
                          RedisConversationState(redis_server.client()))
    for message in (ChannelCreate("s1", "alice"), DialogParse("s1", "set a timer"),
                    ChannelCreate("s2", "bob"), ChannelCreate("gone", "eve"),
                    ChannelDestroy("gone")):
        event = shell.event_for(message)
        assert event is not None
        shell.apply(event, world)
        shell.save(shell.take_dirty())
    cid = shell.channels["s1"].conversation.cid  # type: ignore[union-attr]
    shell.apply(DialogAsk("s1", cid, "How long?", slot="duration"), world)
    shell.save(shell.take_dirty())
    before = dict(shell.channels)
    armed_at = shell._deadlines["s1"][2].at
    shell.close()

    inbox: FairInbox[object] = FairInbox()     # another daemon, say
    again = Conversations(config, Store.in_data_dir(tmp_path), inbox,
                          RedisConversationState(redis_server.client()))
    assert again.restore() == 2
    assert again.channels == before and again.channels["s1"].phase is Phase.ASKING
    assert again._deadlines["s1"][2].at == armed_at
    assert sorted([inbox.get_nowait(), inbox.get_nowait()], key=str) == [Resumed("s1"),
                                                                         Resumed("s2")]
    assert RedisConversationState(client).load_sid("s1") == Stored(
        to_record(before["s1"]), again._deadlines["s1"][2])
    again.close()


# -- leases and fencing ---------------------------------------------------------------


def test_a_lease_is_held_by_one_daemon_at_a_time_with_growing_tokens(
        client: redis.Redis) -> None:
    a, b = Leases(client, "daemon-a"), Leases(client, "daemon-b")
    first = a.acquire("s1")
    assert first is not None and first.owner == "daemon-a"
    assert b.acquire("s1") is None
    assert a.acquire("s1") == first               # held: renewed, same token
    other = b.acquire("s2")
    assert other is not None and other.token > first.token
    assert not b.release(first)                   # not b's to give up
    assert a.release(first)
    second = b.acquire("s1")
    assert second is not None and second.token > other.token
    assert not a.renew(first)


def test_a_stale_holders_write_is_refused_after_another_took_over(
        client: redis.Redis) -> None:
    slow = Leases(client, "slow", lease_ms=50)
    fast = Leases(client, "fast")
    slow_state = RedisConversationState(client, leases=slow)
    fast_state = RedisConversationState(client, leases=fast)
    assert slow.acquire("s1") is not None and slow.acquire("s2") is not None
    slow_state.save({"s1": Stored({"by": "slow", "turn": 1})})
    # The slow daemon stalls past its lease; the other takes the sid over.
    wait_until_gone(client, "atlas:lease:s1")
    taken = fast.acquire("s1")
    assert taken is not None
    fast_state.save({"s1": Stored({"by": "fast", "turn": 2})})
    # Awake again, the slow daemon writes what it decided: refused, all of the batch.
    with pytest.raises(Fenced) as refused:
        slow_state.save({"s2": Stored({"by": "slow"}), "s1": Stored({"by": "slow", "turn": 2})})
    assert refused.value.sid == "s1"
    assert "s1" not in slow.held                  # it knows it lost the sid
    assert fast_state.load() == {"s1": Stored({"by": "fast", "turn": 2})}
    with pytest.raises(NotLeased):
        slow_state.save({"s1": Stored({"by": "slow"})})
    # Its lease lapsed too, but no one took s2: its token is still the newest.
    slow_state.save({"s2": Stored({"by": "slow"})})
    assert fast_state.load_sid("s2") == Stored({"by": "slow"})


def test_a_fenced_write_renews_the_lease_it_writes_under(client: redis.Redis) -> None:
    leases = Leases(client, "d", lease_ms=60_000)
    state = RedisConversationState(client, leases=leases)
    assert leases.acquire("s1") is not None
    client.pexpire("atlas:lease:s1", 500)
    state.save({"s1": Stored({"n": 1})})
    assert client.pttl("atlas:lease:s1") > 1000


def test_two_processes_racing_over_one_sid_lose_no_update(redis_server: RedisServer,
                                                          client: redis.Redis) -> None:
    workers = [subprocess.Popen([sys.executable, str(WORKER), "count", str(redis_server.port),
                                 "s1", "150"], stdout=subprocess.PIPE, text=True)
               for _ in range(2)]
    go(client)
    owners = [worker.communicate(timeout=100)[0].strip() for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    stored = RedisConversationState(client).load_sid("s1")
    assert stored is not None and stored.record is not None
    assert stored.record["n"] == 300
    assert Counter(stored.record["by"]) == {owners[0]: 150, owners[1]: 150}


# -- deadlines ------------------------------------------------------------------------


def arm(client: redis.Redis, count: int, at: float) -> set[tuple[str, int]]:
    state = RedisConversationState(client)
    armed = {(f"s{n}", n % 7) for n in range(count)}
    for sid, generation in armed:
        state.save({sid: Stored({"sid": sid}, Armed(generation, at))})
    return armed


def test_only_due_deadlines_are_claimed_and_a_claim_is_handed_out_once(
        client: redis.Redis) -> None:
    state = RedisConversationState(client)
    state.save({"due": Stored({}, Armed(3, 100.0)), "later": Stored({}, Armed(1, 500.0))})
    deadlines = Deadlines(client, hold=30)
    assert deadlines.next_due() == 100.0
    claims = deadlines.claim(now=200.0)
    assert [(c.sid, c.generation, c.at) for c in claims] == [("due", 3, 100.0)]
    assert deadlines.claim(now=200.0) == []        # hidden while the claimer works
    # The claimer died without handling it: it is due again once the hold is over.
    assert [c.sid for c in deadlines.claim(now=231.0)] == ["due"]
    # Handling it means writing the sid without that deadline: gone for good.
    state.save({"due": Stored({"handled": True})})
    assert [c.sid for c in deadlines.claim(now=1000.0)] == ["later"]
    state.save({"later": Stored({"handled": True})})
    assert deadlines.claim(now=10_000.0) == []
    assert deadlines.next_due() is None


def test_a_deadline_is_claimed_once_under_concurrent_claimers(client: redis.Redis,
                                                             redis_server: RedisServer) -> None:
    armed = arm(client, 400, at=100.0)
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def claimer() -> None:
        deadlines = Deadlines(redis_server.client(), hold=3600)
        start.wait()
        while claims := deadlines.claim(now=200.0, limit=5):
            with lock:
                claimed.extend((c.sid, c.generation) for c in claims)

    threads = [threading.Thread(target=claimer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(claimed) == len(armed) and set(claimed) == armed


def test_two_processes_claiming_deadlines_share_them_without_overlap(
        redis_server: RedisServer, client: redis.Redis) -> None:
    armed = arm(client, 600, at=time.time() - 60)
    workers = [subprocess.Popen([sys.executable, str(WORKER), "claim", str(redis_server.port)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    go(client)
    outputs = [worker.communicate(timeout=100)[0].split("\n") for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0]
    claims = [[(sid, int(gen)) for sid, gen in (line.split() for line in output if line)]
              for output in outputs]
    assert all(claims)          # both took part (each claims a few at a time)
    assert sorted(claims[0] + claims[1]) == sorted(armed)


# -- once per change ------------------------------------------------------------------


def test_the_skills_list_is_published_once_per_change(redis_server: RedisServer,
                                                      client: redis.Redis) -> None:
    guards = [OncePerChange(redis_server.client(), "skills") for _ in range(6)]
    results: list[bool] = []
    start = threading.Barrier(len(guards))

    def daemon(guard: OncePerChange, content: bytes) -> None:
        start.wait()
        results.append(guard.first(content))

    for content in (b'{"skills":["clock"]}', b'{"skills":["clock","timer"]}'):
        results.clear()
        threads = [threading.Thread(target=daemon, args=(guard, content)) for guard in guards]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(results) == [False] * 5 + [True]
    assert not guards[0].first(b'{"skills":["clock","timer"]}')   # no change, no publish
    assert guards[0].first(b'{"skills":["clock"]}')               # a change back is one
    guards[1].forget()
    assert guards[2].first(b'{"skills":["clock"]}')


# -- the same through redis.asyncio ---------------------------------------------------


async def test_asyncio_records_are_the_same_records(redis_server: RedisServer,
                                                    client: redis.Redis) -> None:
    state = AsyncRedisState(connect_async(RedisAddress.parse(redis_server.url)))
    await state.save({"s1": Stored({"n": 1}, Armed(2, 1500.25)), "s2": Stored({"n": 2})})
    await state.save({"s2": None})
    assert RedisConversationState(client).load() == {"s1": Stored({"n": 1}, Armed(2, 1500.25))}
    RedisConversationState(client).save({"s3": Stored({"n": 3})})
    assert await state.load() == {"s1": Stored({"n": 1}, Armed(2, 1500.25)),
                                  "s3": Stored({"n": 3})}
    assert await state.load_sid("s3") == Stored({"n": 3})
    assert await state.load_sid("s2") is None
    await state.close()


async def test_asyncio_a_stale_holders_write_is_refused(redis_server: RedisServer,
                                                        client: redis.Redis) -> None:
    slow = AsyncLeases(connect_async(RedisAddress.parse(redis_server.url)), "slow",
                       lease_ms=50)
    fast = AsyncLeases(connect_async(RedisAddress.parse(redis_server.url)), "fast")
    slow_state, fast_state = AsyncRedisState(slow.client, leases=slow), AsyncRedisState(
        fast.client, leases=fast)
    assert await slow.acquire("s1") is not None
    assert await fast.acquire("s1") is None
    await slow_state.save({"s1": Stored({"by": "slow"})})
    while await fast.acquire("s1") is None:          # until the slow one's lease lapses
        await asyncio.sleep(0.01)
    await fast_state.save({"s1": Stored({"by": "fast"})})
    with pytest.raises(Fenced):
        await slow_state.save({"s1": Stored({"by": "slow", "late": True})})
    assert not await slow.renew(Lease("s1", "slow", 1))
    assert await fast_state.load_sid("s1") == Stored({"by": "fast"})
    lease = fast.held["s1"]
    assert await fast.release(lease) and not await slow.release(lease)
    await slow_state.close()
    await fast_state.close()


async def test_asyncio_deadlines_and_once_per_change_under_concurrent_callers(
        redis_server: RedisServer, client: redis.Redis) -> None:
    armed = arm(client, 300, at=100.0)
    address = RedisAddress.parse(redis_server.url)
    claimers = [AsyncDeadlines(connect_async(address), hold=3600) for _ in range(6)]
    assert await claimers[0].next_due() == 100.0

    async def drain(deadlines: AsyncDeadlines) -> list[tuple[str, int]]:
        got: list[tuple[str, int]] = []
        while claims := await deadlines.claim(now=200.0, limit=4):
            got.extend((c.sid, c.generation) for c in claims)
            await asyncio.sleep(0)
        return got

    shares = await asyncio.gather(*(drain(d) for d in claimers))
    assert sorted(pair for share in shares for pair in share) == sorted(armed)
    guards = [AsyncOncePerChange(d.client, "skills") for d in claimers]
    assert sorted(await asyncio.gather(*(g.first(b"[clock]") for g in guards))) == [
        False] * 5 + [True]
    await guards[0].forget()
    assert await guards[1].first(b"[clock]")
    for deadlines in claimers:
        await deadlines.client.aclose()
