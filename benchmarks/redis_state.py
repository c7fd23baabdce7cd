"""What keeping conversations in Redis costs per event, next to SQLite and memory.

Starts its own redis-server on a free loopback port (Debian's), then drives the
daemon's conversation shell (no broker) through turns of a question and its
answer, as benchmarks/durable_state.py does, with each state: in memory, SQLite
(handed to a writer thread), Redis (each event's batch written before the shell
goes on: one round trip), and Redis with a lease and fencing (the same write,
checked against the sid's token, renewing the lease). Also the bare round trip
(PING) and a lease's first grant, the other Redis calls a turn may make; and
what a daemon spends on a message it only decodes (every daemon hears every
message; only the sid's lease holder handles it).

    python benchmarks/redis_state.py [--turns 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis
import redis.asyncio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from durable_state import per_event  # the same events, with each state

from atlas.protocol import (
    DAEMON_INBOX,
    DialogParse,
    parse_message,
)
from atlas.store import SqliteConversationState, Stored
from atlas.store.redis_async import AsyncLeases, AsyncRedisState
from atlas.store.redis_state import Leases, RedisConversationState


def start_redis(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = subprocess.Popen(
        [shutil.which("redis-server") or "/usr/bin/redis-server", "--port", str(port),
         "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            return process, port
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def writes_per_second(port: int, sids: int, each: int) -> tuple[float, float, float]:
    """Fenced sid writes per second: one after another (as on a loop that waits for
    each), 32 sids per script call, and ``sids`` sids writing at once through the
    asyncio client."""
    client = redis.Redis(port=port, decode_responses=True)
    client.flushdb()
    leases = Leases(client, "sync")
    state = RedisConversationState(client, leases=leases)
    record = {"text": "set a timer for ten minutes", "queue": [], "context": None, "n": 0}
    for n in range(sids):
        leases.acquire(f"w{n}")
    started = time.perf_counter()
    for turn in range(each):
        for n in range(sids):
            state.save({f"w{n}": Stored({**record, "n": turn})})
    one_by_one = sids * each / (time.perf_counter() - started)
    # The daemon handles up to 32 events per turn of its loop: their sids in one write.
    started = time.perf_counter()
    for turn in range(each):
        for first in range(0, sids, 32):
            state.save({f"w{n}": Stored({**record, "n": turn})
                        for n in range(first, min(sids, first + 32))})
    grouped = sids * each / (time.perf_counter() - started)
    client.flushdb()

    async def at_once() -> float:
        aleases = AsyncLeases(redis.asyncio.Redis(port=port, decode_responses=True), "async")
        astate = AsyncRedisState(aleases.client, leases=aleases)
        for n in range(sids):
            await aleases.acquire(f"w{n}")

        async def sid(n: int) -> None:
            for turn in range(each):    # each sid's writes in order, sids side by side
                await astate.save({f"w{n}": Stored({**record, "n": turn})})

        began = time.perf_counter()
        await asyncio.gather(*(sid(n) for n in range(sids)))
        rate = sids * each / (time.perf_counter() - began)
        await astate.close()
        return rate

    return one_by_one, grouped, asyncio.run(at_once())


def calls(count: int, call: Callable[[int], object]) -> list[float]:
    timings: list[float] = []
    for n in range(count):
        started = time.perf_counter()
        call(n)
        timings.append(time.perf_counter() - started)
    return timings


def report(name: str, timings: list[float]) -> None:
    us = sorted(t * 1e6 for t in timings)
    print(f"{name:22s} n={len(us):6d}  p50 {statistics.median(us):7.1f} us  "
          f"p99 {us[int(0.99 * len(us))]:7.1f} us", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=2000)
    args = parser.parse_args()
    heard = DialogParse("8c1f0e2a-5d1b-4c0e-9a57-3f2d1e0b9c44", "set a timer for ten minutes")
    topic, payload = heard.topic(), heard.to_payload()
    report("decode a message", calls(args.turns * 5,
                                     lambda n: parse_message(topic, payload, DAEMON_INBOX)))
    folder = Path(tempfile.mkdtemp())
    process, port = start_redis(folder)
    try:
        client = redis.Redis(port=port, decode_responses=True)
        report("redis PING", calls(args.turns * 2, lambda n: client.ping()))
        leases = Leases(client, "bench")
        report("redis lease granted", calls(args.turns, lambda n: leases.acquire(f"x{n}")))
        for _ in range(2):
            asyncio.run(per_event(10, None, folder))          # warm up the shell
            report("event, memory", asyncio.run(per_event(args.turns, None, folder)))
            sqlite = SqliteConversationState(folder / "bench.sqlite3")
            report("event, sqlite", asyncio.run(per_event(args.turns, sqlite, folder)))
            sqlite.close()
            client.flushdb()
            report("event, redis", asyncio.run(
                per_event(args.turns, RedisConversationState(client), folder)))
            client.flushdb()
            fenced = Leases(client, "daemon-1")
            fenced.acquire("s1")
            report("event, redis + lease", asyncio.run(
                per_event(args.turns, RedisConversationState(client, leases=fenced), folder)))
        for _ in range(2):
            sync, grouped, concurrent = writes_per_second(port, sids=100,
                                                          each=args.turns // 100)
            print(f"fenced sid writes/s    one after another {sync:6.0f}   "
                  f"32 per call {grouped:6.0f}   100 sids at once (asyncio) {concurrent:6.0f}",
                  flush=True)
    finally:
        process.terminate()
        process.wait()


if __name__ == "__main__":
    main()
