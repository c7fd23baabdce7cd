"""The bridge's listening socket."""

from __future__ import annotations

import socket

import pytest

from atlas.bridge import BridgeError, listen


def test_accepted_sockets_do_not_wait_on_nagle() -> None:
    # Without TCP_NODELAY an answer sent right after "thinking" waits for the client's
    # delayed ACK: ~40 ms on every reply.
    server = listen("127.0.0.1", 0)
    server.setblocking(True)
    try:
        with socket.create_connection(server.getsockname()[:2]):
            accepted, _ = server.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
                assert accepted.proto == socket.IPPROTO_TCP
    finally:
        server.close()


def test_a_taken_port_is_a_bridge_error() -> None:
    server = listen("127.0.0.1", 0)
    try:
        with pytest.raises(BridgeError, match=r"cannot listen on 127\.0\.0\.1"):
            listen("127.0.0.1", server.getsockname()[1])
    finally:
        server.close()
