"""Real peers for the tests: brokers (amqtt, Mosquitto 2), a raw skill, the daemon.

Brokers start on free ports, so test runs never collide with each other or with a
system broker on 1883. The raw skill speaks the protocol with no SDK.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from atlas.cli.common import cancel
from atlas.config import Config
from atlas.daemon import serve
from atlas.protocol import (
    DialogAsk,
    DialogShow,
    DialogTerminate,
    IntentRequest,
    Message,
    Ping,
    Pong,
    Skills,
)
from atlas.store import Store
from atlas.transport import Session, Subscription, on

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def mosquitto_conf(port: int, folder: Path, *, extra: str = "") -> Path:
    path = folder / f"mosquitto-{port}.conf"
    path.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        # Without it Mosquitto's own sockets wait on Nagle: ~40 ms per QoS 1 hop.
        "set_tcp_nodelay true\n"
        # As config/mosquitto.conf: Mosquitto's default drops past 1,000 queued messages.
        "max_queued_messages 100000\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
        f"{extra}")
    return path


class LoopbackServer:
    """A server the tests start on a free loopback port: ``with Server(folder) as
    server: server.url``. Fails loudly when its binary is missing (never a skip: CI
    installs it, and so should you)."""

    binary = ""
    package = ""
    stdout: int | None = None

    def __init__(self, folder: Path, *, start_timeout: float = 15.0) -> None:
        self.folder = folder
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        raise NotImplementedError

    def command(self, port: int) -> list[str]:
        raise NotImplementedError

    def ready(self) -> bool:
        return accepts("127.0.0.1", self.port)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def start(self) -> str:
        if not os.access(self.binary, os.X_OK):
            raise RuntimeError(f"{self.binary} not found (apt-get install {self.package})")
        # Another process may grab the free port between the probe and the server's
        # bind: try a few ports before giving up.
        for _ in range(5):
            self.port = free_port()
            self.process = subprocess.Popen(self.command(self.port), stdin=subprocess.DEVNULL,
                                            stdout=self.stdout)
            deadline = time.monotonic() + self.start_timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                if self.ready():
                    return self.url
                time.sleep(0.05)
            self.stop()
        raise RuntimeError(f"{self.package} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()


class Mosquitto(LoopbackServer):
    """Mosquitto, anonymous on loopback unless ``conf`` makes the whole configuration
    for a port."""

    binary = MOSQUITTO
    package = "mosquitto"

    def __init__(self, folder: Path, *, extra: str = "", start_timeout: float = 15.0,
                 conf: Callable[[int], str] | None = None) -> None:
        super().__init__(folder, start_timeout=start_timeout)
        self.extra = extra
        self.conf = conf

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def command(self, port: int) -> list[str]:
        if self.conf is None:
            conf = mosquitto_conf(port, self.folder, extra=self.extra)
        else:
            conf = self.folder / f"mosquitto-{port}.conf"
            conf.write_text(self.conf(port))
        return [MOSQUITTO, "-c", str(conf)]


# -- a raw skill and the daemon ----------------------------------------------------

TRAINING = """
%[greet]
  hello
  hi there
  good morning
  hey atlas
  hello there my friend

%[pick_color]
  choose a color
  pick a colour for me
  I want to pick a color
  let me choose a colour
  help me pick a color
"""


@contextlib.asynccontextmanager
async def raw_skill(url: str, name: str) -> AsyncIterator[None]:
    """A skill written against the protocol only: greets, or asks for a colour."""
    pong = Pong(name=name, version="1.0", author="tests",
                intents={"greet": [], "pick_color": []}, training={"en": TRAINING})
    async with Session(url, name) as client:
        await client.subscribe(Ping, on(IntentRequest, intent="greet"),
                               on(IntentRequest, intent="pick_color"))
        client.publish(pong)

        async def serve_skill() -> None:
            async for parsed in client:
                if isinstance(parsed, Ping):
                    client.publish(pong)
                elif isinstance(parsed, IntentRequest):
                    answer(client, parsed)

        task = asyncio.create_task(serve_skill())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def answer(client: Session, request: IntentRequest) -> None:
    sid, cid = request.sid, request.cid
    if request.intent == "greet":
        client.publish(DialogShow(sid, cid, f"Hello {request.uid}"))
    elif request.choice is None:
        client.publish(DialogAsk(sid, cid, "Which one?", choices=("red", "blue")))
        return
    else:
        client.publish(DialogShow(sid, cid, f"You chose {request.choice}"))
    client.publish(DialogTerminate(sid, cid))


@contextlib.asynccontextmanager
async def watching(url: str, subscription: Subscription, accept: type[Message],
                   check: Callable[[Any], bool] = lambda _: True
                   ) -> AsyncIterator[asyncio.Task[Message]]:
    """Subscribed on entry; the task ends with the first ``accept`` message passing ``check``."""
    async with Session(url, "watch") as client:
        await client.subscribe(subscription)

        async def first() -> Message:
            async for parsed in client:
                if isinstance(parsed, accept) and check(parsed):
                    return parsed
            raise AssertionError("the connection ended")

        task = asyncio.create_task(first())
        try:
            yield task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.asynccontextmanager
async def running_task(coroutine: Awaitable[Any]) -> AsyncIterator[asyncio.Future[Any]]:
    """Run ``coroutine`` beside the test; on exit, cancel it until it has stopped."""
    task = asyncio.ensure_future(coroutine)
    try:
        yield task
    finally:
        await cancel(task)


@contextlib.asynccontextmanager
async def running_daemon(config: Config, users: dict[str, str] | None = None
                         ) -> AsyncIterator[Config]:
    """The real daemon (in this loop) with a raw skill it has trained for.

    ``users`` maps uids to languages, added to the store first.
    """
    store = Store.in_data_dir(config.data_dir)
    for uid, lang in (users or {}).items():
        store.add_user(uid, lang)
    skill = f"colors-{uuid.uuid4().hex[:6]}"
    task: asyncio.Task[None] | None = None
    try:
        async with watching(config.broker, Ping, Ping) as pinged:
            task = asyncio.create_task(serve(config, store))
            # The daemon pings once subscribed: from then on it hears channels and skills.
            await asyncio.wait_for(pinged, 30)
        async with watching(config.broker, Skills, Skills,
                            lambda skills: skill in {s.name for s in skills.skills}) as trained, \
                raw_skill(config.broker, skill):
            await asyncio.wait_for(trained, 60)
            yield config
    finally:
        if task is not None:
            await cancel(task)
        store.close()
