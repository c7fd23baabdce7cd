"""One MQTT session: connect, subscribe to message kinds, read typed messages, publish in order.

paho does the MQTT; this module drives it from the asyncio loop (its socket registered
with ``add_reader``/``add_writer``, keep-alive on a timer), so there is no thread and
no future per message. Publishing never waits: messages go out in call order and paho
keeps the unacknowledged ones (QoS 1) across a reconnection, re-sending them on the
new connection. Incoming payloads are decoded here, once; a bad one is logged and
dropped, so callers only ever see protocol messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ..protocol import IntentRequest, Message, ProtocolError, parse_message
from .address import BrokerAddress, backoff
from .buffered import BufferedClient, BufferedSocket

log = logging.getLogger("atlas.transport")

#: QoS of every atlas message: at least once, in order.
QOS = 1
KEEPALIVE = 30
#: Seconds an MQTT 5 broker keeps a kept session (``Session(client_id=…)``) after its
#: client vanished: a crash and its restart, not an outage. MQTT 3.1.1 has no such
#: bound; the broker's own settings apply (Mosquitto: ``persistent_client_expiration``).
KEPT_SESSION = 600
#: Seconds to wait for the broker's CONNACK or SUBACK.
ANSWER_TIMEOUT = 10.0
#: Messages kept for the broker while it is unreachable; past that, publishing fails.
BUFFER = 10_000
#: Messages on the wire awaiting their acknowledgement before paho queues the next ones.
IN_FLIGHT = 1_000
#: Packets read per turn of the loop. Under a flood, one read brings a thousand
#: and more: the tasks handling them (other sids' messages among them) get their
#: turn every this many, not once all are decoded. The flood test's bystander had
#: a p99 of 4.3-8.4 ms at 16 (seven runs, max 58-104 ms), 6.4-9.3 ms at 256 (four),
#: 5.2-13.0 ms at 64 (seven), 5.8-13.2 ms at 8 (six); 100 sids' throughput did not
#: move.
READ_BATCH = 16
#: Turns of the loop that the acknowledgements of what was just read wait before
#: they are written: one for the task reading the session, one for the handler it
#: wakes (the daemon's conversation task, a skill's request). The answers those
#: publish then leave in the same write: one ``send()`` and one wake-up of the
#: broker per turn instead of two. An acknowledgement never waits longer.
ACK_TURNS = 2
#: Filters per SUBSCRIBE packet when (re)subscribing many at once.
SUBSCRIBE_CHUNK = 200
#: Without TCP_NODELAY a QoS 1 request/reply stalls ~40 ms per hop on Nagle's
#: algorithm and delayed ACKs (benchmarks/roundtrip.py turns it off to show it).
NODELAY = True


class TransportError(Exception):
    """The broker cannot be reached, refused us, or the session is closed."""


class Unreachable(TransportError):
    """No connection could be made to the broker."""


class Refused(TransportError):
    """The broker answered no: bad credentials, or a subscription its ACL forbids."""


@dataclass(frozen=True)
class Cleared:
    """An empty payload on a retained kind (``Message.RETAINED``): it was withdrawn."""

    kind: type[Message]
    params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Reconnected:
    """The broker came back: subscriptions are being restored, and every message of the
    new connection comes after this marker (publish what the broker may have lost)."""


@dataclass(frozen=True)
class RawMessage:
    """What a raw session (``raw=True``) yields: the wire as it is, for tests and probes."""

    topic: str
    payload: bytes
    retain: bool = False


Incoming = Message | Cleared | Reconnected | RawMessage


@dataclass(frozen=True)
class Filter:
    """A subscription: the filter string and the kind its messages decode to."""

    kind: type[Message] | None
    filter: str


def on(kind: type[Message], **fixed: str) -> Filter:
    """Subscribe to ``kind``, some topic parameters fixed (``on(ChannelShow, sid="s1")``)."""
    return Filter(kind, kind.subscription(**fixed))


def raw(topic_filter: str) -> Filter:
    """A filter whose messages are not decoded: they arrive as :class:`RawMessage`."""
    return Filter(None, topic_filter)


Subscription = type[Message] | Filter


class Session:
    """A connection to the broker, as an async context manager and an async iterator.

        async with Session(address, "atlas-daemon") as session:
            await session.subscribe(Pong, on(DialogParse))
            session.publish(Ping(version, started_at))
            async for message in session:
                ...

    ``attempts`` bounds the first connection (``None``: try forever); once connected,
    the session reconnects by itself, for ever, re-subscribes, and yields
    :class:`Reconnected` before any message of the new connection. ``on_retry(error,
    delay)`` hears about every failed attempt at the first connection.
    """

    def __init__(self, address: BrokerAddress | str, name: str, *,
                 will: Message | None = None, attempts: int | None = 1, raw: bool = False,
                 buffer: int = BUFFER,
                 on_retry: Callable[[TransportError, float], None] | None = None,
                 skip: Callable[[str, bytes], bool] | None = None,
                 route: Callable[[Message], None] | None = None,
                 client_id: str | None = None) -> None:
        """``skip`` is asked of each message's topic and payload before the payload is
        decoded: True drops the message unread (it is acknowledged all the same).
        ``route`` takes each decoded message as it is read, in the transport's read
        callback, instead of the session's queue: what it does sees every message
        read before (reading it with ``async for`` then yields only the rest).

        ``client_id`` keeps the session on the broker: what the subscriptions match
        while this client is gone without closing (a crash) is queued for the next
        client of that id, and delivered as soon as it connects. Subscribe before
        entering the session so that those messages are understood. A clean
        :meth:`close` unsubscribes first: nothing is kept for a client stopped on
        purpose."""
        self.address = address if isinstance(address, BrokerAddress) \
            else BrokerAddress.parse(address)
        self.name = name
        self.raw = raw
        self._skip = skip
        self._route = route
        self._attempts = attempts
        self._on_retry = on_retry
        self._filters: dict[str, type[Message] | None] = {}
        self._kinds: tuple[type[Message], ...] = ()
        self._inbox: asyncio.Queue[Incoming] = asyncio.Queue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._fd = -1
        self._connected = asyncio.Event()
        self._connack: asyncio.Future[None] | None = None
        self._subacks: dict[int, asyncio.Future[list[Any]]] = {}
        self._unacked: dict[int, asyncio.Future[None] | None] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._write_due = False
        self._reading = False
        self._tasks: list[asyncio.Task[None]] = []
        self._buffer = buffer
        self._client_id = client_id
        self._client = self._make_client(will)

    # The context manager.

    async def __aenter__(self) -> Self:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        delays = backoff()
        tried = 0
        while True:
            try:
                await self._connect(first=True)
                break
            except TransportError as error:
                tried += 1
                if isinstance(error, Refused) or (
                        self._attempts is not None and tried >= self._attempts):
                    raise
                delay = next(delays)
                if self._on_retry is not None:
                    self._on_retry(error, delay)
                log.info("%s: %s; retrying in %.1f s", self.name, error, delay)
                await asyncio.sleep(delay)
        self._tasks = [asyncio.create_task(self._keep_alive(), name=f"{self.name}-keepalive")]
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.close()

    async def close(self) -> None:
        """Disconnect cleanly (the broker does not publish the will)."""
        if self._closing:
            return
        self._closing = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._connected.is_set():
            if self._client_id is not None and self._filters:
                self._client.unsubscribe(list(self._filters))  # before the DISCONNECT
            self._client.disconnect()
            # Let the DISCONNECT packet leave before the socket goes.
            with contextlib.suppress(Exception):
                self._client.loop_write()
                sock = self._client.socket()
                if isinstance(sock, BufferedSocket):
                    sock.flush()
        self._forget_socket()
        self._connected.clear()
        self._fail_waiters(TransportError("session closed"))
        self._inbox.put_nowait(_END)

    # Reading.

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Incoming:
        item = await self._inbox.get()
        if item is _END:
            self._inbox.put_nowait(_END)  # every later reader ends too
            raise StopAsyncIteration
        return item

    async def next(self, timeout: float | None = None) -> Incoming:
        """The next message; ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            return await self.__anext__()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    async def wait_connected(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            await self._connected.wait()

    # Subscribing.

    async def subscribe(self, *subscriptions: Subscription) -> None:
        """Subscribe (QoS 1); raises :class:`Refused` if the broker's ACL says no."""
        filters = [_filter(s) for s in subscriptions]
        fresh = [f for f in filters if f.filter not in self._filters]
        for item in filters:
            self._filters[item.filter] = item.kind
            if item.kind is not None and item.kind not in self._kinds:
                self._kinds = (*self._kinds, item.kind)
        if fresh and self.connected:
            await self._send_subscribe([f.filter for f in fresh])

    async def unsubscribe(self, *subscriptions: Subscription) -> None:
        filters = [_filter(s).filter for s in subscriptions]
        gone = [f for f in filters if self._filters.pop(f, 0) != 0]
        if gone and self.connected:
            self._client.unsubscribe(gone)

    # Publishing.

    def publish(self, message: Message, *, retain: bool = False) -> None:
        """Send ``message`` after everything published before it; never waits.

        Raises :class:`~atlas.protocol.ProtocolError` if it cannot be addressed (a
        bad sid), :class:`TransportError` if the offline buffer is full.
        """
        self._send(message.topic(), message.to_payload(), retain, None)

    async def deliver(self, message: Message, *, retain: bool = False) -> None:
        """Publish and wait for the broker's acknowledgement."""
        waiter = self._require_loop().create_future()
        self._send(message.topic(), message.to_payload(), retain, waiter)
        await waiter

    def clear(self, kind: type[Message], **params: str) -> None:
        """Withdraw a retained message (an empty retained payload)."""
        self._send(kind.TOPIC.format(**params), b"", True, None)

    def publish_raw(self, topic: str, payload: bytes | str, *, retain: bool = False) -> None:
        """Publish bytes as they are: for tests, probes and skills' own device topics."""
        self._send(topic, payload.encode() if isinstance(payload, str) else payload, retain,
                   None)

    def flush(self) -> bool:
        """Write what was published now, not at the next turn of the loop; True when
        all of it is with the kernel (else the rest goes once the socket drains)."""
        if self._write_due:
            self._write()
        return not self._write_due

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until every message published so far is acknowledged; False on timeout."""
        try:
            async with asyncio.timeout(timeout):
                await self._idle.wait()
            return True
        except TimeoutError:
            return False

    # paho, driven from the loop.

    def _make_client(self, will: Message | None) -> BufferedClient:
        v5 = self.address.protocol == 5
        kept = self._client_id is not None
        client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=self._client_id or f"{self.name}-{uuid.uuid4().hex[:8]}",
            protocol=paho.MQTTv5 if v5 else paho.MQTTv311,
            clean_session=None if v5 else not kept,
            reconnect_on_failure=False,
        )
        if self.address.username:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            client.tls_set_context(ssl.create_default_context())
        if will is not None:
            client.will_set(will.topic(), will.to_payload(), qos=QOS)
        client.max_inflight_messages_set(IN_FLIGHT)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_received = self._received
        client.on_publish = self._on_publish
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = self._on_socket_open
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        return client

    async def _connect(self, *, first: bool) -> None:
        loop = self._require_loop()
        self._connack = loop.create_future()
        address = self.address
        try:
            # The TCP (and TLS) handshake blocks: do it off the loop.
            if first:
                await loop.run_in_executor(None, self._connect_first)
            else:
                await loop.run_in_executor(None, self._client.reconnect)
            async with asyncio.timeout(ANSWER_TIMEOUT):
                await self._connack
        except (OSError, TimeoutError, paho.WebsocketConnectionError) as error:
            self._forget_socket()
            raise Unreachable(f"broker {address} unreachable: {error or 'no answer'}") \
                from None
        finally:
            self._connack = None
        if not first:
            # Before re-subscribing: every message of the new connection comes after it.
            self._inbox.put_nowait(Reconnected())
        if self._filters:
            await self._send_subscribe(list(self._filters))
        self._connected.set()
        log.debug("%s connected to %s", self.name, address)

    def _connect_first(self) -> None:
        client = self._client
        if self._client_id is None or self.address.protocol != 5:
            client.connect(self.address.host, self.address.port, KEEPALIVE)
            return
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = KEPT_SESSION
        client.connect(self.address.host, self.address.port, KEEPALIVE, clean_start=False,
                       properties=properties)

    async def _reconnect(self) -> None:
        delays = backoff()
        while not self._closing:
            delay = next(delays)
            await asyncio.sleep(delay)
            try:
                await self._connect(first=False)
            except TransportError as error:
                log.warning("%s: %s; retrying", self.name, error)
                continue
            log.info("%s reconnected to %s", self.name, self.address)
            return

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._connected.is_set():
                self._client.loop_misc()

    async def _send_subscribe(self, filters: list[str]) -> None:
        loop = self._require_loop()
        for start in range(0, len(filters), SUBSCRIBE_CHUNK):
            chunk = filters[start:start + SUBSCRIBE_CHUNK]
            result, mid = self._client.subscribe([(f, QOS) for f in chunk])
            if result == MQTTErrorCode.MQTT_ERR_NO_CONN:
                return  # the connection just went: the reconnection subscribes to all
            if result != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
                raise TransportError(f"subscribe failed: {paho.error_string(result)}")
            waiter: asyncio.Future[list[Any]] = loop.create_future()
            self._subacks[mid] = waiter
            try:
                async with asyncio.timeout(ANSWER_TIMEOUT):
                    codes = await waiter
            except TimeoutError:
                raise TransportError(f"no SUBACK from {self.address}") from None
            finally:
                self._subacks.pop(mid, None)
            refused = [f for f, code in zip(chunk, codes, strict=False) if code.is_failure]
            if refused:
                for topic_filter in refused:
                    self._filters.pop(topic_filter, None)
                raise Refused(f"the broker refused the subscription to {', '.join(refused)}")

    def _send(self, topic: str, payload: bytes, retain: bool,
              waiter: asyncio.Future[None] | None) -> None:
        if self._closing:
            raise TransportError("session closed")
        if not self._connected.is_set() and len(self._unacked) >= self._buffer:
            raise TransportError(f"{self.name}: {topic} not sent: the broker has been away "
                                 f"too long and {self._buffer} messages wait for it already")
        # Without a connection, paho keeps the message and sends it once reconnected.
        info = self._client.publish(topic, payload, qos=QOS, retain=retain)
        self._unacked[info.mid] = waiter
        self._idle.clear()

    def _require_loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            raise TransportError("the session is not open (use `async with`)")
        return self._loop

    def _on_loop(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback`` on the loop: paho calls some callbacks from the connecting thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if threading.get_ident() == self._thread:
            callback(*args)
        else:
            loop.call_soon_threadsafe(callback, *args)

    # paho's callbacks: they only resolve futures, queue messages and (un)register the socket.

    def _on_socket_open(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, int(NODELAY))
        self._on_loop(self._watch_socket, sock.fileno())

    def _watch_socket(self, fd: int) -> None:
        self._forget_socket()
        self._fd = fd
        self._require_loop().add_reader(fd, self._readable)

    def _on_socket_close(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._on_loop(self._forget_socket)

    def _forget_socket(self) -> None:
        if self._fd >= 0 and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(self._fd)
            self._loop.remove_writer(self._fd)
        self._fd = -1

    def _on_register_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        self._on_loop(self._want_write)

    def _want_write(self) -> None:
        # Once per turn of the loop: everything published until then leaves together.
        if not self._write_due and self._fd >= 0:
            self._write_due = True
            self._require_loop().call_soon(self._write_in, ACK_TURNS - 1 if self._reading else 0)

    def _write_in(self, turns: int) -> None:
        if turns > 0 and self._write_due:
            self._require_loop().call_soon(self._write_in, turns - 1)
        else:
            self._write()

    def _write(self) -> None:
        if not self._write_due:
            return  # flushed already this turn
        self._write_due = False
        if self._fd < 0:
            return
        self._client.loop_write()
        sock = self._client.socket()
        done = sock.flush() if isinstance(sock, BufferedSocket) else True
        loop = self._require_loop()
        if done:
            loop.remove_writer(self._fd)
        else:
            self._write_due = True
            loop.add_writer(self._fd, self._write)  # the kernel's buffer is full: wait

    def _on_unregister_write(self, client: paho.Client, userdata: Any, sock: Any) -> None:
        pass  # the session decides, from what the buffered socket still holds

    def _readable(self) -> None:
        client = self._client
        if isinstance(sock := client.socket(), BufferedSocket):
            sock.readable()
        self._reading = True  # what paho writes now is acknowledgements: see ACK_TURNS
        try:
            if client.read_packets(READ_BATCH) != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return
        finally:
            self._reading = False
        if isinstance(sock := client.socket(), BufferedSocket) and sock.buffered:
            # Bytes in memory, which the selector cannot see: go on at the next turn,
            # after the tasks waiting for what was just read.
            self._require_loop().call_soon(self._readable)

    def _on_connect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        waiter = self._connack
        if waiter is None or waiter.done():
            return
        if reason.is_failure:
            waiter.set_exception(Refused(f"broker {self.address} refused the connection: "
                                         f"{reason}"))
        else:
            waiter.set_result(None)

    def _on_disconnect(self, client: paho.Client, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        self._on_loop(self._lost, str(reason))

    def _lost(self, reason: str) -> None:
        self._forget_socket()
        if self._connack is not None and not self._connack.done():
            self._connack.set_exception(Unreachable(f"broker {self.address} closed the "
                                                    f"connection: {reason}"))
            return
        if self._closing or not self._connected.is_set():
            return
        self._connected.clear()
        for waiter in self._subacks.values():
            if not waiter.done():
                waiter.set_exception(TransportError("connection lost"))
        log.warning("%s lost the broker %s (%s)", self.name, self.address, reason)
        self._tasks.append(asyncio.create_task(self._reconnect(), name=f"{self.name}-reconnect"))

    def _on_publish(self, client: paho.Client, userdata: Any, mid: int, reason: Any,
                    properties: Any) -> None:
        waiter = self._unacked.pop(mid, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if not self._unacked:
            self._idle.set()

    def _on_subscribe(self, client: paho.Client, userdata: Any, mid: int, codes: list[Any],
                      properties: Any) -> None:
        waiter = self._subacks.get(mid)
        if waiter is not None and not waiter.done():
            waiter.set_result(codes)

    def _on_message(self, client: paho.Client, userdata: Any, message: paho.MQTTMessage) -> None:
        self._received(message._topic, bytes(message.payload), bool(message.retain))

    def _received(self, topic_bytes: bytes, payload: bytes, retain: bool) -> None:
        try:
            topic = topic_bytes.decode("utf-8")
        except UnicodeDecodeError:
            log.warning("%s dropped a message whose topic is not UTF-8", self.name)
            return
        if self.raw:
            self._inbox.put_nowait(RawMessage(topic, payload, retain))
            return
        if self._skip is not None and self._skipped(self._skip, topic, payload):
            return
        item = self._decode(topic, payload)
        if item is None:
            return
        if self._route is None or not isinstance(item, Message):
            self._inbox.put_nowait(item)
            return
        try:
            self._route(item)
        except Exception:  # what routing does must not take the reading down
            log.exception("%s could not route a message on %s", self.name, topic)

    def _skipped(self, skip: Callable[[str, bytes], bool], topic: str, payload: bytes) -> bool:
        # A bug in the check must cost a message's decoding, never the message (it
        # would go unacknowledged) nor the reading.
        try:
            return skip(topic, payload)
        except Exception:
            log.exception("%s could not tell whether to skip a message on %s", self.name,
                          topic)
            return False

    def _decode(self, topic: str, payload: bytes) -> Message | Cleared | RawMessage | None:
        if not payload:
            for kind in self._kinds:
                if kind.RETAINED and (params := kind.TOPIC.match(topic)) is not None:
                    return Cleared(kind, params)
        try:
            message = parse_message(topic, payload, self._kinds)
            if message is None and None in self._filters.values():
                return RawMessage(topic, payload)  # a raw filter's (a device topic)
            return message
        except ProtocolError as error:
            log.warning("%s dropped a message on %s: %s", self.name, topic, error)
        except Exception:  # a decoding bug must not take the process down
            log.exception("%s dropped a message on %s", self.name, topic)
        return None

    def _fail_waiters(self, error: TransportError) -> None:
        for waiter in [*self._subacks.values(), *self._unacked.values(), self._connack]:
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
        self._unacked.clear()
        self._idle.set()


_END: Any = object()


def _filter(subscription: Subscription) -> Filter:
    if isinstance(subscription, Filter):
        return subscription
    if subscription is IntentRequest:
        return Filter(IntentRequest, "atlas/intents/#")
    return on(subscription)


def matches(topic_filter: str, topic: str) -> bool:
    """Does ``topic`` fall under the subscription filter (``+``, ``#``)?"""
    return bool(paho.topic_matches_sub(topic_filter, topic))
