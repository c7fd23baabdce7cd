"""Testing skills.

Two levels:

- :class:`Recorder` calls a handler directly, without any broker, and records what
  it would publish: fast checks of a skill's logic.
- :class:`SkillTester` runs the skill against a real broker and the real daemon,
  opens a channel and lets a test talk to it like a user: the end-to-end check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import tempfile
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from ..config import Config, Discovery
from ..protocol import (
    ChannelAsk,
    ChannelShow,
    ChannelTerminate,
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogShow,
    DialogTerminate,
    IntentRequest,
    Message,
    Ping,
    Reason,
    Skills,
)
from ..transport import RawMessage, Session, raw
from .loader import load_skill
from .request import Outbox, Outgoing, RawPublish, Request, Sent
from .skill import Skill

__all__ = ["Recorder", "Replies", "SkillTester", "TesterError"]

log = logging.getLogger("atlas.sdk.testing")

#: How long to wait for the daemon to list the skills (training included).
READY_TIMEOUT = 60.0
#: How long a turn of conversation may take before the tester gives up.
TURN_TIMEOUT = 30.0


class Recorder(Outbox):
    """An outbox that keeps what a skill says, to test handlers with no broker::

        rec = Recorder(skill)
        out = await rec.call("set_timer", lang="fr")
        assert isinstance(out[-1], DialogAsk)
    """

    def __init__(self, skill: Skill, *, sid: str = "test-sid", uid: str = "tester",
                 version: str = "test") -> None:
        self.skill = skill
        self.sid = sid
        self.uid = uid
        self.version = version
        self.sent: list[Outgoing] = []
        self.tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def send(self, item: Outgoing) -> Sent:
        self.sent.append(item)
        return Sent.completed()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if self._loop is not None and not _in_loop(self._loop):
            # From a plain-function handler's worker thread.
            made = asyncio.run_coroutine_threadsafe(self._create(coro), self._loop)
            return made.result()
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    async def _create(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        return self.spawn(coro)

    def request(self, intent: str, *, lang: str = "en", cid: str | None = None,
                choice: str | None = None, env: dict[str, Any] | None = None,
                text: str = "", rich: dict[str, list[dict[str, Any]]] | None = None,
                data: dict[str, Any] | None = None, session: dict[str, Any] | None = None,
                **slots: Any) -> IntentRequest:
        """The message the daemon would send for this intent (``data`` is ``__data``,
        ``session`` ``__session``)."""
        return IntentRequest(intent=intent, cid=cid or uuid.uuid4().hex, sid=self.sid,
                             uid=self.uid, lang=lang, version=self.version,
                             env={key: None for key in self.skill.env} | (env or {}),
                             slots=slots, rich_slots=rich or {}, choice=choice, text=text,
                             data=data, session=session or {})

    async def call(self, intent: str, **kwargs: Any) -> list[Outgoing]:
        """Run the handler once; returns only what this call published."""
        start = len(self.sent)
        self._loop = asyncio.get_running_loop()
        await self.skill.handle(self.request(intent, **kwargs), self)
        return self.sent[start:]

    async def handle(self, message: IntentRequest) -> Request | None:
        self._loop = asyncio.get_running_loop()
        return await self.skill.handle(message, self)

    async def close(self) -> None:
        """Cancel the background jobs the skill spawned (timers)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @staticmethod
    def describe(items: list[Outgoing]) -> list[tuple[str, Any]]:
        """A compact view for assertions: ``[("show", text), ("terminate", None)]``."""
        return [_describe(item) for item in items]


def _in_loop(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _describe(item: Outgoing | Message) -> tuple[str, Any]:
    match item:
        case DialogShow():
            return ("show", item.text)
        case DialogAsk():
            return ("ask", item.text)
        case DialogTerminate():
            return ("terminate", None)
        case DialogNotify():
            return ("notify", item.text)
        case DialogContext():
            return ("context", item.name)
        case RawPublish():
            return ("publish", item.topic)
    return (type(item).__name__, None)


class TesterError(RuntimeError):
    """The stack under test did not come up, or did not answer."""


class Replies(list[Message]):
    """The channel messages of one turn, with shortcuts for assertions."""

    @property
    def shows(self) -> list[ChannelShow]:
        return [m for m in self if isinstance(m, ChannelShow)]

    @property
    def texts(self) -> list[str]:
        """Texts shown or asked, in order."""
        return [m.text for m in self if isinstance(m, ChannelShow | ChannelAsk)]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return [card for show in self.shows for card in show.extra.get("cards", [])]

    @property
    def ask(self) -> ChannelAsk | None:
        """The question ending the turn, if it ended with one."""
        return self[-1] if self and isinstance(self[-1], ChannelAsk) else None

    @property
    def reason(self) -> Reason | None:
        """Why the conversation ended, if this turn ended it."""
        return self[-1].reason if self and isinstance(self[-1], ChannelTerminate) else None


class SkillTester:
    """A whole atlas around some skills, for their tests::

        async with SkillTester(skill, lang="fr") as t:
            replies = await t.say("mets un minuteur")
            assert replies.ask is not None

    It starts (or uses, with ``broker_url``) a broker, runs the real daemon in this
    event loop with a temporary data dir and short timeouts, connects the skills
    (``Skill`` objects or paths for :func:`load_skill`), waits until the daemon has
    trained for them (its retained ``Skills`` message lists them all), creates the
    user ``uid`` with ``lang`` and ``env`` settings, and opens a channel for them.
    ``watch`` lists extra topic filters (device topics) whose messages
    :meth:`published` returns.
    """

    def __init__(self, *skills: Skill | str | Path, broker_url: str | None = None,
                 lang: str = "en", uid: str = "tester", env: Mapping[str, Any] | None = None,
                 watch: Iterable[str] = (), config: Config | None = None) -> None:
        if not skills:
            raise ValueError("SkillTester needs at least one skill")
        self.skills = [s if isinstance(s, Skill) else load_skill(s) for s in skills]
        self.broker_url = broker_url
        self.lang = lang
        self.uid = uid
        self.env = dict(env or {})
        self.watch = tuple(watch)
        self.config = config
        self.skills_message: Skills | None = None
        self._stack = contextlib.AsyncExitStack()
        self._channel: Any = None
        self._daemon: asyncio.Task[None] | None = None
        self._pings: asyncio.Queue[Ping] = asyncio.Queue()
        self._skills: asyncio.Queue[Skills] = asyncio.Queue()
        self._published: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

    @property
    def url(self) -> str:
        if self.broker_url is None:
            raise TesterError("the tester is not running")
        return self.broker_url

    @property
    def channel(self) -> Any:
        """The open :class:`atlas.channel.Channel` (for ``next()``, ``say()``…)."""
        if self._channel is None:
            raise TesterError("the tester is not running")
        return self._channel

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._stack.aclose()

    async def _start(self) -> None:
        # Imported here: the daemon and the embedded broker pull in the interpreter
        # and amqtt, which a skill's own module never needs.
        from ..broker import EmbeddedBroker
        from ..channel import Channel
        from ..daemon import serve
        from ..store import Store

        if self.broker_url is None:
            broker = EmbeddedBroker(port=0)
            self.broker_url = await asyncio.to_thread(broker.start)
            self._stack.callback(broker.stop)
        data_dir = Path(self._stack.enter_context(tempfile.TemporaryDirectory(
            prefix="atlas-skilltester-")))
        store = Store.in_data_dir(data_dir)
        self._stack.callback(store.close)
        store.add_user(self.uid, self.lang)
        if self.env:
            store.set_env(self.uid, self.env)
        config = replace(self.config or _quick_config(), broker=self.broker_url,
                         data_dir=data_dir)

        await self._stack.enter_async_context(self._watching())
        self._daemon = asyncio.create_task(serve(config, store), name="skilltester-daemon")
        self._stack.push_async_callback(_cancel, self._daemon)
        started_at = (await self._until(self._pings.get(), "the daemon's first ping")).started_at
        for skill in self.skills:
            running = await self._stack.enter_async_context(skill.connect(self.broker_url))
            task = asyncio.create_task(running.serve(), name=f"skilltester-{skill.name}")
            # Registered after the connection: stops serving before the bye.
            self._stack.push_async_callback(_cancel, task)
        names = {skill.name for skill in self.skills}
        while True:
            message = await self._until(self._skills.get(), f"the daemon to list {names}")
            live = {summary.name for summary in message.skills}
            if message.started_at == started_at and names <= live:
                self.skills_message = message
                break
        self._channel = await self._stack.enter_async_context(
            Channel(self.broker_url, uid=self.uid))

    async def _until(self, waiting: Coroutine[Any, Any, Any], what: str) -> Any:
        """Await ``waiting``, unless the daemon dies or it takes unreasonably long."""
        assert self._daemon is not None
        task = asyncio.ensure_future(waiting)
        done, _ = await asyncio.wait({task, self._daemon}, timeout=READY_TIMEOUT,
                                     return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            return task.result()
        task.cancel()
        if self._daemon in done:
            raise TesterError(f"the daemon stopped while waiting for {what}") from (
                None if self._daemon.cancelled() else self._daemon.exception())
        raise TesterError(f"gave up waiting for {what} after {READY_TIMEOUT} s")

    @contextlib.asynccontextmanager
    async def _watching(self) -> AsyncIterator[None]:
        """One client that sees the daemon's pings and skills list, and device topics."""
        async with Session(self.url, "skilltester") as session:
            await session.subscribe(Ping, Skills, *(raw(pattern) for pattern in self.watch))
            reader = asyncio.create_task(self._read(session))
            try:
                yield
            finally:
                await _cancel(reader)

    async def _read(self, session: Session) -> None:
        async for message in session:
            if isinstance(message, RawMessage):
                self._published.put_nowait((message.topic, message.payload))
            elif isinstance(message, Ping):
                self._pings.put_nowait(message)
            elif isinstance(message, Skills):
                self._skills.put_nowait(message)

    async def say(self, text: str, timeout: float = TURN_TIMEOUT) -> Replies:
        """Say ``text``; the channel messages up to the next ask or terminate."""
        return Replies(await self.channel.converse(text, timeout))

    async def next(self, timeout: float = TURN_TIMEOUT) -> Message:
        """The channel's next message (a notification, say)."""
        message: Message = await self.channel.next(timeout)
        return message

    async def published(self, timeout: float = TURN_TIMEOUT) -> tuple[str, bytes]:
        """The next message on one of the ``watch`` topics: ``(topic, payload)``."""
        async with asyncio.timeout(timeout):
            return await self._published.get()


def _quick_config() -> Config:
    # Short enough for tests to notice a missing skill quickly, long enough for a
    # loaded 2-core machine not to time a healthy skill out.
    return Config(discovery=Discovery(interval=1.0, timeout=10.0), skill_timeout=10.0,
                  ask_timeout=60.0)


async def _cancel(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
