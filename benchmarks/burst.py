"""What a client's CPU pays per QoS 1 message it sends in a burst, and per show a
skill sends.

    python benchmarks/burst.py [--count 20000] [--rounds 7]

A flooding user's device or skill runs on the same cores as the daemon and the
broker on a small machine: every microsecond it spends per message is taken from
the others' turns (tests/reliability/test_flood.py). Three bursts, on Mosquitto:

- ``drained``: ``publish_raw`` of ``count`` messages, waiting for the broker's
  acknowledgements every 50 (as the flood test's user does);
- ``at once``: all of them, then one wait (the window fills, the rest queue);
- ``shows``: an SDK skill's handler showing ``count`` texts in one request.

Prints the median CPU time per message of each (the process's own, from
``time.process_time``), and the wall time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from brokers import Mosquitto

from atlas.protocol import IntentRequest
from atlas.sdk import Request, Skill
from atlas.transport import Session

TOPIC = "atlas/0123456789abcdef/dialog/parse"


async def raw_burst(url: str, count: int, every: int) -> tuple[float, float]:
    async with Session(url, "burst", raw=True) as session:
        cpu, wall = time.process_time(), time.perf_counter()
        for n in range(count):
            session.publish_raw(TOPIC, b"hello")
            if every and n % every == every - 1:
                await session.drain(30)
        await session.drain(120)
        return time.process_time() - cpu, time.perf_counter() - wall


async def show_burst(url: str, count: int) -> tuple[float, float]:
    skill = Skill("burst")
    skill.training("en", "%[flood]\n  flood me\n")
    done = asyncio.Event()
    started: list[float] = []

    @skill.intent("flood")
    async def flood(req: Request) -> None:
        started[:] = [time.process_time(), time.perf_counter()]
        for n in range(count):
            req.show(f"spam {n}")
        await req.terminate()     # acknowledged: so were the shows before it
        done.set()

    async with skill.connect(url) as running, Session(url, "trigger") as trigger:
        serving = asyncio.create_task(running.serve())
        await asyncio.sleep(0.2)          # subscribed
        trigger.publish(IntentRequest("flood", "c" * 32, "s1", "u", "en", "1.0"))
        await asyncio.wait_for(done.wait(), 120)
        cpu, wall = time.process_time() - started[0], time.perf_counter() - started[1]
        serving.cancel()
        return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with Mosquitto(Path(tempfile.mkdtemp())) as broker:
        for label, burst in (("drained", lambda: raw_burst(broker.url, args.count, 50)),
                             ("at once", lambda: raw_burst(broker.url, args.count, 0)),
                             ("shows", lambda: show_burst(broker.url, args.count))):
            results = [asyncio.run(burst()) for _ in range(args.rounds)]
            cpu = statistics.median(r[0] for r in results) / args.count * 1e6
            wall = statistics.median(r[1] for r in results) / args.count * 1e6
            print(f"{label}: {cpu:.1f} µs of CPU per message, {wall:.1f} µs of wall time",
                  flush=True)


if __name__ == "__main__":
    main()
