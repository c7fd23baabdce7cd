"""The daemon: connects to the broker and runs discovery and conversations over it.

Everything that changes a conversation goes through one queue, consumed by one
task, so events reach the core in the order they happened; MQTT reading,
pinging and training run beside it and only put events in that queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import Any

import aiomqtt

from .. import __version__, mqtt
from ..config import Config
from ..core import Publish, SkillGone
from ..protocol import (
    DAEMON_INBOX,
    Bye,
    DialogParse,
    Pong,
    ProtocolError,
    Skills,
    parse_message,
)
from ..store import Store
from .conversations import Conversations
from .discovery import Discovery

log = logging.getLogger("atlas.daemon")

#: Changes arriving this close together are trained for once.
TRAIN_DEBOUNCE = 0.05
#: The longest a text waits for the interpreters at start-up, in seconds.
FIRST_TRAINING_WAIT = 15.0


async def serve(config: Config, store: Store | None = None) -> None:
    """Run the daemon until cancelled, reconnecting to the broker whenever needed."""
    store = store or Store.in_data_dir(config.data_dir)
    address = mqtt.BrokerAddress.parse(config.broker_url)
    started_at = datetime.now(UTC).replace(tzinfo=None).isoformat()
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    conversations = Conversations(config, store, inbox)
    discovery = Discovery(config, __version__, started_at)
    log.info("atlas %s daemon on %s", __version__, address)
    delays = mqtt.backoff()
    try:
        while True:
            try:
                async with mqtt.client(address, "atlas-daemon") as client:
                    delays = mqtt.backoff()
                    for kind in DAEMON_INBOX:
                        await client.subscribe(kind.subscription(), qos=mqtt.QOS)
                    log.info("connected to %s", address)
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(_read(client, inbox, discovery))
                        tasks.create_task(_converse(client, inbox, conversations, discovery))
                        tasks.create_task(_watch(client, inbox, discovery))
                        tasks.create_task(_train(client, discovery))
            except* aiomqtt.MqttError as errors:
                delay = next(delays)
                log.warning("broker connection lost (%s); retrying in %.1fs",
                            errors.exceptions[0], delay)
                await asyncio.sleep(delay)
    finally:
        conversations.close()
        await _clear_skills(address)


async def _read(client: aiomqtt.Client, inbox: asyncio.Queue[Any], discovery: Discovery) -> None:
    async for message in client.messages:
        topic = message.topic.value
        try:
            parsed = parse_message(topic, message.payload, DAEMON_INBOX)
        except ProtocolError as error:
            log.warning("dropped a message on %s: %s", topic, error)
            continue
        except Exception:  # the daemon never dies of a payload
            log.exception("dropped a message on %s", topic)
            continue
        if isinstance(parsed, Pong):
            discovery.heard(parsed, time.monotonic())
        elif isinstance(parsed, Bye):
            if discovery.left(parsed.name):
                inbox.put_nowait(SkillGone(parsed.name))
        elif parsed is not None:
            inbox.put_nowait(parsed)


async def _converse(client: aiomqtt.Client, inbox: asyncio.Queue[Any],
                    conversations: Conversations, discovery: Discovery) -> None:
    while True:
        item = await inbox.get()
        if isinstance(item, DialogParse) and discovery.untrained:
            # Right after start-up, understanding nothing would be a wrong answer:
            # hold the text (and everything behind it) until the first training.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(discovery.trained.wait(), FIRST_TRAINING_WAIT)
        try:
            event = conversations.event_for(item)
            publishes = conversations.apply(event, discovery.world()) if event else []
        except Exception:
            log.exception("could not handle %s", type(item).__name__)
            continue
        await _publish(client, publishes)
        _unless_cancelled()


async def _publish(client: aiomqtt.Client, publishes: list[Publish]) -> None:
    """Publish one event's messages, pipelined: their acknowledgements are awaited together.

    The tasks start in order, so the broker receives the messages in order.
    """
    results = await asyncio.gather(
        *(mqtt.publish(client, effect.message, retain=effect.retain) for effect in publishes),
        return_exceptions=True)
    for result in results:
        if isinstance(result, ProtocolError):
            log.warning("not published: %s", result)
        elif isinstance(result, BaseException):
            raise result


async def _watch(client: aiomqtt.Client, inbox: asyncio.Queue[Any], discovery: Discovery) -> None:
    """Ping every ``discovery.interval``; drop skills silent for ``discovery.timeout``."""
    interval = discovery.config.discovery.interval
    tick = max(0.05, min(1.0, interval / 2, discovery.config.discovery.timeout / 4))
    last_ping = -float("inf")
    while True:
        now = time.monotonic()
        if now - last_ping >= interval:
            await mqtt.publish(client, discovery.ping)
            _unless_cancelled()
            last_ping = now
        discovery.poll_training(now)
        for name in discovery.expire(now):
            inbox.put_nowait(SkillGone(name))
        await asyncio.sleep(tick)


async def _train(client: aiomqtt.Client, discovery: Discovery) -> None:
    while True:
        await discovery.changed.wait()
        await asyncio.sleep(TRAIN_DEBOUNCE)
        started = time.perf_counter()
        skills = await discovery.retrain()
        if skills is None:
            continue
        log.info("trained for %d skill(s) in %.2fs", len(skills.skills),
                 time.perf_counter() - started)
        await mqtt.publish(client, skills, retain=True)
        _unless_cancelled()


def _unless_cancelled() -> None:
    """Re-raise a cancellation that aiomqtt's ``wait_for`` swallowed (Python 3.11).

    Without it a cancelled daemon can go back to waiting on its inbox forever.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def _clear_skills(address: mqtt.BrokerAddress) -> None:
    """On a clean stop, remove the retained skills list: nobody serves them any more."""
    with contextlib.suppress(aiomqtt.MqttError, OSError, asyncio.TimeoutError):
        async with asyncio.timeout(2), mqtt.client(address, "atlas-daemon-stop") as client:
            await client.publish(Skills.TOPIC.format(), b"", qos=mqtt.QOS, retain=True)
