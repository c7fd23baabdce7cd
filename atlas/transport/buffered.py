"""A socket that batches paho's small reads and writes into few system calls.

paho reads a packet in three or more ``recv`` calls (one byte of type, the length
byte by byte, then the rest) and writes each packet with its own ``send``. Under
load that is most of a process's time in system calls. This wrapper reads up to
64 KiB at a time and serves paho from memory, and keeps what paho sends until the
session flushes it, once per turn of the event loop, in one ``send``.
"""

from __future__ import annotations

import socket
from typing import Any

import paho.mqtt.client as paho

#: Bytes asked of the kernel per read.
READ_SIZE = 65536


class BufferedSocket:
    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._in = bytearray()
        self._out = bytearray()

    @property
    def buffered(self) -> bool:
        """Bytes already read from the kernel that paho has not taken yet."""
        return bool(self._in)

    @property
    def unsent(self) -> int:
        return len(self._out)

    def recv(self, size: int) -> bytes:
        if not self._in:
            data = self.sock.recv(READ_SIZE)  # BlockingIOError goes to paho as it is
            if not data:
                return b""  # the peer closed
            self._in += data
        chunk = bytes(self._in[:size])
        del self._in[:size]
        return chunk

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

    def pending(self) -> int:
        inner = self.sock.pending() if hasattr(self.sock, "pending") else 0
        return len(self._in) + inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


class BufferedClient(paho.Client):
    """paho's client on a :class:`BufferedSocket`."""

    def _create_socket(self) -> Any:  # paho's socket factory (private, stable since 2.0)
        sock = super()._create_socket()
        if isinstance(sock, socket.socket):  # TLS sockets are socket subclasses too
            return BufferedSocket(sock)
        return sock
