"""Starting the embedded broker as a child process and knowing when it is ready."""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import urlsplit

from .server import READY_PREFIX
from .settings import BrokerSettings


class BrokerProcessError(RuntimeError):
    pass


def terminate(process: subprocess.Popen[bytes] | subprocess.Popen[str],
              grace: float = 5.0) -> int:
    """SIGTERM, then SIGKILL after ``grace`` seconds; returns the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def _broker_command(settings: BrokerSettings) -> list[str]:
    command = [sys.executable, "-m", "atlas", "broker",
               "--host", settings.host, "--port", str(settings.port)]
    if settings.password_file is not None:
        command += ["--password-file", str(settings.password_file)]
    if settings.acl_file is not None:
        command += ["--acl-file", str(settings.acl_file)]
    if settings.allow_anonymous is not None:
        command.append("--allow-anonymous" if settings.allow_anonymous else "--no-anonymous")
    return command


def _read_ready(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


class EmbeddedBroker:
    """An amqtt broker in its own process::

        with EmbeddedBroker(port=0) as broker:   # 0: any free port
            connect_to(broker.url)
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 password_file: Path | None = None, acl_file: Path | None = None,
                 allow_anonymous: bool | None = None, start_timeout: float = 30.0,
                 stderr: IO[str] | int | None = None) -> None:
        self.settings = BrokerSettings(host, port, password_file, acl_file, allow_anonymous)
        self.settings.check()
        self.start_timeout = start_timeout
        self._stderr = stderr
        self._process: subprocess.Popen[str] | None = None
        self._url: str | None = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise BrokerProcessError("the broker is not running")
        return self._url

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def exited(self) -> int | None:
        """The exit code of a broker that was started and has stopped, else None."""
        return self._process.poll() if self._process is not None else None

    def restart(self) -> str:
        """Start a broker that died again, on the port it had: its clients know that
        URL, and reconnect to it by themselves."""
        if self._url is None:
            raise BrokerProcessError("the broker was never started")
        port = urlsplit(self._url).port
        if self._process is not None:
            terminate(self._process)
        self.settings = replace(self.settings, port=port or self.settings.port)
        return self.start()

    def start(self) -> str:
        """Start the process and wait until it accepts connections; returns its URL."""
        self._process = subprocess.Popen(
            _broker_command(self.settings), stdout=subprocess.PIPE, stderr=self._stderr,
            stdin=subprocess.DEVNULL, text=True,
            # Its own process group: a Ctrl-C in the terminal reaches the owner only,
            # which stops the broker last, after the clients have said goodbye.
            process_group=0)
        assert self._process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        # The reader thread keeps draining stdout after the ready line, so the child
        # can never block on a full pipe.
        threading.Thread(target=_read_ready, args=(self._process.stdout, lines),
                         daemon=True, name="broker-stdout").start()
        while True:
            try:
                line = lines.get(timeout=self.start_timeout)
            except queue.Empty:
                self.stop()
                raise BrokerProcessError(
                    f"the broker did not start within {self.start_timeout} s") from None
            if line is None:
                code = self._process.wait()
                raise BrokerProcessError(f"the broker exited with code {code} before it was ready")
            if line.startswith(READY_PREFIX):
                self._url = line[len(READY_PREFIX):].strip()
                return self._url

    def stop(self) -> int | None:
        if self._process is None:
            return None
        code = terminate(self._process)
        self._url = None
        return code

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
