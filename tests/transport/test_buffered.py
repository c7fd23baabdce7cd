"""The buffered client's short path for acknowledgements, against paho's own behaviour."""

from __future__ import annotations

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

    def recv(self, size: int) -> bytes:
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
        client.loop_read()


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
