"""Real peers for the fault suite: the daemon as a process, a raw publisher, an SDK skill.

The daemon runs in its own process so that a crash is a crash (not an exception a
test could swallow) and its memory can be read from ``/proc``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import yaml
from brokers import TRAINING  # the raw skill's sentences, the same skill

from atlas.protocol import Skills
from atlas.sdk import Request, Skill
from atlas.transport import Session

T = TypeVar("T")

SLOW = """
%[slow]
  take your time
  do the slow thing
  be slow
"""


def colors_skill(name: str, calls: list[tuple[str, str, str | None]] | None = None,
                 *, slow: bool = False, training: str = "") -> Skill:
    """Greets, or asks for a colour and says which one was chosen.

    ``calls`` records every request (intent, cid, choice); with ``slow`` the skill
    also has an intent it never answers; ``training`` is chatl for more intents.
    """
    skill = Skill(name, version="1.0", author="tests")
    skill.training("en", TRAINING + (SLOW if slow else "") + training)
    calls = calls if calls is not None else []

    @skill.intent("greet")
    async def greet(req: Request) -> None:
        calls.append(("greet", req.cid, None))
        await req.show(f"Hello {req.uid}")

    if slow:
        @skill.intent("slow")
        async def never(req: Request) -> None:
            calls.append(("slow", req.cid, None))
            await asyncio.sleep(3600)

    @skill.intent("pick_color")
    async def pick(req: Request) -> None:
        calls.append(("pick_color", req.cid, req.choice))
        if req.choice is None:
            await req.ask_choice("Which one?", ["red", "blue"])
        else:
            await req.show(f"You chose {req.choice}")

    return skill


def write_config(folder: Path, broker: str, **extra: Any) -> Path:
    data: dict[str, Any] = {
        "broker": broker, "data_dir": str(folder / "data"),
        "discovery": {"interval": 0.5, "timeout": 5},
        "skill_timeout": 5, "ask_timeout": 30, **extra,
    }
    path = folder / "atlas.yml"
    path.write_text(yaml.safe_dump(data))
    return path


class DaemonProcess:
    """``python -m atlas daemon`` with a test configuration; ``rss()`` reads its memory."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> DaemonProcess:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        debug = os.environ.get("ATLAS_TEST_DEBUG")   # a folder: each daemon logs there
        log = open(Path(debug) / f"daemon-{time.monotonic_ns()}.log", "wb") if debug else None  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "atlas", *(["-v"] if debug else []),
             "daemon", "--config", str(self.config)],
            env=env, stdin=subprocess.DEVNULL, stderr=log)
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss(self) -> int:
        """Resident memory in bytes."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class LoopThread:
    """An event loop in a thread, for sync tests (hypothesis) that drive async peers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> LoopThread:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, coroutine: Coroutine[Any, Any, T]) -> Future[T]:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)


class RawPublisher:
    """A raw transport session, to publish what no well-behaved peer would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.session: Session | None = None
        self.sent = 0

    async def publish(self, topic: str, payload: bytes) -> None:
        if self.session is None:
            self.session = await Session(self.url, "fuzz", raw=True).__aenter__()
        self.session.publish_raw(topic, payload)
        self.sent += 1
        if self.sent % 50 == 0:  # keep the transport's buffer from filling up
            await self.session.drain(30)

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()


async def wait_skills(url: str, names: set[str], timeout: float = 60, *,
                      newer_than: Skills | None = None) -> Skills:
    """The retained skills list, once it holds exactly ``names`` (from another daemon
    than the one that published ``newer_than``)."""
    async with Session(url, "wait-skills") as session, asyncio.timeout(timeout):
        await session.subscribe(Skills)
        async for message in session:
            if isinstance(message, Skills) and {s.name for s in message.skills} == names \
                    and (newer_than is None or message.started_at != newer_than.started_at):
                return message
    raise AssertionError("the connection ended")


def wait_until(check: Any, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)
