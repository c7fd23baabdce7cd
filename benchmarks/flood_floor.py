"""The floor under the flood test's bystander: the same load, on a topic the daemon
never reads.

    python benchmarks/flood_floor.py [--rounds N] [--json PATH]

``tests/reliability/test_flood.py`` asks that, while a skill sends 5,000 shows and
a user 10,000 texts, another user's turn p99 stays under 5x its idle p50. On a
machine of few cores part of that slowdown is not the daemon's: the flooders and
the broker take the cores the bystander's hops need. Here two processes send as
many messages, as fast, to ``elsewhere/…``, which nobody subscribes to: the
daemon reads none of them, and the bystander (the test's skill and channel,
through ``atlas daemon`` on Mosquitto) is timed as in the test. Its p99 against
its idle p50 is what the machine alone costs; the test's ratio above it is the
daemon's share. (The test's flooding skill is an SDK process, costlier per
message than these raw senders: the floor is a lower bound.)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from brokers import Mosquitto  # noqa: E402
from reliability.peers import DaemonProcess, colors_skill, wait_skills, write_config  # noqa: E402
from reliability.test_flood import IDLE_TURNS, SHOWS, TEXTS, go, percentile, ready_sender, turn  # noqa: E402

from atlas.channel import Channel  # noqa: E402

#: One raw sender: ``count`` messages on ``topic``, acknowledged by the broker.
SENDER = """
import asyncio
import sys

from atlas.transport import Session


async def main():
    async with Session({url!r}, {name!r}, raw=True) as session:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)     # until told to go
        for n in range({count}):
            session.publish_raw({topic!r}, {payload!r})
            if n % 50 == 49:
                await session.drain(30)
        await session.drain(30)


asyncio.run(main())
"""
#: About what a skill's show weighs on the wire.
SHOW = b'{"text": "spam 1234", "__cid": "0123456789abcdef0123456789abcdef"}'


async def rounds(url: str, folder: Path, count: int) -> list[dict[str, float]]:
    name = f"colors-{uuid.uuid4().hex[:6]}"
    daemon = DaemonProcess(write_config(folder, url, skill_timeout=10)).start()
    results = []
    try:
        async with colors_skill(name).connect(url) as running:
            serving = asyncio.create_task(running.serve())
            await wait_skills(url, {name})
            async with Channel(url, uid="alice") as alice:
                for _ in range(10):                 # warm-up, as the test does
                    await turn(alice)
                for n in range(count):
                    idle = statistics.median([await turn(alice) for _ in range(IDLE_TURNS)])
                    senders = []
                    for number, (messages, payload) in enumerate(((TEXTS, b"hello"),
                                                                  (SHOWS, SHOW))):
                        script = folder / f"sender{number}.py"
                        script.write_text(SENDER.format(
                            url=url, name=f"sender-{uuid.uuid4().hex[:6]}", count=messages,
                            topic=f"elsewhere/{number}", payload=payload))
                        senders.append(await ready_sender(script))
                    for sender in senders:       # connected: their start-up is over
                        go(sender)
                    started, under = time.perf_counter(), []
                    while any(s.poll() is None for s in senders) \
                            or time.perf_counter() - started < 5:
                        under.append(await turn(alice))
                    assert all(s.wait(60) == 0 for s in senders)
                    p99 = percentile(under, 0.99)
                    results.append({
                        "idle_p50_ms": idle * 1000, "p99_ms": p99 * 1000,
                        "ratio": p99 / idle, "max_ms": max(under) * 1000,
                        "over_5x": sum(t > 5 * idle for t in under), "turns": len(under)})
                    say_round(n, results[-1])
            serving.cancel()
    finally:
        daemon.stop()
    return results


def options(doc: str, rounds: int) -> argparse.ArgumentParser:
    """``--rounds`` and ``--json``, the options of the flood benchmarks."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=rounds)
    parser.add_argument("--json", type=Path, help="write the rounds and medians here")
    return parser


def say_round(n: int, result: dict[str, float]) -> None:
    print(f"round {n + 1}: " + ", ".join(f"{key} {value:.2f}" for key, value in result.items()),
          flush=True)


def main() -> None:
    args = options(__doc__, rounds=5).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "broker").mkdir()
        with Mosquitto(folder / "broker") as broker:
            results = asyncio.run(rounds(broker.url, folder, args.rounds))
    report(results, args.json)


def report(results: list[dict[str, float]], path: Path | None) -> None:
    """Print the rounds' medians; write the rounds and medians to ``path``, if any."""
    medians = {key: round(statistics.median(r[key] for r in results), 2) for key in results[0]}
    print("median: " + ", ".join(f"{key} {value}" for key, value in medians.items()))
    if path:
        path.write_text(json.dumps({"rounds": results, "median": medians,
                                    "cores": os.cpu_count()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
