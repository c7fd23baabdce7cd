"""A real Redis for the tests: Debian's redis-server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self

import redis
from brokers import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """``with RedisServer(folder) as server: server.url``; nothing saved to disk."""

    def __init__(self, folder: Path, start_timeout: float = 15.0) -> None:
        self.folder = folder
        self.start_timeout = start_timeout
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def start(self) -> str:
        if not os.access(REDIS_SERVER, os.X_OK):
            # Never a skip: CI installs it, and so should you.
            raise RuntimeError(f"redis-server not found at {REDIS_SERVER} "
                               "(apt-get install redis-server)")
        for _ in range(5):     # the free port may be taken before redis binds it
            self.port = free_port()
            self.process = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                 "--save", "", "--appendonly", "no", "--dir", str(self.folder),
                 "--daemonize", "no", "--loglevel", "warning"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + self.start_timeout
            while self.process.poll() is None and time.monotonic() < deadline:
                try:
                    if self.client().ping():
                        return self.url
                except redis.ConnectionError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("redis-server did not start")

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
