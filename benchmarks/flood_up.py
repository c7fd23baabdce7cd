"""The issue's two floods through ``atlas up``: the embedded broker with its logins and
ACLs, the daemon, the bridge and the skills as ``atlas up`` runs them.

    python benchmarks/flood_up.py [--rounds N] [--bridge-rate R] [--json PATH]

A folder of two skills (the flood test's colors skill, which greets, and one that
answers "flood me" with 5,000 shows) is started with ``atlas up``. Each round, a user
(the operator's login, as ``atlas chat`` uses it) is timed over 200 idle turns. Then
another sid asks for the flood while a signed-in user sends 10,000 messages on the
bridge's WebSocket as fast as it can (a script, a stuck page: under ``atlas up`` only
the bridge and the operator may publish texts), and the first user's turns are timed
for 6 s. ``--bridge-rate 0`` lifts the bridge's per-user rate (``bridge.rate``), to
see what it spares; ``--no-user`` leaves the user's flood out. ``--cpu-bound`` makes
the other skill, asked, keep every core busy for the window instead of flooding (a
skill transcoding audio); ``--skills-nice N`` sets ``skills_nice``, the lower CPU
priority ``atlas up`` gives the skills (``0``: the same as the rest). ``--crowd N``
floods nothing: N users take turns at once, and the rounds report turns a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bridge.helpers import http  # noqa: E402
from brokers import free_port  # noqa: E402
from flood_floor import options, report, say_round  # noqa: E402
from reliability.test_flood import (  # noqa: E402
    FLOODER,
    IDLE_TURNS,
    SHOWS,
    TEXTS,
    go,
    percentile,
    ready_sender,
    turn,
)
from websockets.asyncio.client import connect  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

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
#: ``--cpu-bound``: the other skill, asked, keeps every core busy for the window in
#: processes of its own, as a skill transcoding audio or running a speech engine would.
WORKER = """
from atlas.sdk import Skill
import asyncio, os, sys

skill = Skill("flood", version="1.0")
skill.training("en", "%[flood]\\n  flood me\\n  spam me\\n  send everything\\n")


@skill.intent("flood")
async def work(req):
    job = "import time\\nend = time.monotonic() + {seconds}\\nwhile time.monotonic() < end: pass"
    jobs = [await asyncio.create_subprocess_exec(sys.executable, "-c", job)
            for _ in range(os.cpu_count() or 1)]
    for one in jobs:
        await one.wait()
    await req.show("done")
    await req.terminate()
"""
FLOODER_LOGIN = {"username": "mallory", "password": "a long enough password"}


async def user_flood(web: str, token: str, device: str, heard: dict[str, int]) -> None:
    """10,000 messages on one socket as fast as it goes, reading what comes back (a
    client that stops reading is closed); what it heard is counted by type."""
    async with connect(web.replace("http://", "ws://") + "ws/assistant/",
                       max_size=None) as ws:
        await ws.send(json.dumps({"type": "authenticate", "token": token, "device": device}))
        assert json.loads(await ws.recv())["type"] == "ready"
        print("ready", flush=True)          # started and signed in: the flood is next
        await asyncio.to_thread(sys.stdin.read)     # until told to go (stdin closed)

        async def read() -> None:
            with contextlib.suppress(ConnectionClosed):
                async for frame in ws:
                    kind = json.loads(frame)["type"]
                    heard[kind] = heard.get(kind, 0) + 1

        reading = asyncio.create_task(read())
        frame = json.dumps({"type": "message", "message": "hello"})
        with contextlib.suppress(ConnectionClosed):
            for n in range(TEXTS):
                await ws.send(frame)
                if n % 100 == 99:
                    await asyncio.sleep(0)      # let the reader read
        await asyncio.sleep(WINDOW)
        reading.cancel()
        heard["close_code"] = ws.close_code or 0


async def rounds(config: Path, web: str | None, count: int) -> list[dict[str, float]]:
    url = load(config).broker_url        # as `atlas chat` finds it: the operator's login
    token = ""
    if web:
        status, tokens = await http("POST", web + "api/token", FLOODER_LOGIN)
        assert status == 200, tokens
        token = tokens["access"]
    results = []
    async with Channel(url, uid="alice") as alice, Channel(url, uid="spammed") as spammed:
        for _ in range(10):                 # warm-up, as the test does
            await turn(alice)
        for n in range(count):
            idle = statistics.median([await turn(alice) for _ in range(IDLE_TURNS)])
            # A process of its own, as the test's flooders: in this one, its 10,000 sends
            # and replies would slow the timed user's turns themselves.
            user = await ready_sender(__file__, "--user-flood", web, token,
                                      f"flood-{n}") if web else None
            if user is not None:
                go(user)
            await spammed.say("flood me")
            started, under = time.perf_counter(), []
            while time.perf_counter() - started < WINDOW:
                under.append(await turn(alice))
            await spammed.until_turn_ends(timeout=120)
            heard: dict[str, int] = {}
            if user is not None:
                assert user.stdout is not None
                heard = json.loads(await asyncio.to_thread(user.stdout.read))
                await asyncio.to_thread(user.wait, 60)
            p99 = percentile(under, 0.99)
            results.append({
                "idle_p50_ms": idle * 1000, "p50_ms": statistics.median(under) * 1000,
                "p99_ms": p99 * 1000, "ratio": p99 / idle, "max_ms": max(under) * 1000,
                "turns": len(under), "user_answered": heard.get("done", 0),
                "user_refused": heard.get("error", 0), "user_closed": heard.get("close_code", 0)})
            say_round(n, results[-1])
    return results


async def talk(channel: Channel, end: float, took: list[float]) -> None:
    """Turns one after the other until ``end``, each one's time in ``took``."""
    while time.perf_counter() < end:
        took.append(await turn(channel))


async def crowd_rounds(config: Path, users: int, count: int) -> list[dict[str, float]]:
    """``--crowd N``: no flood; N users take turns at once for the window, as fast as
    they are answered (``atlas up`` saturated by its own users)."""
    url = load(config).broker_url
    results = []
    async with contextlib.AsyncExitStack() as stack:
        channels = [await stack.enter_async_context(Channel(url, uid=f"user{n}"))
                    for n in range(users)]
        for channel in channels:               # warm-up: each channel's first turn
            await turn(channel)
        for n in range(count):
            took: list[float] = []
            end = time.perf_counter() + WINDOW
            await asyncio.gather(*(talk(channel, end, took) for channel in channels))
            results.append({"turns_per_s": len(took) / WINDOW,
                            "p50_ms": statistics.median(took) * 1000,
                            "p99_ms": percentile(took, 0.99) * 1000})
            say_round(n, results[-1])
    return results


def main() -> None:
    if sys.argv[1:2] == ["--user-flood"]:
        heard: dict[str, int] = {}
        address, token, device = sys.argv[2:5]
        asyncio.run(user_flood(address, token, device, heard))
        print(json.dumps(heard))
        return
    parser = options(__doc__, rounds=3)
    parser.add_argument("--bridge-rate", type=float, help="bridge.rate (default: atlas's)")
    parser.add_argument("--no-user", action="store_true", help="the skill's flood alone")
    parser.add_argument("--skills-nice", type=int, help="skills_nice (default: atlas's)")
    parser.add_argument("--cpu-bound", action="store_true",
                        help="instead of its flood, the other skill keeps every core busy")
    parser.add_argument("--crowd", type=int, metavar="N",
                        help="no flood: N users take turns at once (turns a second)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        other = WORKER.format(seconds=WINDOW) if args.cpu_bound \
            else FLOODER.format(name="flood", shows=SHOWS)
        for name, text in (("colors", GREETER), ("flood", other)):
            (folder / "skills" / name).mkdir(parents=True)
            (folder / "skills" / name / "skill.py").write_text(text)
        config = folder / "atlas.yml"
        config.write_text(f"broker: embedded\ndata_dir: {folder / 'data'}\n"
                          f"skills_dir: {folder / 'skills'}\n"
                          + (f"bridge: {{rate: {args.bridge_rate}}}\n"
                             if args.bridge_rate is not None else "")
                          + (f"skills_nice: {args.skills_nice}\n"
                             if args.skills_nice is not None else ""))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
        atlas = [sys.executable, "-m", "atlas"]
        subprocess.run([*atlas, "users", "add", FLOODER_LOGIN["username"], "--password-stdin",
                        "--config", str(config)], input=FLOODER_LOGIN["password"], text=True,
                       env=env, check=True, stdout=subprocess.DEVNULL)
        port = free_port()
        web = None if args.no_user else f"http://127.0.0.1:{port}/"
        up = subprocess.Popen(
            [*atlas, "up", "--config", str(config), "--broker-port", "0",
             *(["--no-bridge"] if args.no_user else ["--bridge-port", str(port)])],
            cwd=folder, env=env, text=True, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            assert up.stdout is not None
            while "atlas is ready" not in (line := up.stdout.readline()):
                if not line:
                    raise SystemExit("atlas up ended before it was ready")
            results = asyncio.run(crowd_rounds(config, args.crowd, args.rounds) if args.crowd
                                  else rounds(config, web, args.rounds))
        finally:
            up.terminate()
            up.wait(60)
    report(results, args.json)


if __name__ == "__main__":
    main()
