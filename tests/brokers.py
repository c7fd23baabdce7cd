"""Real brokers for the tests: the embedded amqtt one and a Mosquitto 2 process.

Both start on free ports, so test runs never collide with each other or with a
system broker on 1883.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def mosquitto_conf(port: int, folder: Path, *, extra: str = "") -> Path:
    path = folder / f"mosquitto-{port}.conf"
    path.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        "persistence false\n"
        # Without it Mosquitto's own sockets wait on Nagle: ~40 ms per QoS 1 hop.
        "set_tcp_nodelay true\n"
        "log_dest stderr\n"
        "log_type error\n"
        "log_type warning\n"
        f"{extra}")
    return path


class Mosquitto:
    """``with Mosquitto(folder) as broker: broker.url``; fails loudly when the binary is missing."""

    def __init__(self, folder: Path, *, extra: str = "", start_timeout: float = 15.0) -> None:
        self.folder = folder
        self.extra = extra
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> str:
        if not os.access(MOSQUITTO, os.X_OK):
            raise RuntimeError(f"mosquitto not found at {MOSQUITTO} (apt-get install mosquitto)")
        # Another process may grab the free port between the probe and mosquitto's
        # bind: try a few ports before giving up.
        for _ in range(5):
            self.port = free_port()
            conf = mosquitto_conf(self.port, self.folder, extra=self.extra)
            self.process = subprocess.Popen([MOSQUITTO, "-c", str(conf)],
                                            stdin=subprocess.DEVNULL)
            deadline = time.monotonic() + self.start_timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                if accepts("127.0.0.1", self.port):
                    return self.url
                time.sleep(0.05)
            self.stop()
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
