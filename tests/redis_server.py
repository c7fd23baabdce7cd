"""A real Redis for the tests: Debian's redis-server on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess

import redis
from brokers import LoopbackServer

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer(LoopbackServer):
    """Debian's redis-server; nothing saved to disk."""

    binary = REDIS_SERVER
    package = "redis-server"
    stdout = subprocess.DEVNULL

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, decode_responses=True)

    def command(self, port: int) -> list[str]:
        return [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.folder), "--daemonize", "no",
                "--loglevel", "warning"]

    def ready(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.ConnectionError:
            return False
