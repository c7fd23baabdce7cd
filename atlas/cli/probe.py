"""Asking the broker which skills are live: the logic behind ``atlas skills``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import aiomqtt

from .. import __version__, mqtt
from ..protocol import Ping, Pong, ProtocolError, Skills, SkillSummary, parse_message
from ..protocol.discovery import with_daemon_view

log = logging.getLogger(__name__)

#: How long to wait for the daemon's retained skills list before pinging.
RETAINED_WAIT = 0.3


async def live_skills(client: aiomqtt.Client, wait: float) -> list[SkillSummary]:
    """Ping, then collect pongs for ``wait`` seconds; the skills that answered, by name.

    The ping repeats the daemon's ``version`` and ``started_at`` (read from its
    retained skills list) so that channels watching pings for a daemon restart,
    like the web bridge, do not mistake this probe for one.
    """
    await client.subscribe([(Skills.subscription(), mqtt.QOS), (Pong.subscription(), mqtt.QOS)])
    heard: dict[str, SkillSummary] = {}
    daemon: Skills | None = None
    messages = aiter(client.messages)
    deadline = time.monotonic() + RETAINED_WAIT
    pinged = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            if pinged:
                break
            ping = Ping(daemon.version, daemon.started_at) if daemon else Ping(__version__, "")
            await mqtt.publish(client, ping)
            pinged = True
            deadline = time.monotonic() + wait
            continue
        incoming = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(left):
                incoming = await anext(messages)
        if incoming is None:
            continue
        payload = incoming.payload if isinstance(incoming.payload, bytes | str) else b""
        if not payload:
            continue  # an empty retained message is a cleared one: no daemon
        try:
            message = parse_message(str(incoming.topic), payload, (Skills, Pong))
        except ProtocolError as error:
            log.warning("ignored a message on %s: %s", incoming.topic, error)
            continue
        if isinstance(message, Skills):
            daemon = message
        elif isinstance(message, Pong):
            heard[message.name] = SkillSummary.of(message)
    return [with_daemon_view(heard[name], daemon) for name in sorted(heard)]
