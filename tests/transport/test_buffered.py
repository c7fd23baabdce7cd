"""The buffered client's short path for acknowledgements, against paho's own behaviour."""

from __future__ import annotations

import random
import struct
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from atlas.transport.buffered import BufferedClient, BufferedSocket


class Wire:
    """A socket whose incoming bytes the test writes and whose outgoing ones it reads."""

    def __init__(self) -> None:
        self.incoming = b""
        self.outgoing = b""
        self.reads = 0

    def recv(self, size: int) -> bytes:
        self.reads += 1
        data, self.incoming = self.incoming[:size], self.incoming[size:]
        if not data:
            raise BlockingIOError
        return data

    def send(self, data: bytes) -> int:
        self.outgoing += bytes(data)
        return len(data)

    def pending(self) -> int:
        return 0

    def close(self) -> None:
        pass


def connected(protocol: int = paho.MQTTv311, window: int = 100
              ) -> tuple[BufferedClient, Wire, list[int]]:
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id="t", protocol=protocol)
    client.max_inflight_messages_set(window)
    wire = Wire()
    client._sock = BufferedSocket(wire)  # as if connected: paho's state, without a broker
    client._state = paho._ConnectionState.MQTT_CS_CONNECTED
    acknowledged: list[int] = []
    client.on_publish = lambda _c, _u, mid, *_: acknowledged.append(mid)
    return client, wire, acknowledged


def read_all(client: BufferedClient, wire: Wire) -> None:
    sock = client.socket()
    assert isinstance(sock, BufferedSocket)
    while wire.incoming or sock.buffered:
        sock.readable()   # as the session's selector says
        assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS


def write_all(client: BufferedClient) -> None:
    client.loop_write()
    sock = client.socket()
    assert isinstance(sock, BufferedSocket)
    sock.flush()


def puback(mid: int, *rest: int) -> bytes:
    body = struct.pack("!H", mid) + bytes(rest)
    return bytes([0x40, len(body)]) + body


def published_mids(wire: Wire) -> list[int]:
    """The message ids of the QoS 1 PUBLISH packets written so far."""
    mids, data = [], wire.outgoing
    while data:
        length, start = data[1], 2       # short packets: a one-byte remaining length
        if data[0] & 0xF0 == 0x30:
            topic_length = struct.unpack("!H", data[start:start + 2])[0]
            mids.append(struct.unpack("!H", data[start + 2 + topic_length:][:2])[0])
        data = data[start + length:]
    return mids


def test_a_puback_completes_its_message_once() -> None:
    client, wire, acknowledged = connected()
    mids = [client.publish("a/b", b"{}", qos=1).mid for _ in range(3)]
    write_all(client)
    wire.incoming = puback(mids[1]) + puback(mids[0]) + puback(mids[1]) + puback(999)
    read_all(client, wire)
    assert acknowledged == [mids[1], mids[0]]     # a repeat, or an unknown id: nothing
    assert list(client._out_messages) == [mids[2]]


def test_a_wake_up_asks_the_kernel_once_unless_it_filled_the_read() -> None:
    client, wire, acknowledged = connected()
    sock = client.socket()
    assert isinstance(sock, BufferedSocket)
    mids = [client.publish("a/b", b"{}", qos=1).mid for _ in range(3)]
    write_all(client)
    wire.incoming = puback(mids[0]) + puback(mids[1])
    sock.readable()
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS
    # Both packets came in one read, and no second read asked for more.
    assert acknowledged == mids[:2] and wire.reads == 1
    wire.incoming = puback(mids[2])
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS
    assert acknowledged == mids[:2] and wire.reads == 1   # the selector has not said so
    sock.readable()
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS
    assert acknowledged == mids and wire.reads == 2


def test_a_message_waiting_for_room_in_the_window_leaves_on_the_next_puback() -> None:
    client, wire, acknowledged = connected(window=1)
    first, second = (client.publish("a/b", b"{}", qos=1) for _ in range(2))
    write_all(client)
    assert published_mids(wire) == [first.mid]   # the second waits for room
    wire.incoming = puback(first.mid)
    read_all(client, wire)
    write_all(client)
    assert published_mids(wire) == [first.mid, second.mid]
    wire.incoming = puback(second.mid)
    read_all(client, wire)
    assert acknowledged == [first.mid, second.mid] and not client._out_messages


@pytest.mark.parametrize("reason", [0x00, 0x10])   # success, "no matching subscribers"
def test_an_mqtt5_puback_with_a_reason_code_goes_to_paho(reason: int) -> None:
    client, wire, _ = connected(protocol=paho.MQTTv5)
    codes: list[Any] = []
    client.on_publish = lambda _c, _u, mid, code, _p: codes.append((mid, code.value))
    mid = client.publish("a/b", b"{}", qos=1).mid
    write_all(client)
    wire.incoming = puback(mid, reason, 0)          # reason code, empty properties
    read_all(client, wire)
    assert codes == [(mid, reason)]


def publish_packet(topic: str, payload: bytes, mid: int) -> bytes:
    name = topic.encode()
    body = struct.pack("!H", len(name)) + name + struct.pack("!H", mid) + payload
    length, header = len(body), bytearray([0x32])
    while True:                      # the remaining length, 7 bits a byte
        byte, length = length % 128, length // 128
        header.append(byte | (0x80 if length else 0))
        if not length:
            return bytes(header) + body


class Chunked(Wire):
    """A wire whose reads return at most ``size`` bytes: packets split anywhere."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def recv(self, size: int) -> bytes:
        return super().recv(min(size, self.size))


@pytest.mark.parametrize("short", [False, True], ids=["paho", "short path"])
@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 64, 300, 65536])
def test_packets_split_anyhow_across_reads_arrive_whole_and_in_order(chunk: int,
                                                                      short: bool) -> None:
    client, _, acknowledged = connected()
    wire = Chunked(chunk)
    client._sock = BufferedSocket(wire)
    received: list[tuple[str, bytes]] = []
    client.on_message = lambda _c, _u, message: received.append(
        (message.topic, bytes(message.payload)))
    if short:   # whole packets skip paho's message; split ones still take paho's path
        client.on_received = lambda topic, payload, _: received.append(
            (topic.decode(), payload))
    mids = [client.publish("a/b", b"{}", qos=1).mid for _ in range(3)]
    write_all(client)
    sent = [(f"t/{n}", b"x" * size) for n, size in enumerate((0, 5, 200, 20_000, 3))]
    wire.incoming = (publish_packet(*sent[0], 1) + puback(mids[0]) + publish_packet(*sent[1], 2)
                     + publish_packet(*sent[2], 3) + puback(mids[1]) + puback(mids[2])
                     + publish_packet(*sent[3], 4) + publish_packet(*sent[4], 5))
    read_all(client, wire)
    assert received == sent
    assert acknowledged == mids
    wire.outgoing = b""
    write_all(client)                # a PUBACK for each message received
    assert wire.outgoing == b"".join(puback(mid) for mid in range(1, 6))


class Reads(Wire):
    """A wire whose reads return the given chunks, one per read."""

    def __init__(self, *chunks: bytes) -> None:
        super().__init__()
        self.chunks = list(chunks)
        self.incoming = b"".join(chunks)

    def recv(self, size: int) -> bytes:
        if not self.chunks:
            raise BlockingIOError
        chunk = self.chunks.pop(0)
        self.incoming = self.incoming[len(chunk):]
        return chunk


def test_acknowledgements_after_a_split_packet_keep_the_short_path_and_the_order() -> None:
    """paho reads a packet split across two reads and queues its PUBACK; the whole
    packets after it are acknowledged in the socket's buffer behind that PUBACK, not
    through paho's queue."""
    client, _, _ = connected()
    first, second, third = (publish_packet(f"t/{n}", b"{}", n + 1) for n in range(3))
    wire = Reads(first[:4], first[4:] + second + third)
    client._sock = BufferedSocket(wire)
    received: list[bytes] = []
    client.on_message = lambda _c, _u, message: received.append(message._topic)
    client.on_received = lambda topic, _payload, _retain: received.append(topic)
    # As in a session: paho queues what it sends and asks for a write (without this
    # callback paho writes at once).
    client.on_socket_register_write = lambda *_: None
    read_all(client, wire)
    assert received == [b"t/0", b"t/1", b"t/2"]
    sock = client.socket()
    assert isinstance(sock, BufferedSocket)
    # paho's PUBACK for the split packet went into the buffer first, then the others:
    # nothing is left in paho's queue.
    assert not client._out_packet
    assert sock._out == puback(1) + puback(2) + puback(3)


def test_the_short_path_takes_plain_qos1_messages_of_mqtt311_only() -> None:
    heard: list[str] = []
    for protocol in (paho.MQTTv311, paho.MQTTv5):
        client, wire, _ = connected(protocol)
        client.on_message = lambda _c, _u, message: heard.append("paho " + message.topic)
        client.on_received = lambda topic, _p, retain: heard.append(
            f"short {topic.decode()}{' retained' if retain else ''}")
        packet = publish_packet("a/b", b"{}", 7)
        retained = bytes([packet[0] | 0x01]) + publish_packet("c", b"", 8)[1:]
        qos0 = bytes([0x30, 3, 0, 1]) + b"d"
        # MQTT 5 has properties after the message id: an empty set, one byte.
        wire.incoming = (packet + retained + qos0 if protocol == paho.MQTTv311 else
                         publish_packet("a/b", b"\x00{}", 7))
        read_all(client, wire)
        write_all(client)
        assert wire.outgoing == (puback(7) + puback(8) if protocol == paho.MQTTv311
                                 else puback(7))
    assert heard == ["short a/b", "short c retained", "paho d", "paho a/b"]


def test_a_truncated_publish_goes_to_paho_which_refuses_it() -> None:
    client, wire, _ = connected()
    client.on_received = lambda *_: pytest.fail("a malformed packet was delivered")
    wire.incoming = bytes([0x32, 3, 0, 5, ord("a")])   # a topic of 5 bytes in 3
    sock = client.socket()
    assert isinstance(sock, BufferedSocket)
    sock.readable()
    assert client.loop_read() != paho.MQTTErrorCode.MQTT_ERR_SUCCESS


def test_a_length_of_more_than_four_bytes_is_refused_as_paho_does() -> None:
    for length in ([0xFF, 0xFF, 0xFF, 0xFF, 0x01], [0x80, 0x80, 0x80, 0x80, 0x00]):
        for first in (b"", publish_packet("ok", b"", 1)):   # first of a read, or not
            client, wire, _ = connected()
            wire.incoming = first + bytes([0x32, *length]) + b"x" * 10
            if first:
                assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS
            assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_PROTOCOL


def test_filtered_callbacks_still_take_their_messages() -> None:
    client, wire, _ = connected()
    taken: list[str] = []
    client.on_message = lambda _c, _u, message: taken.append("any " + message.topic)
    client.message_callback_add("dev/+", lambda _c, _u, message: taken.append(message.topic))
    wire.incoming = publish_packet("dev/lamp", b"on", 1) + publish_packet("other", b"", 2)
    read_all(client, wire)
    assert taken == ["dev/lamp", "any other"]


class Closed(Wire):
    def recv(self, size: int) -> bytes:
        return b""


class Broken(Wire):
    def recv(self, size: int) -> bytes:
        raise ConnectionResetError


@pytest.mark.parametrize("wire", [Closed(), Broken()])
def test_a_closed_or_broken_connection_is_lost_as_paho_says(wire: Wire) -> None:
    client, _, _ = connected()
    client._sock = BufferedSocket(wire)
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_CONN_LOST


def test_nothing_to_read_yet_is_not_an_error() -> None:
    client, wire, _ = connected()
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS
    wire.incoming = publish_packet("a", b"", 1)[:3]      # a packet not all here yet
    assert client.loop_read() == paho.MQTTErrorCode.MQTT_ERR_SUCCESS


def test_a_short_path_publish_writes_what_paho_would_and_completes_on_its_puback() -> None:
    client, wire, acknowledged = connected()
    plain, _, _ = connected()
    plain.on_log = lambda *_: None            # paho's own publish, for comparison
    for retain in (False, True):
        ours = client.publish("a/b", b'{"x":1}', qos=1, retain=retain)
        theirs = plain.publish("a/b", b'{"x":1}', qos=1, retain=retain)
        assert (ours.mid, ours.rc) == (theirs.mid, theirs.rc)
    write_all(client)
    write_all(plain)
    plain_wire = plain.socket().sock  # type: ignore[union-attr]
    assert wire.outgoing == plain_wire.outgoing == (
        publish_packet("a/b", b'{"x":1}', 1) + bytes([0x33]) + publish_packet(
            "a/b", b'{"x":1}', 2)[1:])
    assert sorted(client._out_messages) == [1, 2] and client._inflight_messages == 2
    wire.incoming = puback(2) + puback(1)
    read_all(client, wire)
    assert acknowledged == [2, 1] and not client._out_messages
    assert client._inflight_messages == 0


def test_a_short_path_publish_is_sent_again_after_a_reconnection() -> None:
    client, wire, acknowledged = connected()
    mid = client.publish("a/b", b"{}", qos=1).mid
    write_all(client)
    client._messages_reconnect_reset_out()       # the connection was lost
    wire.outgoing = b""
    wire.incoming = bytes([0x20, 0x02, 0x00, 0x00])   # CONNACK of the new one
    read_all(client, wire)
    write_all(client)
    again = publish_packet("a/b", b"{}", mid)
    assert wire.outgoing == bytes([again[0] | 0x08]) + again[1:]   # DUP set
    wire.incoming = puback(mid)
    read_all(client, wire)
    assert acknowledged == [mid] and not client._out_messages


def test_publishing_keeps_its_order_behind_what_paho_still_holds() -> None:
    client, wire, _ = connected()
    client.subscribe("x/#", qos=1)              # a packet in paho's queue, unwritten
    client.publish("a/b", b"1", qos=1)          # so these go behind it, through paho
    client.publish("a/b", b"2", qos=0)
    client.publish("a/b", b"3", qos=1)
    write_all(client)
    client.publish("a/b", b"4", qos=1)          # paho holds nothing: the short path
    write_all(client)
    kinds, data = [], wire.outgoing
    while data:
        kinds.append((data[0] & 0xF0, data[2 + data[1] - 1:2 + data[1]]))
        data = data[2 + data[1]:]
    assert kinds == [(0x80, b"\x01"), (0x30, b"1"), (0x30, b"2"), (0x30, b"3"), (0x30, b"4")]


class PahoSearch(BufferedClient):
    """The buffered client with paho's own search for queued messages."""

    _update_inflight = paho.Client._update_inflight


@pytest.mark.parametrize("seed", range(8))
def test_queued_messages_leave_as_paho_would_send_them(seed: int) -> None:
    """A full window, many queued behind it, acknowledgements in any order (and, for
    half the seeds, a reconnection midway, then more messages): the same packets
    leave as with paho's own search, and never more than the window at once before
    the reconnection (after it, paho sends every unacknowledged message at once).
    The third client logs, which turns every short path off: paho's own publish,
    queue and acknowledgements."""
    outputs = []
    for kind, logging in ((BufferedClient, False), (PahoSearch, False), (BufferedClient, True)):
        client = kind(CallbackAPIVersion.VERSION2, client_id="t")
        if logging:
            client.on_log = lambda *_: None
        client.max_inflight_messages_set(4)
        wire = Wire()
        client._sock = BufferedSocket(wire)
        client._state = paho._ConnectionState.MQTT_CS_CONNECTED
        for n in range(30):
            client.publish("a/b", str(n).encode(), qos=1)
        write_all(client)
        steps = random.Random(seed)
        reconnected = False
        while client._out_messages:
            flight = [m.mid for m in client._out_messages.values()
                      if m.state == paho.mqtt_ms_wait_for_puback]
            assert reconnected or len(flight) == min(4, len(client._out_messages))
            if not reconnected and seed % 2 and len(client._out_messages) == 20:
                reconnected = True
                client._messages_reconnect_reset_out()
                wire.incoming = bytes([0x20, 0x02, 0x00, 0x00])   # CONNACK
                read_all(client, wire)
                for n in range(5):       # queued behind the ones sent again
                    client.publish("a/b", f"late {n}".encode(), qos=1)
            else:
                wire.incoming = puback(steps.choice(flight))
            read_all(client, wire)
            write_all(client)
        outputs.append(wire.outgoing)
    assert outputs[0] == outputs[1] == outputs[2]
    assert published_mids(wire)[:4] == [1, 2, 3, 4]
