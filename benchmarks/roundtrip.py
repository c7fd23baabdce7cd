"""Round trip through the whole daemon: a channel's parse to the skill's answer.

Starts a broker (the embedded amqtt one, or Mosquitto with --broker mosquitto),
the daemon in-process, a raw-MQTT skill that answers at once, and a channel that
sends N messages one after the other. Prints p50/p90/p99 of the time from
``dialog/parse`` to ``channel/terminate``, with TCP_NODELAY on and off.

    python benchmarks/roundtrip.py [--count 200] [--broker amqtt|mosquitto]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from brokers import Mosquitto

from atlas.broker import EmbeddedBroker
from atlas.config import Config, Discovery
from atlas.daemon import serve
from atlas.protocol import Bye
from atlas.transport import RawMessage, Session, matches, raw, session

TRAINING = "%[get_time]\n  what time is it\n  tell me the time\n  what's the time\n"


async def skill(url: str, ready: asyncio.Event) -> None:
    pong = json.dumps({"name": "bench", "version": "1", "intents": {"get_time": []},
                       "training": {"en": TRAINING}})
    async with Session(url, "bench-skill", raw=True, will=Bye("bench")) as client:
        await client.subscribe(raw("atlas/discovery/ping"), raw("atlas/intents/get_time"))
        client.publish_raw("atlas/discovery/pong", pong)
        ready.set()
        async for message in client:
            assert isinstance(message, RawMessage)
            if message.topic == "atlas/discovery/ping":
                client.publish_raw("atlas/discovery/pong", pong)
                continue
            request = json.loads(message.payload)
            sid, cid = request["__sid"], request["__cid"]
            client.publish_raw(f"atlas/{sid}/dialog/show",
                               json.dumps({"__cid": cid, "text": "noon"}))
            client.publish_raw(f"atlas/{sid}/dialog/terminate", json.dumps({"__cid": cid}))


async def measure(url: str, count: int) -> list[float]:
    config = Config(broker=url, data_dir=Path(tempfile.mkdtemp()),
                    discovery=Discovery(interval=5, timeout=30))
    daemon = asyncio.create_task(serve(config))
    ready = asyncio.Event()
    responder = asyncio.create_task(skill(url, ready))
    await ready.wait()
    timings: list[float] = []
    async with Session(url, "bench-channel", raw=True) as client:
        await client.subscribe(raw("atlas/bench/channel/#"), raw("atlas/discovery/skills"))

        async def until(topic: str) -> RawMessage:
            async for message in client:
                assert isinstance(message, RawMessage)
                if matches(topic, message.topic):
                    return message
            raise AssertionError("the session ended")

        while b"bench" not in (await until("atlas/discovery/skills")).payload:
            pass                                     # wait until trained for the skill
        client.publish_raw("atlas/bench/channel/create", '{"uid": "bench"}')
        await until("atlas/bench/channel/created")
        for _ in range(count + 10):
            started = time.perf_counter()
            client.publish_raw("atlas/bench/dialog/parse", "what time is it")
            await until("atlas/bench/channel/terminate")
            timings.append(time.perf_counter() - started)
    for task in (daemon, responder):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return timings[10:]                              # the first ones warm caches up


def report(label: str, timings: list[float]) -> float:
    ms = sorted(t * 1000 for t in timings)
    p = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    print(f"{label:28s} n={len(ms):4d}  p50 {statistics.median(ms):7.2f} ms  "
          f"p90 {p(0.9):7.2f} ms  p99 {p(0.99):7.2f} ms")
    return statistics.median(ms)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--broker", choices=["amqtt", "mosquitto"], default="amqtt")
    parser.add_argument("--nodelay-only", action="store_true",
                        help="skip the comparison run without TCP_NODELAY")
    args = parser.parse_args()
    medians = {}
    for nodelay in (1,) if args.nodelay_only else (1, 0):
        session.NODELAY = bool(nodelay)
        with contextlib.ExitStack() as stack:
            if args.broker == "amqtt":
                url = stack.enter_context(EmbeddedBroker(port=0)).url
            else:
                url = stack.enter_context(Mosquitto(Path(tempfile.mkdtemp()))).url
            timings = asyncio.run(measure(url, args.count))
        medians[nodelay] = report(f"{args.broker} TCP_NODELAY={nodelay}", timings)
    if 0 in medians:
        print(f"ratio without/with TCP_NODELAY: {medians[0] / medians[1]:.1f}x")


if __name__ == "__main__":
    main()
