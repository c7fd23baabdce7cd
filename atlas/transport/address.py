"""Where a broker is (``mqtt://user:pass@host:port``) and how patiently to reach it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit


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


def backoff(first: float = 0.2, most: float = 5.0) -> Iterator[float]:
    """Delays between reconnection attempts: doubling from ``first`` up to ``most``."""
    delay = first
    while True:
        yield delay
        delay = min(delay * 2, most)
