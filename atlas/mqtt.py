"""MQTT connection habits shared by the daemon, the SDK, the bridge and the CLI.

One place decides how atlas connects: broker URLs, TLS, ``TCP_NODELAY`` (without it a
QoS 1 request/reply through a broker stalls ~40 ms per hop on Nagle and delayed
ACKs), reconnection backoff, and publishing protocol messages.
"""

from __future__ import annotations

import socket
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

import aiomqtt

from .protocol import Message

NODELAY = (socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

#: QoS used for every dialog, channel and intent message.
QOS = 1


@dataclass(frozen=True)
class BrokerAddress:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    #: MQTT protocol version: 4 (3.1.1) or 5.
    protocol: int = 4

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """``mqtt://user:pass@host:port`` or ``mqtts://…``; a bare ``host:port`` works too.

        ``?protocol=5`` speaks MQTT 5 instead of 3.1.1.
        """
        if "://" not in url:
            url = "mqtt://" + url
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"unsupported broker scheme {parts.scheme!r} (use mqtt:// or mqtts://)")
        tls = parts.scheme in ("mqtts", "ssl")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError:
            raise ValueError(f"invalid broker port in {cls.redact(url)!r}") from None
        protocol = parse_qs(parts.query).get("protocol", ["4"])[-1]
        if protocol not in ("4", "5", "3.1.1"):
            raise ValueError(f"unsupported MQTT protocol {protocol!r} (use 4 for 3.1.1, or 5)")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            protocol=5 if protocol == "5" else 4,
        )

    def __str__(self) -> str:
        user = f"{self.username}:***@" if self.username else ""
        version = "?protocol=5" if self.protocol == 5 else ""
        return f"{'mqtts' if self.tls else 'mqtt'}://{user}{self.host}:{self.port}{version}"

    @staticmethod
    def redact(url: str) -> str:
        parts = urlsplit(url)
        if parts.password:
            return url.replace(f":{parts.password}@", ":***@")
        return url


def client(address: BrokerAddress, name: str, *, will: Message | None = None,
           clean_session: bool = True) -> aiomqtt.Client:
    """An aiomqtt client with atlas's habits; ``name`` prefixes a unique client id."""
    v5 = address.protocol == 5
    return aiomqtt.Client(
        address.host,
        address.port,
        username=address.username,
        password=address.password,
        identifier=f"{name}-{uuid.uuid4().hex[:8]}",
        will=aiomqtt.Will(will.topic(), will.to_payload(), qos=QOS) if will else None,
        tls_context=ssl.create_default_context() if address.tls else None,
        socket_options=[NODELAY],
        # MQTT 5 has clean start instead of clean session (paho refuses both).
        protocol=aiomqtt.ProtocolVersion.V5 if v5 else aiomqtt.ProtocolVersion.V311,
        clean_session=None if v5 else clean_session,
        keepalive=30,
    )


async def publish(mqtt: aiomqtt.Client, message: Message, *, retain: bool = False) -> None:
    await mqtt.publish(message.topic(), message.to_payload(), qos=QOS, retain=retain)


def backoff(first: float = 0.2, most: float = 5.0) -> Iterator[float]:
    """Delays between reconnection attempts: doubling from ``first`` up to ``most``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)
