"""What a flood costs: the daemon's CPU per flood message, through ``atlas daemon``
on a Mosquitto it starts.

    python benchmarks/flood.py [--rounds N] [--broker mosquitto|amqtt] [--json PATH]

Each round floods as ``tests/reliability/test_flood.py`` does, without the
bystander: a user's conversation hangs (its skill never answers), then a process
of its own sends that sid 10,000 texts while an SDK skill, in its own process,
answers one request with 5,000 shows. ``--broker amqtt`` runs it on the embedded
broker ``atlas up`` starts. Measured per round, from ``/proc``:

- the daemon's CPU time (all its threads) per flood message, from the first text
  until it is idle again;
- how long that took (the flood, then the daemon catching up);
- the flooding skill's CPU time per show it sent;
- the broker's CPU time per flood message (both floods' messages counted: it
  routes each of them to the daemon, and each text and show to none else).

A flood is read in arrival order, so another user's message waits behind what the
daemon has not read yet: these costs, against what it costs the flooders to send,
decide how long (docs/reliability.md). The test measures that bystander.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from brokers import Mosquitto  # noqa: E402
from reliability.peers import DaemonProcess, colors_skill, wait_skills, write_config  # noqa: E402
from reliability.test_flood import FLOODER, SHOWS, TEXTER, TEXTS, go, ready_sender  # noqa: E402

from atlas.broker.process import EmbeddedBroker  # noqa: E402
from atlas.channel import Channel  # noqa: E402
from atlas.protocol import DialogParse  # noqa: E402

#: The daemon is idle again once it used less than this CPU over QUIET seconds.
QUIET, IDLE_CPU = 0.3, 0.01


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process, every thread (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def idle(pid: int) -> float:
    """Wait until ``pid`` is idle; when it was last busy (``time.perf_counter``)."""
    last, since = cpu_seconds(pid), time.perf_counter()
    while True:
        await asyncio.sleep(0.05)
        now = cpu_seconds(pid)
        if now - last > IDLE_CPU:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since > QUIET:
            return since


async def flood(url: str, broker: int, folder: Path, rounds: int) -> list[dict[str, float]]:
    name, flooder = f"colors-{uuid.uuid4().hex[:6]}", f"flood-{uuid.uuid4().hex[:6]}"
    script = folder / "flood.py"
    script.write_text(FLOODER.format(name=flooder, shows=SHOWS))
    env = {**os.environ, "ATLAS_BROKER": url, "PYTHONPATH": os.pathsep.join(sys.path)}
    flooding = subprocess.Popen([sys.executable, "-m", "atlas", "skill", "run", str(script)],
                                env=env, stdin=subprocess.DEVNULL)
    # Nothing times out during a round: the hanging conversation keeps the queue full.
    daemon = DaemonProcess(write_config(folder, url, skill_timeout=600)).start()
    results = []
    try:
        async with colors_skill(name, slow=True).connect(url) as running:
            serving = asyncio.create_task(running.serve())
            await wait_skills(url, {name, flooder})
            for n in range(rounds):
                async with Channel(url, uid=f"spammed{n}") as spammed, \
                        Channel(url, uid=f"mallory{n}") as mallory:
                    await mallory.say("do the slow thing")
                    await idle(daemon.pid)
                    texts = folder / "texts.py"
                    texts.write_text(TEXTER.format(url=url, texts=TEXTS,
                                                   topic=DialogParse(mallory.sid, "x").topic()))
                    user = await ready_sender(texts)
                    daemon_before = cpu_seconds(daemon.pid)
                    skill_before = cpu_seconds(flooding.pid)
                    broker_before = cpu_seconds(broker)
                    started = time.perf_counter()
                    go(user)
                    await spammed.say("flood me")
                    await asyncio.to_thread(user.wait)
                    done = await idle(daemon.pid)
                    results.append({
                        "daemon_us_per_message": (cpu_seconds(daemon.pid) - daemon_before)
                        / (TEXTS + SHOWS) * 1e6,
                        "flood_ms": (done - started) * 1000,
                        "skill_us_per_show": (cpu_seconds(flooding.pid) - skill_before)
                        / SHOWS * 1e6,
                        "broker_us_per_message": (cpu_seconds(broker) - broker_before)
                        / (TEXTS + SHOWS) * 1e6,
                    })
                    print(f"round {n + 1}: " + ", ".join(
                        f"{key} {value:.1f}" for key, value in results[-1].items()), flush=True)
            serving.cancel()
    finally:
        flooding.terminate()
        flooding.wait(30)
        daemon.stop()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--broker", choices=("mosquitto", "amqtt"), default="mosquitto")
    parser.add_argument("--json", type=Path, help="write the rounds and medians here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "broker").mkdir()
        with Mosquitto(folder / "broker") if args.broker == "mosquitto" \
                else EmbeddedBroker(port=0) as broker:
            assert broker.pid is not None
            rounds = asyncio.run(flood(broker.url, broker.pid, folder, args.rounds))
    medians: dict[str, Any] = {key: round(statistics.median(r[key] for r in rounds), 1)
                               for key in rounds[0]}
    print("median: " + ", ".join(f"{key} {value}" for key, value in medians.items()))
    if args.json:
        args.json.write_text(json.dumps({"broker": args.broker, "rounds": rounds,
                                         "median": medians,
                                         "cores": os.cpu_count()}, indent=2) + "\n")


if __name__ == "__main__":
    main()
