"""Running the amqtt broker: the body of the ``atlas broker`` process.

The broker always runs in a process of its own, never inside the daemon's loop, so a
slow client or a broker bug cannot stall the conversation logic (and vice versa).
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from typing import Any

from amqtt.broker import Broker
from amqtt.errors import BrokerError, PluginError, PluginLoadError

from .amends import amqtt_broker
from .settings import BrokerSettings, amqtt_config

#: The line the process prints on stdout once it accepts connections; the parent
#: reads the actual port from it (the settings may ask for port 0).
READY_PREFIX = "atlas broker ready on "

log = logging.getLogger(__name__)


class BrokerStartError(RuntimeError):
    """The broker could not listen (port taken, bad certificate, bad plugin settings)."""


def bound_port(broker: Broker) -> int:
    # amqtt keeps its listening servers private; this is the one place that reads them.
    servers: dict[str, Any] = getattr(broker, "_servers", {})
    sockets = servers["default"].instance.sockets
    return int(sockets[0].getsockname()[1])


async def serve(settings: BrokerSettings,
                on_ready: Callable[[str], None] | None = None) -> None:
    """Run the broker until cancelled, SIGTERM or SIGINT."""
    config = amqtt_config(settings)
    # amqtt logs every connection and packet at INFO; keep the operator's terminal quiet.
    for noisy in ("amqtt", "transitions"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Handlers first: a parent may send SIGTERM as soon as it reads the ready line.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        # amqtt logs a start failure with its traceback; the error raised below says it
        # in one line, so keep amqtt quiet until it listens.
        amqtt_log = logging.getLogger("amqtt")
        amqtt_log.setLevel(logging.CRITICAL)
        try:
            broker = amqtt_broker(config)
            await broker.start()
        except (BrokerError, PluginError, PluginLoadError, OSError) as error:
            cause = error.__cause__ or error
            raise BrokerStartError(
                f"cannot listen on {settings.host}:{settings.port}: {cause}") from None
        finally:
            amqtt_log.setLevel(logging.WARNING)
        try:
            url = f"mqtt://{settings.host}:{bound_port(broker)}"
            log.info("broker listening on %s (anonymous %s)", url,
                     "allowed" if settings.anonymous else "refused")
            if on_ready is not None:
                on_ready(url)
            await stop.wait()
        finally:
            await broker.shutdown()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def run(settings: BrokerSettings) -> None:
    """Blocking entry point: run the broker, announcing readiness on stdout."""
    def ready(url: str) -> None:
        print(READY_PREFIX + url, flush=True)

    asyncio.run(serve(settings, ready))
