"""A skill's flood through ``atlas up``: the embedded broker with its logins and
ACLs, the daemon and the skills as ``atlas up`` runs them.

    python benchmarks/flood_up.py [--rounds N] [--json PATH]

A folder of two skills (the flood test's colors skill, which greets, and one that
answers "flood me" with 5,000 shows) is started with ``atlas up --no-bridge``.
Each round, a user (the operator's login, as ``atlas chat`` uses it) is timed over
200 idle turns, then another sid asks for the flood and the first user's turns are
timed for 6 s. The flooding user of ``tests/reliability/test_flood.py`` is left
out: under ``atlas up`` only the bridge and the operator may publish texts.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from flood_floor import options, report, say_round  # noqa: E402
from reliability.test_flood import FLOODER, IDLE_TURNS, SHOWS, percentile, turn  # noqa: E402

from atlas.channel import Channel  # noqa: E402
from atlas.config import load  # noqa: E402

#: What the test's colors skill answers to "hello", as a skill folder of its own.
GREETER = '''
from atlas.sdk import Skill

skill = Skill("colors", version="1.0")
skill.training("en", "%[greet]\\n  hello\\n  hi there\\n  good morning\\n")


@skill.intent("greet")
async def greet(req):
    await req.show(f"Hello {req.uid}")
    await req.terminate()
'''
WINDOW = 6.0


async def rounds(config: Path, count: int) -> list[dict[str, float]]:
    url = load(config).broker_url        # as `atlas chat` finds it: the operator's login
    results = []
    async with Channel(url, uid="alice") as alice, Channel(url, uid="spammed") as spammed:
        for _ in range(10):                 # warm-up, as the test does
            await turn(alice)
        for n in range(count):
            idle = statistics.median([await turn(alice) for _ in range(IDLE_TURNS)])
            await spammed.say("flood me")
            started, under = time.perf_counter(), []
            while time.perf_counter() - started < WINDOW:
                under.append(await turn(alice))
            await spammed.until_turn_ends(timeout=120)
            p99 = percentile(under, 0.99)
            results.append({
                "idle_p50_ms": idle * 1000, "p50_ms": statistics.median(under) * 1000,
                "p99_ms": p99 * 1000, "ratio": p99 / idle, "max_ms": max(under) * 1000,
                "turns": len(under)})
            say_round(n, results[-1])
    return results


def main() -> None:
    args = options(__doc__, rounds=3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, text in (("colors", GREETER),
                           ("flood", FLOODER.format(name="flood", shows=SHOWS))):
            (folder / "skills" / name).mkdir(parents=True)
            (folder / "skills" / name / "skill.py").write_text(text)
        config = folder / "atlas.yml"
        config.write_text(f"broker: embedded\ndata_dir: {folder / 'data'}\n"
                          f"skills_dir: {folder / 'skills'}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
        up = subprocess.Popen(
            [sys.executable, "-m", "atlas", "up", "--config", str(config), "--broker-port", "0",
             "--no-bridge"], cwd=folder, env=env, text=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert up.stdout is not None
            while "atlas is ready" not in (line := up.stdout.readline()):
                if not line:
                    raise SystemExit("atlas up ended before it was ready")
            results = asyncio.run(rounds(config, args.rounds))
        finally:
            up.terminate()
            up.wait(60)
    report(results, args.json)


if __name__ == "__main__":
    main()
