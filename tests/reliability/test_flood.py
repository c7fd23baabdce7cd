"""One skill floods, one user floods, and another user's turns still go through.

The daemon is a process, on Mosquitto and on the embedded broker. A skill answers
one request with 5,000 shows; a user sends 10,000 texts behind a conversation that
hangs. Asserted: behaviour (every turn of the bystander completes with its answer,
the flooding skill is throttled, the flooding user is told once that their queue is
full, the daemon stays up). Measured and printed, never asserted: the bystander's turn
latency idle and under the flood, and the daemon's memory (docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from atlas.channel import Channel
from atlas.core.conversation import MAX_QUEUE, MAX_SHOWS
from atlas.core.phrases import say
from atlas.protocol import ChannelShow, ChannelTerminate, DialogParse, Reason

from .peers import DaemonProcess, colors_skill, wait_skills, write_config

SHOWS = 5000
TEXTS = 10_000
#: Turns the idle p50 is taken from: the flood's p99 is compared with it.
IDLE_TURNS = 200


async def turn(channel: Channel) -> float:
    started = time.perf_counter()
    said = await channel.converse("hello", timeout=120)
    assert ChannelShow(channel.sid, f"Hello {channel.uid}") in said, said
    assert said[-1] == ChannelTerminate(channel.sid, Reason.NOMINAL)
    return time.perf_counter() - started


async def ready_sender(*arguments: str | Path) -> subprocess.Popen[bytes]:
    """Start a sender (``python *arguments``), and return once it said ``ready``: it
    is connected and waits for its stdin to close (:func:`go`).

    Its interpreter's start-up (about 0.3 s of a core) is then over before the flood
    begins: the figures measure the flood, not a Python process starting beside it.
    """
    sender = subprocess.Popen([sys.executable, *map(str, arguments)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE,
                              env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert sender.stdout is not None
    assert await asyncio.to_thread(sender.stdout.readline) == b"ready\n"
    return sender


def go(sender: subprocess.Popen[bytes]) -> None:
    """Tell a ready sender to send."""
    assert sender.stdin is not None
    sender.stdin.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def test_floods_do_not_starve_another_user(broker_name: str, broker_url: str,
                                                tmp_path: Path) -> None:
    # On both brokers: Mosquitto, where the target of docs/reliability.md is measured,
    # and the embedded one `atlas up` starts, whose one event loop the flood keeps busy
    # for seconds (every turn is still answered: that is what is asserted).
    url = broker_url
    name, flooder = f"colors-{uuid.uuid4().hex[:6]}", f"flood-{uuid.uuid4().hex[:6]}"
    skill = colors_skill(name, slow=True)
    # The flooding skill is a process of its own, as skills are: in this one, its
    # 5,000 sends would hold up the other skill and the channels of the test.
    script = tmp_path / "flood.py"
    script.write_text(FLOODER.format(name=flooder, shows=SHOWS))
    flooding = subprocess.Popen([sys.executable, "-m", "atlas", "skill", "run", str(script)],
                                env={**os.environ, "ATLAS_BROKER": url,
                                     "PYTHONPATH": os.pathsep.join(sys.path)},
                                stdin=subprocess.DEVNULL)

    # The bystander's skill shares this process with the flooding user's publisher:
    # on a busy machine its answers may take seconds, which is measured, not a timeout.
    daemon = DaemonProcess(write_config(tmp_path, url, skill_timeout=10)).start()
    try:
        async with skill.connect(url) as running:
            serving = [asyncio.create_task(running.serve())]
            await wait_skills(url, {name, flooder})
            async with Channel(url, uid="alice") as alice, \
                    Channel(url, uid="spammed") as spammed, \
                    Channel(url, uid="mallory") as mallory:
                for _ in range(10):           # warm-up: first connections, caches
                    await turn(alice)
                idle = [await turn(alice) for _ in range(IDLE_TURNS)]
                rss_before = daemon.rss()

                # The flooding user: a hanging conversation, then 10,000 texts at once,
                # from a process of its own (in this one, sending them would slow the
                # bystander's channel and skill, and the figures would measure that).
                await mallory.say("do the slow thing")
                texts = tmp_path / "texts.py"
                texts.write_text(TEXTER.format(url=url, topic=DialogParse(mallory.sid,
                                                                          "x").topic(),
                                               texts=TEXTS))
                flooding_user = await ready_sender(texts)
                go(flooding_user)                         # the 10,000 texts
                await spammed.say("flood me")             # and the flooding skill
                started = time.perf_counter()
                under: list[float] = []
                began: list[float] = []     # when each turn began, from the flood's start
                while flooding_user.poll() is None or time.perf_counter() - started < 5:
                    began.append(time.perf_counter() - started)
                    under.append(await turn(alice))
                assert flooding_user.wait(60) == 0

                spam = await spammed.until_turn_ends(timeout=120)
                assert spam[-1] == ChannelTerminate(spammed.sid, Reason.THROTTLED)
                assert ChannelShow(spammed.sid, say("throttled", "en")) in spam
                assert sum(isinstance(m, ChannelShow) for m in spam) == MAX_SHOWS + 1

                told = say("queue_full", "en")
                heard: list[object] = []
                # The hanging conversation times out, then the 32 queued texts run.
                while sum(isinstance(m, ChannelTerminate) for m in heard) < MAX_QUEUE + 1:
                    heard.append(await mallory.next(timeout=120))
                assert sum(isinstance(m, ChannelShow) and m.text == told for m in heard) == 1
                await asyncio.sleep(2)
                rss_after = daemon.rss()
                after = [await turn(alice) for _ in range(10)]
            for task in serving:
                task.cancel()
        assert daemon.alive()
        ms = [t * 1000 for t in under]
        # The flood lasts about a second of the five measured: which turns it slowed, when.
        over = [at for at, t in zip(began, under, strict=True) if t > 5 * statistics.median(idle)]
        print(f"\nflood on {broker_name}: idle p50 {statistics.median(idle) * 1000:.1f} ms; under "
              f"{SHOWS} shows and {TEXTS} texts: {len(under)} turns, p50 "
              f"{statistics.median(ms):.1f} ms, p99 {percentile(ms, 0.99):.1f} ms "
              f"({percentile(ms, 0.99) / (statistics.median(idle) * 1000):.2f}x the idle p50), max "
              f"{max(ms):.1f} ms, {len(over)} over 5x the idle p50"
              + (f" (the last began {max(over):.2f} s into the flood)" if over else "")
              + f"; after: p50 {statistics.median(after) * 1000:.1f} ms; daemon "
              f"RSS {rss_before / 2**20:.1f} -> {rss_after / 2**20:.1f} MiB")
    finally:
        flooding.terminate()
        flooding.wait(30)
        daemon.stop()


FLOODER = """
from atlas.sdk import Skill

skill = Skill("{name}")
skill.training("en", "%[flood]\\n  flood me\\n  spam me\\n  send everything\\n")


@skill.intent("flood")
async def flood(req):
    for n in range({shows}):
        req.show(f"spam {{n}}")
    await req.terminate()
"""


TEXTER = """
import asyncio
import sys

from atlas.transport import Session


async def main():
    async with Session("{url}", "flooding-user", raw=True) as session:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.read)     # until the test says go
        for n in range({texts}):
            session.publish_raw("{topic}", b"hello")
            if n % 50 == 49:
                await session.drain(30)
        await session.drain(30)


asyncio.run(main())
"""
