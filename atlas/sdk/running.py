"""The MQTT shell around a :class:`~atlas.sdk.skill.Skill`: connection, discovery,
dispatching, reconnection, and one sender that publishes the outbox in order.
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
from collections.abc import Coroutine
from types import TracebackType
from typing import TYPE_CHECKING, Any

import aiomqtt

from .. import mqtt
from ..protocol import Bye, IntentRequest, Message, Ping, ProtocolError, parse_message, topic_for
from .request import Outbox, Outgoing, RawPublish, Sent

if TYPE_CHECKING:
    from .skill import Listener, Skill

log = logging.getLogger("atlas.sdk")

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
#: How long a stopping skill gives its last messages and its bye to leave.
STOP_GRACE = 2.0
#: Attempts to publish one message across reconnections before giving up on it.
PUBLISH_ATTEMPTS = 5


class RunningSkill(Outbox):
    """A skill connected to a broker. Use as an async context manager, then ``serve()``."""

    def __init__(self, skill: Skill, broker: str, *, retry: bool = False) -> None:
        skill.check()
        self.skill = skill
        self.address = mqtt.BrokerAddress.parse(broker)
        self._retry = retry
        self._client: aiomqtt.Client | None = None
        self._connected = asyncio.Event()
        self._queue: asyncio.Queue[tuple[Outgoing, concurrent.futures.Future[None]]] = (
            asyncio.Queue())
        self._tasks: set[asyncio.Task[Any]] = set()
        self._sender: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._intents = frozenset(skill.intents)
        self._among: tuple[type[Message], ...] = (Ping, IntentRequest, *skill.listeners)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def __aenter__(self) -> RunningSkill:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        delays = mqtt.backoff()
        while True:
            try:
                await self._open()
                break
            except aiomqtt.MqttError as error:
                if not self._retry:
                    raise ConnectionError(f"skill {self.skill.name}: cannot reach the broker "
                                          f"{self.address}: {error}") from None
                delay = next(delays)
                log.warning("skill %s: broker %s unreachable (%s), retrying in %.1fs",
                            self.skill.name, self.address, error, delay)
                await asyncio.sleep(delay)
        self._sender = asyncio.create_task(self._send_loop(), name=f"{self.skill.name}-sender")
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        # Let the last answers go out before saying bye, but never hang on a dead broker.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), STOP_GRACE)
        if self._sender is not None:
            self._sender.cancel()
            await asyncio.gather(self._sender, return_exceptions=True)
        client, self._client = self._client, None
        self._connected.clear()
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(mqtt.publish(client, Bye(self.skill.name)), STOP_GRACE)
            with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
                await asyncio.wait_for(client.__aexit__(None, None, None), STOP_GRACE)
        log.info("skill %s stopped", self.skill.name)

    async def serve(self) -> None:
        """Handle messages until cancelled, reconnecting (and ponging again) as needed."""
        delays = mqtt.backoff()
        while True:
            if self._client is None:
                try:
                    await self._open()
                except aiomqtt.MqttError as error:
                    delay = next(delays)
                    log.warning("skill %s: reconnection failed (%s), retrying in %.1fs",
                                self.skill.name, error, delay)
                    await asyncio.sleep(delay)
                    continue
                delays = mqtt.backoff()
            client = self._client
            assert client is not None
            try:
                async for message in client.messages:
                    self._dispatch(str(message.topic), message.payload)
            except aiomqtt.MqttError as error:
                log.warning("skill %s: connection lost (%s)", self.skill.name, error)
            await self._drop()

    # Outbox.

    def send(self, item: Outgoing) -> Sent:
        future: concurrent.futures.Future[None] = concurrent.futures.Future()
        if self._loop is None:
            raise RuntimeError("the skill is not connected")
        if threading.get_ident() == self._thread:
            self._queue.put_nowait((item, future))
        else:
            # A plain-function handler, in a worker thread.
            self._loop.call_soon_threadsafe(self._queue.put_nowait, (item, future))
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

    async def _open(self) -> None:
        client = mqtt.client(self.address, f"skill-{self.skill.name}", will=Bye(self.skill.name))
        await client.__aenter__()
        try:
            await client.subscribe([(topic, mqtt.QOS) for topic in self._subscriptions()])
            await mqtt.publish(client, self.skill.pong())
        except aiomqtt.MqttError:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)
            raise
        self._client = client
        self._connected.set()
        log.info("skill %s connected to %s", self.skill.name, self.address)

    async def _drop(self) -> None:
        client, self._client = self._client, None
        self._connected.clear()
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)

    def _subscriptions(self) -> list[str]:
        topics = [Ping.subscription()]
        topics += [topic_for(intent) for intent in sorted(self._intents)]
        topics += [kind.subscription() for kind in self.skill.listeners]
        return topics

    def _dispatch(self, topic: str, payload: Any) -> None:
        if not payload and any(kind.TOPIC.match(topic) is not None
                               for kind in self.skill.listeners):
            # A cleared retained message (the daemon stopping): nothing to hand over.
            return
        try:
            message = parse_message(topic, payload if isinstance(payload, bytes | str) else b"",
                                    self._among)
        except ProtocolError as error:
            log.warning("skill %s: dropped a message on %s: %s", self.skill.name, topic, error)
            return
        if isinstance(message, Ping):
            self.send(self.skill.pong())
        elif isinstance(message, IntentRequest):
            if message.intent in self._intents:
                self._track(asyncio.create_task(self.skill.handle(message, self)))
        elif message is not None:
            for listener in self.skill.listeners.get(type(message), []):
                self._track(asyncio.create_task(_call(listener, message)))

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._finished)
        return task

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("skill %s: background task failed", self.skill.name,
                      exc_info=task.exception())

    async def _send_loop(self) -> None:
        while True:
            item, future = await self._queue.get()
            try:
                if future.set_running_or_notify_cancel():
                    await self._deliver(item, future)
            finally:
                self._queue.task_done()

    async def _deliver(self, item: Outgoing, future: concurrent.futures.Future[None]) -> None:
        delays = mqtt.backoff()
        for attempt in range(1, PUBLISH_ATTEMPTS + 1):
            await self._connected.wait()
            client = self._client
            try:
                if client is None:
                    raise aiomqtt.MqttError("not connected")
                if isinstance(item, RawPublish):
                    await client.publish(item.topic, item.payload, qos=mqtt.QOS,
                                         retain=item.retain)
                else:
                    await mqtt.publish(client, item)
                future.set_result(None)
                return
            except aiomqtt.MqttError as error:
                log.warning("skill %s: publish on %s failed (attempt %d): %s", self.skill.name,
                            _topic(item), attempt, error)
                await asyncio.sleep(next(delays))
        future.set_exception(ConnectionError(f"could not publish on {_topic(item)}"))


async def _call(listener: Listener, message: Message) -> None:
    if inspect.iscoroutinefunction(listener):
        await listener(message)
    else:
        result = await asyncio.to_thread(listener, message)
        if inspect.isawaitable(result):
            await result


def _topic(item: Outgoing) -> str:
    return item.topic if isinstance(item, RawPublish) else item.topic()


def run_forever(skill: Skill, broker: str | None = None) -> None:
    """Blocking entry point: serve until SIGINT/SIGTERM, then publish the bye."""
    url = broker or os.environ.get("ATLAS_BROKER") or DEFAULT_BROKER
    if not logging.getLogger().handlers:
        # `python skill.py` on its own: show what the skill does (the CLI sets its own).
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    asyncio.run(_serve_until_signal(skill, url))


async def _serve_until_signal(skill: Skill, url: str) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    main = asyncio.create_task(_connect_and_serve(skill, url))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({main, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    main.cancel()
    await asyncio.gather(main, stopping, return_exceptions=True)
    failure = main.exception() if main.done() and not main.cancelled() else None
    if failure is not None:
        raise failure


async def _connect_and_serve(skill: Skill, url: str) -> None:
    async with skill.connect(url, retry=True) as running:
        await running.serve()
