"""Knowing when ``atlas up`` is ready, and saying so only then.

Ready means: the daemon has trained for the skills started (it publishes the
retained skills list after training) and the bridge answers HTTP. Before anything
starts, the ports are checked, so a port in use is one clear error instead of a
child that fails and is started again and again.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..protocol import Skills
from ..transport import BrokerAddress
from .common import connected

#: Seconds between two "still waiting" lines.
REMIND_EVERY = 30.0
#: Seconds between two HTTP probes of the bridge.
PROBE_EVERY = 0.2


class PortInUse(Exception):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(f"{host}:{port} is in use")
        self.host, self.port = host, port


def check_port(host: str, port: int) -> int:
    """Bind ``host:port`` as a server would and let it go; returns the port (a free
    one for 0). Raises :class:`PortInUse` when another process listens there."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
    with socket.socket(family, kind, proto) as sock:
        # As the servers do: a port left in TIME_WAIT by a stopped atlas is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUse(host, port) from None
            raise
        return int(sock.getsockname()[1])


def local_url(host: str, port: int) -> str:
    """The page's address as this machine reaches it (a wildcard bind is reached on loopback)."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


@dataclass
class Awaited:
    """What start-up still waits for; pure, so the wording is tested without processes."""

    skills: Sequence[str]
    bridge: bool
    trained: bool = False
    listed: tuple[str, ...] = ()

    @property
    def missing(self) -> list[str]:
        # Folder names usually are the skills' names; the count decides when they differ.
        return [name for name in self.skills if name not in self.listed]

    @property
    def done(self) -> bool:
        return self.trained and len(self.listed) >= len(self.skills) and not self.bridge

    def heard(self, listing: Skills) -> list[str]:
        """Take a skills list in; returns the names new in it."""
        names = tuple(summary.name for summary in listing.skills)
        new = [name for name in names if name not in self.listed]
        self.trained, self.listed = True, names
        return new

    def waiting(self) -> str:
        parts = []
        if not self.trained and not self.skills:
            parts.append("the daemon")
        elif not self.trained or len(self.listed) < len(self.skills):
            pending = self.missing or [f"{len(self.skills) - len(self.listed)} more skill(s)"]
            parts.append(f"the daemon to train for {', '.join(pending)}")
        if self.bridge:
            parts.append("the bridge")
        return "waiting for " + " and ".join(parts) + "…"


def fresh(listing: Skills, since: datetime) -> bool:
    """A list published by the daemon started at or after ``since``, not one an earlier
    daemon left retained on an outside broker when it crashed."""
    try:
        return datetime.fromisoformat(listing.started_at) >= since
    except ValueError:
        return True


async def skills_lists(broker: str) -> AsyncIterator[Skills]:
    """Every skills list the daemon publishes, the retained one first.

    The only MQTT code of start-up: a subscription to the protocol's class.
    """
    async with connected(BrokerAddress.parse(broker), "atlas-up", attempts=None) as session:
        await session.subscribe(Skills)
        async for message in session:
            if isinstance(message, Skills):  # not Cleared: no daemon (yet)
                yield message


def answers(url: str) -> bool:
    """Whether an HTTP server answers at ``url`` (any status: it listens)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


async def wait_until_ready(broker: str, awaited: Awaited, web: str | None,
                           since: datetime, say: Callable[[str], None],
                           on_bridge: Callable[[], None] = lambda: None) -> None:
    """Return once the daemon listed the skills and the bridge answers; say progress."""
    changed = asyncio.Event()

    async def daemon() -> None:
        async for listing in skills_lists(broker):
            if not fresh(listing, since):
                continue
            first = not awaited.trained
            for name in awaited.heard(listing):
                say(f"  skill   {name} ready")
            if first and not listing.skills:
                say("  daemon  ready (no skills)")
            changed.set()
            if awaited.trained and len(awaited.listed) >= len(awaited.skills):
                return

    async def bridge() -> None:
        if web is None:
            return
        while not await asyncio.to_thread(answers, web):
            await asyncio.sleep(PROBE_EVERY)
        awaited.bridge = False
        on_bridge()
        say(f"  bridge  listening on {web}")
        changed.set()

    say(awaited.waiting())
    tasks = [asyncio.create_task(daemon()), asyncio.create_task(bridge())]
    try:
        while not awaited.done:
            changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(REMIND_EVERY):
                    await changed.wait()
                continue
            say("still " + awaited.waiting())
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


class InThread:
    """Runs a coroutine in a thread of its own, cancellable from the main thread."""

    def __init__(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        self._coroutine = coroutine
        self._loop = asyncio.new_event_loop()
        self._task: asyncio.Task[Any] | None = None
        self.finished = threading.Event()
        self.error: BaseException | None = None
        self._stopped = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="atlas-ready")

    def start(self) -> InThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._task = self._loop.create_task(self._coroutine)
        if self._stopped:
            self._task.cancel()
        try:
            self._loop.run_until_complete(self._task)
            self.finished.set()
        except asyncio.CancelledError:
            pass
        except BaseException as error:  # reported by the owner, never lost in a thread
            self.error = error
        finally:
            with contextlib.suppress(Exception):
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, wait: float = 5.0) -> None:
        self._stopped = True
        with contextlib.suppress(RuntimeError):  # the loop already closed: nothing to stop
            self._loop.call_soon_threadsafe(self._cancel)
        if self._thread.is_alive():
            self._thread.join(wait)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()
