"""The WebSocket bridge: browsers and pytlas-server clients reach the assistant here.

A separate process that talks to the daemon only through the broker, as a channel.
With ``state: redis://…`` it keeps what it re-sends to a (re)joining socket in Redis,
so that any number of bridges serve any sid (:mod:`atlas.store.sid_records`).
``serve`` runs it; ``create_app`` builds the ASGI app around a running :class:`Link`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn
from starlette.types import ASGIApp

from atlas.config import Config
from atlas.store import Store
from atlas.store.sid_records import MemorySidRecords, RedisSidRecords, SidRecords
from atlas.transport import BrokerAddress

from . import revocation
from .app import create_app
from .link import Hub, Link, LinkUnavailable
from .messages import MAX_FRAME
from .tokens import TokenError, Tokens

log = logging.getLogger(__name__)


class BridgeError(RuntimeError):
    """The bridge cannot start (its address is taken, say)."""


def broker_address(config: Config) -> BrokerAddress:
    # "embedded" means atlas starts its own broker, on the default local address.
    return BrokerAddress.parse(config.broker_url)


def sid_records(config: Config) -> SidRecords:
    """Where the bridge keeps its per-sid records: Redis when ``state`` names one, so
    that every bridge replica resumes every sid; else this process's memory."""
    address = config.state_address
    return MemorySidRecords() if address is None else RedisSidRecords.at(address)


def listen(host: str, port: int) -> socket.socket:
    """Bind the listening socket ourselves, so a taken port is a clear error."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Without it, an answer sent right after "thinking" waits ~40 ms for the
        # client's delayed ACK (Nagle). Accepted sockets inherit it; asyncio also sets
        # it, but only on sockets whose protocol says TCP, hence ``proto`` above.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind(address)
    except OSError as error:
        raise BridgeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: whoever runs ``serve`` owns the signals,
    and cancelling ``serve`` is how the bridge stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def server(app: ASGIApp, sock: socket.socket) -> uvicorn.Server:
    """A uvicorn server for the app; frames above MAX_FRAME are refused with 1009."""
    # No access log: request lines would be noise, and nothing secret is in URLs anyway.
    config = uvicorn.Config(app, ws="websockets-sansio", ws_max_size=MAX_FRAME,
                            lifespan="off", log_config=None, access_log=False,
                            proxy_headers=False)
    return _Server(config)


async def serve(config: Config, store: Store | None = None, *,
                announce: Callable[[str], None] | None = None) -> None:
    """Run the bridge until cancelled; ``announce`` receives the page's address."""
    owned = store is None
    store = store or Store.in_data_dir(config.data_dir)
    sock = listen(config.bridge.host, config.bridge.port)
    records = sid_records(config)
    link = Link(broker_address(config), Hub(records))
    app = create_app(config, store, link)
    web = server(app, sock)
    host, port = sock.getsockname()[:2]
    address = f"http://{f'[{host}]' if ':' in host else host}:{port}/"
    link_task = asyncio.create_task(link.run(), name="bridge-mqtt")
    web_task = asyncio.create_task(web.serve(sockets=[sock]), name="bridge-http")
    watch_task = asyncio.create_task(revocation.watch(link.hub, store, app.state.deps.tokens),
                                     name="bridge-revocations")
    log.info("bridge listening on %s, broker %s, sid records %s", address, link.address,
             config.state_address or "in memory")
    if announce is not None:
        announce(address)
    try:
        await asyncio.wait({link_task, web_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        web.should_exit = True
        link_task.cancel()
        watch_task.cancel()
        for task in (web_task, link_task, watch_task):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        sock.close()
        await records.close()
        if owned:
            store.close()
    for task in (link_task, web_task):
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise BridgeError(f"bridge stopped: {task.exception()}")


__all__ = ["BridgeError", "Hub", "Link", "LinkUnavailable", "TokenError", "Tokens",
           "create_app", "serve"]
