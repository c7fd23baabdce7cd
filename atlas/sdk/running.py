"""A skill on a broker: answers discovery, dispatches intent requests to the handlers.

The transport session does the MQTT (connection, last will, reconnection, order);
this module only dispatches what arrives and hands the handlers' answers over. It
knows a skill through :class:`Servable`, so it does not import :mod:`.skill`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import logging
import os
import signal
import threading
from collections.abc import Callable, Coroutine, Mapping
from types import TracebackType
from typing import Any, Protocol

from ..protocol import IntentRequest, Message, Ping, Pong, SkillBye, SkillPong
from ..transport import Cleared, Reconnected, Session, TransportError, on
from .request import SENT, Outbox, Outgoing, RawPublish, Sent

log = logging.getLogger("atlas.sdk")

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
#: How long a stopping skill gives its last messages and its bye to leave.
STOP_GRACE = 2.0

Listener = Callable[[Any], Any]


class Servable(Protocol):
    """What the runner needs of a skill (:class:`~atlas.sdk.Skill` is one)."""

    name: str

    @property
    def intents(self) -> dict[str, list[str]]: ...

    @property
    def listeners(self) -> Mapping[type[Message], list[Listener]]: ...

    def check(self) -> None: ...

    def pong(self) -> Pong: ...

    async def handle(self, message: IntentRequest, outbox: Outbox) -> Any: ...


class RunningSkill(Outbox):
    """A skill connected to a broker. Use as an async context manager, then ``serve()``."""

    def __init__(self, skill: Servable, broker: str, *, retry: bool = False) -> None:
        skill.check()
        self.skill = skill
        self._session = Session(broker, f"skill-{skill.name}", will=SkillBye(skill.name),
                                attempts=None if retry else 1)
        self.address = self._session.address
        self._tasks: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._intents = frozenset(skill.intents)

    @property
    def connected(self) -> bool:
        return self._session.connected

    async def __aenter__(self) -> RunningSkill:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        try:
            await self._session.__aenter__()
            await self._session.subscribe(
                Ping, *(on(IntentRequest, intent=name) for name in sorted(self._intents)),
                *self.skill.listeners)
        except TransportError as error:
            await self._session.close()
            raise ConnectionError(f"skill {self.skill.name}: cannot reach the broker "
                                  f"{self.address}: {error}") from None
        self._session.publish(SkillPong.of(self.skill.pong()))
        log.info("skill %s connected to %s", self.skill.name, self.address)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Let the last answers and the bye go out, but never hang on a dead broker.
        with contextlib.suppress(TransportError):
            self._session.publish(SkillBye(self.skill.name))
        await self._session.drain(STOP_GRACE)
        await self._session.close()
        log.info("skill %s stopped", self.skill.name)

    async def serve(self) -> None:
        """Handle messages until cancelled (the session reconnects by itself)."""
        async for message in self._session:
            self._dispatch(message)

    # Outbox.

    def send(self, item: Outgoing) -> Sent:
        if self._loop is None:
            raise RuntimeError("the skill is not connected")
        if threading.get_ident() == self._thread:
            # On the loop (an async handler, the usual case) the message is handed
            # over now: the answer is known, no future to create and resolve.
            error = self._hand_over(item)
            return SENT if error is None else Sent.failed(error)
        # A plain-function handler, in a worker thread.
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._loop.call_soon_threadsafe(self._publish, item, future)
        return Sent(future)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if self._loop is None:
            coro.close()
            raise RuntimeError("the skill is not connected")
        if threading.get_ident() != self._thread:
            # From a worker thread: schedule on the loop and hand back the task.
            made = asyncio.run_coroutine_threadsafe(self._spawn_here(coro), self._loop)
            return made.result()
        return self._track(asyncio.create_task(coro))

    async def _spawn_here(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self._track(asyncio.create_task(coro))

    # Internals.

    def _publish(self, item: Outgoing, future: concurrent.futures.Future[None]) -> None:
        if not future.set_running_or_notify_cancel():
            return
        error = self._hand_over(item)
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)

    def _hand_over(self, item: Outgoing) -> ConnectionError | None:
        try:
            if isinstance(item, RawPublish):
                self._session.publish_raw(item.topic, item.payload, retain=item.retain)
            else:
                self._session.publish(item)
        except (TransportError, ValueError) as error:
            return ConnectionError(str(error))
        return None

    def _dispatch(self, message: object) -> None:
        if isinstance(message, Ping | Reconnected):
            # Answer every ping, and announce ourselves again after an outage (the
            # daemon may have restarted meanwhile).
            self._hand_over(SkillPong.of(self.skill.pong()))
        elif isinstance(message, IntentRequest):
            if message.intent in self._intents:
                self._track(asyncio.create_task(self.skill.handle(message, self)))
        elif isinstance(message, Message):
            for listener in self.skill.listeners.get(type(message), []):
                self._track(asyncio.create_task(_call(listener, message)))
        elif isinstance(message, Cleared):
            pass  # a retained message withdrawn (the daemon stopping): nothing to hand over

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("skill %s: background task failed", self.skill.name,
                      exc_info=task.exception())


async def _call(listener: Listener, message: Message) -> None:
    if inspect.iscoroutinefunction(listener):
        await listener(message)
    else:
        result = await asyncio.to_thread(listener, message)
        if inspect.isawaitable(result):
            await result


def run_forever(skill: Servable, broker: str | None = None) -> None:
    """Blocking entry point: serve until SIGINT/SIGTERM, then publish the bye."""
    url = broker or os.environ.get("ATLAS_BROKER") or DEFAULT_BROKER
    if not logging.getLogger().handlers:
        # `python skill.py` on its own: show what the skill does (the CLI sets its own).
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_serve_until_signal(skill, url))


async def _serve_until_signal(skill: Servable, url: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await _serve_until(skill, url, stop)


async def _serve_until(skill: Servable, url: str, stop: asyncio.Event) -> None:
    """Connect and serve until ``stop`` is set, then leave with a bye.

    Stopping is a state, not one cancellation sent into whatever the skill is
    awaiting: such a cancellation can be lost (Python 3.11's ``asyncio.wait_for``
    drops one that arrives as the awaited operation completes), and a lost one left
    the skill serving after SIGTERM, without a bye. Only two waits are ever
    cancelled here: connecting, and reading the next message.
    """
    running = RunningSkill(skill, url, retry=True)
    if not await _until(stop, running.__aenter__()):
        return  # stopped while connecting: no daemon knew this skill yet
    try:
        await _until(stop, running.serve())
    finally:
        await running.__aexit__(None, None, None)


async def _until(stop: asyncio.Event, work: Coroutine[Any, Any, Any]) -> bool:
    """Run ``work`` until it ends (True, its error raised) or ``stop`` is set (False)."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, stopping, return_exceptions=True)
    if task.cancelled():
        return False
    task.result()
    # Done, even if stop came at the same moment: a connection made must be closed.
    return True
