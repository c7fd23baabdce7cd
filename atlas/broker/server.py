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

from .fair import FairBroadcasts
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


def amqtt_broker(config: dict[str, Any]) -> Broker:
    """amqtt's broker, with the two amends below; not started."""
    broker = Broker(config)
    _snapshot_subscriptions(broker)
    _route_fairly(broker)
    return broker


class _SnapshotDict(dict[str, Any]):
    """A dict whose iteration goes over a copy, safe across awaits and deletions."""

    def __iter__(self) -> Any:
        return iter(list(super().keys()))

    def keys(self) -> Any:
        return list(super().keys())

    def items(self) -> Any:
        return list(super().items())


def _snapshot_subscriptions(broker: Broker) -> None:
    # amqtt 0.12.1 iterates its subscriptions table with awaits inside the loop (the
    # ACL check of each subscriber, retained messages for a new client); a SUBSCRIBE
    # or a disconnection handled meanwhile changes the table, and "dictionary changed
    # size during iteration" kills the broadcast loop for good (nothing is routed any
    # more) or the connecting client. Iterating a snapshot instead keeps them alive.
    table = getattr(broker, "_subscriptions", None)
    if isinstance(table, dict):
        broker._subscriptions = _SnapshotDict(table)


def _route_fairly(broker: Broker) -> None:
    # amqtt 0.12.1 routes through one FIFO queue: see atlas.broker.fair for why not.
    if isinstance(getattr(broker, "_broadcast_queue", None), asyncio.Queue):
        broker._broadcast_queue = FairBroadcasts()


def run(settings: BrokerSettings) -> None:
    """Blocking entry point: run the broker, announcing readiness on stdout."""
    def ready(url: str) -> None:
        print(READY_PREFIX + url, flush=True)

    asyncio.run(serve(settings, ready))
