"""A socket that batches paho's small reads and writes into few system calls, and
paho's client with cheaper acknowledgements.

paho reads a packet in three or more ``recv`` calls (one byte of type, the length
byte by byte, then the rest) and writes each packet with its own ``send``. Under
load that is most of a process's time in system calls. This wrapper reads up to
64 KiB at a time and serves paho from memory, and keeps what paho sends until the
session flushes it, once per turn of the event loop, in one ``send``.

Each QoS 1 message we publish comes back as a PUBACK, and paho spends about 10 µs
decoding each one (a ``ReasonCode`` and a ``Properties`` object built for MQTT 3.1.1
too), then scans every unacknowledged message for one it may now send: with
hundreds in flight, that scan cost more than the decoding. :class:`BufferedClient`
reads a plain PUBACK (two bytes: the message id) itself and skips the scan when no
message waits for room in the window. A message published while the window is full
is kept as paho keeps one (without its message object and ``threading.Condition``)
and written by the client when room is made.
"""

from __future__ import annotations

import socket
import ssl
from collections import deque
from collections.abc import Callable
from typing import Any, Literal, cast

import paho.mqtt.client as paho
from paho.mqtt.client import CallbackOnPublish_v2
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.exception import MalformedPacket
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

#: Bytes asked of the kernel per read.
READ_SIZE = 65536


class BufferedSocket:
    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._in = b""   # the last read from the kernel, served from ``_at`` on
        self._at = 0
        self._out = bytearray()
        self._may_read = True

    @property
    def buffered(self) -> bool:
        """Bytes already read from the kernel that paho has not taken yet."""
        return self._at < len(self._in)

    @property
    def unsent(self) -> int:
        return len(self._out)

    def recv(self, size: int) -> bytes:
        if self._at >= len(self._in):
            data = self.sock.recv(READ_SIZE)  # BlockingIOError goes to paho as it is
            if not data:
                return b""  # the peer closed
            self._in, self._at = data, 0
        start = self._at
        self._at = min(start + size, len(self._in))
        return self._in[start:self._at]

    def readable(self) -> None:
        """The selector says the kernel holds bytes: the next :meth:`fill` asks for them."""
        self._may_read = True

    def fill(self) -> bool | None:
        """With nothing left in memory, read what the kernel holds: True if it gave
        bytes, False if it had none yet, None for anything else (the peer closed, an
        error: paho's own read meets it again and says what it is)."""
        if self._at < len(self._in):
            return True
        if not self._may_read:
            return False
        try:
            data = self.sock.recv(READ_SIZE)
        except (BlockingIOError, ssl.SSLWantReadError):
            self._may_read = False
            return False
        except OSError:
            return None
        if not data:
            return None
        self._in, self._at = data, 0
        # A short read took all the kernel had: asking again before the selector says
        # so would only hear "nothing yet", one more system call per wake-up. (TLS
        # may keep decrypted bytes the selector cannot see: those are asked for.)
        self._may_read = len(data) == READ_SIZE or (
            isinstance(self.sock, ssl.SSLSocket) and self.sock.pending() > 0)
        return True

    def packet(self) -> tuple[bytes, int, int, int] | None:
        """The next MQTT packet if all of it is in memory: the bytes it is in, its
        first byte, and where the rest after the length starts and ends in those
        (not copied: a message's topic and payload are the only copies made).
        ``None`` leaves the bytes to paho's own reading."""
        data, at, end = self._in, self._at + 1, len(self._in)
        length = shift = 0
        while True:
            if at >= end or at > self._at + 4:   # not all here, or a length paho refuses
                return None
            byte = data[at]
            at += 1
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                break
            shift += 7
        if at + length > end:
            return None
        command, self._at = data[self._at], at + length
        return data, command, at, self._at

    def send(self, data: bytes | bytearray | memoryview) -> int:
        self._out += data
        return len(data)

    def flush(self) -> bool:
        """Send what is kept; True when all of it left (else wait until writable)."""
        while self._out:
            try:
                sent = self.sock.send(self._out)
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                # A broken connection: paho sees it on its next read.
                self._out.clear()
                return True
            del self._out[:sent]
        return True

    def close(self) -> None:
        # paho closes the socket as soon as it has written a DISCONNECT, here into
        # the buffer: send what is kept first, or the broker sees the connection
        # drop (and publishes the will) instead of a clean end.
        self.flush()
        self.sock.close()

    def pending(self) -> int:
        inner = self.sock.pending() if hasattr(self.sock, "pending") else 0
        return len(self._in) - self._at + inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


#: What a plain PUBACK says (MQTT 3.1.1 has no reason code; 5 leaves out "success").
#: Shared by every acknowledgement: the session's callback does not read them.
PUBACK_SUCCESS = ReasonCode(PacketTypes.PUBACK)
NO_PROPERTIES = Properties(PacketTypes.PUBACK)


class _Sent(paho.MQTTMessageInfo):
    """paho's record of a message sent, without the ``threading.Condition`` each one
    builds: nothing here waits on a message (the session's futures do)."""

    def __init__(self, mid: int) -> None:   # paho's fields, without the Condition
        self.mid = mid
        self._published = False
        self.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        self._iterpos = 0

    def _set_as_published(self) -> None:
        self._published = True

    def wait_for_publish(self, timeout: float | None = None) -> None:
        raise RuntimeError("atlas's transport does not wait on paho's messages")


class _Unacknowledged(paho.MQTTMessage):
    """A QoS 1 message on the wire, as paho keeps it to send again after a reconnection."""

    def __init__(self, mid: int, topic: bytes, payload: bytes, retain: bool) -> None:
        self.timestamp = paho.time_func()
        self.state = paho.mqtt_ms_wait_for_puback
        self.dup = False
        self.mid = mid
        self._topic = topic
        self.payload = payload
        self.qos = 1
        self.retain = retain
        self.info = _Sent(mid)
        self.properties = None


class BufferedClient(paho.Client):
    """paho's client on a :class:`BufferedSocket`, with a short path for PUBACKs.

    It overrides some of paho's private methods, stable since paho 2.0; anything
    but the common case goes to paho's own code.
    """

    #: Whether message_callback_add was ever used (atlas never does).
    _filtered = False
    #: Where a plain QoS 1 PUBLISH goes, read without paho (MQTT 3.1.1): topic bytes,
    #: payload, retain flag. None: every PUBLISH goes to paho and ``on_message``.
    on_received: Callable[[bytes, bytes, bool], None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: Messages paho queued behind a full window (mid, message), oldest first.
        self._queued: deque[tuple[int, paho.MQTTMessage]] = deque()

    def _create_socket(self) -> Any:  # paho's socket factory
        sock = super()._create_socket()
        if isinstance(sock, socket.socket):  # TLS sockets are socket subclasses too
            return BufferedSocket(sock)
        return sock

    def _packet_read(self) -> MQTTErrorCode:
        # paho reads a packet in three or more calls (type, length byte by byte, body)
        # and rebuilds its reading state after each: a packet whole in memory is taken
        # in one go. One split across reads goes to paho's own reading.
        sock = self._sock
        if not isinstance(sock, BufferedSocket) or self._in_packet["command"] != 0:
            return super()._packet_read()
        filled = sock.fill()
        if filled is False:
            return MQTTErrorCode.MQTT_ERR_AGAIN   # as paho says when the kernel has nothing
        whole = sock.packet() if filled else None
        if whole is None:
            return super()._packet_read()
        data, command, start, end = whole
        rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        if command == 0x40 and end - start == 2 and self._plain:    # a plain PUBACK
            rc = self._acknowledged((data[start] << 8) | data[start + 1])
        elif command & 0xF6 != 0x32 \
                or not self._received(sock, data, command, start, end):  # PUBLISH, QoS 1
            rc = self._handle(command, bytearray(data[start:end]))
        with self._msgtime_mutex:
            self._last_bytes_received = paho.time_func()
        return rc

    def _handle(self, command: int, body: bytearray) -> MQTTErrorCode:
        """A whole packet handled by paho, as if it had read it itself."""
        self._in_packet = {"command": command, "have_remaining": 1, "remaining_count": [],
                           "remaining_mult": 1, "remaining_length": len(body),
                           "packet": body, "to_process": 0, "pos": 0}
        try:
            rc = self._packet_handle()
        except MalformedPacket as error:
            self._easy_log(paho.MQTT_LOG_DEBUG, "Received malformed packet: %s", error)
            rc = MQTTErrorCode.MQTT_ERR_PROTOCOL
        self._in_packet = {"command": 0, "have_remaining": 0, "remaining_count": [],
                           "remaining_mult": 1, "remaining_length": 0,
                           "packet": bytearray(b""), "to_process": 0, "pos": 0}
        return rc

    def _received(self, sock: BufferedSocket, data: bytes, command: int, start: int,
                  end: int) -> bool:
        """A QoS 1 PUBLISH of MQTT 3.1.1 handed to :attr:`on_received` and acknowledged,
        without paho's message object, its callbacks and its queue for the PUBACK
        (a third of what a message cost the daemon to read); False leaves it to paho:
        MQTT 5 (properties), a malformed packet, a client set up otherwise."""
        received = self.on_received
        if received is None or self._protocol != paho.MQTTv311 or self._filtered \
                or self._manual_ack or not self._plain:
            return False
        # The body, data[start:end]: the topic's length and the topic, the message id,
        # the payload.
        at = start + 2 + ((data[start] << 8) | data[start + 1]) if end - start >= 2 else end
        if at + 2 > end:
            return False          # paho says what is wrong with it
        try:
            received(data[start + 2:at], data[at + 2:end], bool(command & 0x01))
        except Exception as error:  # as paho's own on_message call does
            self._easy_log(paho.MQTT_LOG_ERR, "Caught exception in on_message: %s", error)
            if not self.suppress_exceptions:
                raise
        if self._out_packet:
            # Acknowledgements leave in the order their messages came (MQTT 4.6):
            # behind what paho still holds.
            if not self._only_pubacks():
                self._send_puback((data[at] << 8) | data[at + 1])
                return True
            # paho's own PUBACKs (of a packet split across two reads) go into the
            # buffer first; else every acknowledgement after them would go through
            # paho's queue until the next write (7 % of them under a flood).
            self._packet_write()
        sock.send(bytes((0x40, 0x02, data[at], data[at + 1])))   # PUBACK
        self._call_socket_register_write()
        return True

    def _only_pubacks(self) -> bool:
        """paho holds nothing but PUBACKs: moving them to the buffer ends no session
        (a DISCONNECT would) and calls no callback (a QoS 0 PUBLISH would)."""
        return all(packet["command"] == 0x40 for packet in self._out_packet)

    def read_packets(self, limit: int) -> MQTTErrorCode:
        """Read and handle at most ``limit`` packets, as paho's ``loop_read`` does; that
        one reads as many as there are messages in flight, thousands under a flood,
        with nothing else running on the loop meanwhile."""
        for _ in range(limit):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc = self._packet_read()
            if rc > 0:
                return self._loop_rc_handle(rc)
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def publish(self, topic: str, payload: Any = None, qos: int = 0, retain: bool = False,
                properties: Properties | None = None) -> paho.MQTTMessageInfo:
        """paho's publish; a QoS 1 message of MQTT 3.1.1 with room in the window and
        nothing queued before it is built here and put in the socket's buffer, kept in
        paho's table of messages awaiting their PUBACK as paho keeps it (a message
        object, an info with a ``threading.Condition``, a queued packet and callbacks
        cost more than the daemon's whole handling of the event that published it)."""
        sock = self._sock
        if qos != 1 or properties is not None or self._protocol != paho.MQTTv311 \
                or not isinstance(sock, BufferedSocket) \
                or not isinstance(payload, bytes) or not topic or not self._plain \
                or self._max_inflight_messages <= 0 \
                or 0 < self._max_queued_messages <= len(self._out_messages):
            return self._queue(super().publish(topic, payload, qos, retain, properties))
        name = topic.encode("utf-8")
        self._raise_for_invalid_topic(name)
        mid = self._mid_generate()
        if mid in self._out_messages:    # 65,535 in flight: paho says what to do
            return self._queue(super().publish(topic, payload, qos, retain, properties))
        message = _Unacknowledged(mid, name, payload, retain)
        with self._out_message_mutex:
            self._out_messages[mid] = message
            if self._inflight_messages >= self._max_inflight_messages:
                # The window is full: it waits, as paho would keep it, until a PUBACK
                # makes room (:meth:`_update_inflight`).
                message.state = paho.mqtt_ms_queued
                self._queued.append((mid, message))
                return message.info
            self._inflight_messages += 1
        self._send_now(sock, message)
        return message.info

    def _send_now(self, sock: BufferedSocket, message: paho.MQTTMessage) -> MQTTErrorCode:
        """Write a QoS 1 PUBLISH into the socket's buffer, behind whatever paho holds."""
        if self._out_packet:      # paho's own packets leave first, in order
            return self._send_publish(message.mid, message._topic, message.payload, 1,
                                      message.retain, message.dup,
                                      properties=message.properties)
        name, payload = message._topic, message.payload
        packet = bytearray((0x32 | message.retain | message.dup << 3,))
        self._pack_remaining_length(packet, 4 + len(name) + len(payload))
        packet += len(name).to_bytes(2, "big")
        packet += name
        packet += message.mid.to_bytes(2, "big")
        packet += payload
        sock.send(packet)
        with self._msgtime_mutex:
            self._last_msg_out = paho.time_func()
        self._call_socket_register_write()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    def message_callback_add(self, sub: str, callback: Any) -> None:
        self._filtered = True
        super().message_callback_add(sub, callback)

    def _handle_on_message(self, message: paho.MQTTMessage) -> None:
        # paho matches each message against the filters of message_callback_add
        # (decoding its topic twice) before it calls on_message: without filters,
        # on_message is called straight away, as paho would.
        if self._filtered or self._on_message is None:
            super()._handle_on_message(message)
            return
        with self._in_callback_mutex:
            try:
                self._on_message(self, self._userdata, message)
            except Exception as error:
                self._easy_log(paho.MQTT_LOG_ERR, "Caught exception in on_message: %s", error)
                if not self.suppress_exceptions:
                    raise

    def _handle_pubackcomp(self, cmd: Literal["PUBACK", "PUBCOMP"]) -> MQTTErrorCode:
        packet = self._in_packet["packet"]
        if cmd != "PUBACK" or len(packet) != 2 or not self._plain:
            return super()._handle_pubackcomp(cmd)
        return self._acknowledged((packet[0] << 8) | packet[1])

    def _acknowledged(self, mid: int) -> MQTTErrorCode:
        """A plain PUBACK: what paho's ``_do_on_publish`` does (``on_publish``, the
        message forgotten, room in the window), without its version dispatch and
        extra locks per message."""
        with self._out_message_mutex:
            message = self._out_messages.get(mid)
            if message is None:
                return MQTTErrorCode.MQTT_ERR_SUCCESS   # acknowledged already
            if self._callback_api_version != CallbackAPIVersion.VERSION2:
                return self._do_on_publish(mid, PUBACK_SUCCESS, NO_PROPERTIES)
            on_publish = cast(CallbackOnPublish_v2 | None, self._on_publish)
            if on_publish is not None:
                with self._in_callback_mutex:
                    try:
                        on_publish(self, self._userdata, mid, PUBACK_SUCCESS, NO_PROPERTIES)
                    except Exception as error:  # as paho's own call does
                        self._easy_log(paho.MQTT_LOG_ERR, "Caught exception in on_publish: %s",
                                       error)
                        if not self.suppress_exceptions:
                            raise
            del self._out_messages[mid]
            message.info._set_as_published()
            if message.qos > 0:
                self._inflight_messages -= 1
                if self._max_inflight_messages > 0:
                    return self._update_inflight()
        return MQTTErrorCode.MQTT_ERR_SUCCESS

    @property
    def _plain(self) -> bool:
        """Nobody logs paho's packets: the short paths, which do not log, may be taken."""
        return self._logger is None and self.on_log is None

    def _messages_reconnect_reset_out(self) -> None:
        # After a reconnection paho decides again which messages wait: note those.
        super()._messages_reconnect_reset_out()
        self._queued = deque((mid, message) for mid, message in self._out_messages.items()
                             if message.state == paho.mqtt_ms_queued)

    def _queue(self, info: paho.MQTTMessageInfo) -> paho.MQTTMessageInfo:
        """Note a message paho queued behind a full window, for :meth:`_update_inflight`."""
        message = self._out_messages.get(info.mid)
        if message is not None and message.state == paho.mqtt_ms_queued:
            self._queued.append((info.mid, message))
        return info

    def _update_inflight(self) -> MQTTErrorCode:
        # paho looks through every unacknowledged message for a queued one, on every
        # PUBACK: with a window of IN_FLIGHT (a thousand) full and thousands queued
        # behind it, that search was two thirds of a flooding skill's time. The
        # queued messages are noted as paho queues them, oldest first: the next one
        # to send is the first of those still queued. Anything else goes to paho.
        if len(self._out_messages) <= self._inflight_messages:
            return MQTTErrorCode.MQTT_ERR_SUCCESS     # all of them are on the wire
        room = self._max_inflight_messages - self._inflight_messages
        queued = self._queued
        while room > 0:
            if not queued:       # none noted: whatever waits, paho's search finds it
                return super()._update_inflight()
            mid, message = queued[0]
            if self._out_messages.get(mid) is not message \
                    or message.state != paho.mqtt_ms_queued:
                queued.popleft()                 # gone, or sent again by paho meanwhile
                continue
            if message.qos != 1:
                return super()._update_inflight()
            queued.popleft()
            self._inflight_messages += 1
            message.state = paho.mqtt_ms_wait_for_puback
            sock = self._sock
            rc = self._send_now(sock, message) \
                if isinstance(sock, BufferedSocket) and message.properties is None \
                else self._send_publish(mid, message._topic, message.payload, message.qos,
                                        message.retain, message.dup,
                                        properties=message.properties)
            if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return rc
            room -= 1
        return MQTTErrorCode.MQTT_ERR_SUCCESS
