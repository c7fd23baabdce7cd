"""The logic behind ``atlas up``: children processes, watched and stopped in order."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ..broker import BrokerProcessError, EmbeddedBroker
from ..pytlas import is_pytlas_skill

log = logging.getLogger("atlas.up")

#: Seconds children get to stop after SIGTERM before SIGKILL.
GRACE = 5.0
#: A crashed skill or bridge is started again after this many seconds, doubled at
#: each crash in a row, up to RESTART_MOST; a child that ran STABLE seconds starts over.
RESTART_FIRST = 1.0
RESTART_MOST = 30.0
STABLE = 60.0


def find_skills(folder: Path) -> list[Path]:
    """Skill folders (with skill.py or __main__.py, or pytlas code) and skill files
    directly in ``folder``."""
    if not folder.is_dir():
        return []
    def runnable(path: Path) -> bool:
        if path.is_dir():
            return ((path / "skill.py").is_file() or (path / "__main__.py").is_file()
                    or is_pytlas_skill(path))
        return path.suffix == ".py"

    return [path for path in sorted(folder.iterdir())
            if not path.name.startswith(("_", ".")) and runnable(path)]


@dataclass
class Child:
    name: str
    arguments: list[str]
    process: subprocess.Popen[bytes]
    #: The stack cannot work without it: its exit stops everything.
    essential: bool
    where: str = ""
    started: float = field(default_factory=time.monotonic)
    crashes: int = 0
    #: When a crashed child is due to start again (None: running, or essential).
    restart_at: float | None = None
    #: Environment variables of this child only (its own broker login).
    env: Mapping[str, str] = field(default_factory=dict)
    #: How much nicer (lower CPU priority) than ``atlas up`` it runs.
    nice: int = 0


@dataclass
class Supervisor:
    """Starts ``python -m atlas …`` children and stops them (last started, first stopped)."""

    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    children: list[Child] = field(default_factory=list)
    #: The embedded broker (its owner starts and stops it): started again on its port
    #: if it dies, the children reconnecting to the URL they were given.
    broker: EmbeddedBroker | None = None

    def spawn(self, name: str, arguments: list[str], *, essential: bool,
              where: str = "", env: Mapping[str, str] | None = None, nice: int = 0) -> Child:
        own = dict(env or {})
        child = Child(name, arguments, self._start(arguments, own, nice), essential, where,
                      env=own, nice=nice)
        self.children.append(child)
        return child

    def _start(self, arguments: list[str], env: Mapping[str, str],
               nice: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "atlas", *arguments], env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            # Own process group: a Ctrl-C in the terminal reaches ``atlas up`` only,
            # which then stops the children in order (skills say bye before the broker goes).
            process_group=0)
        if nice:
            # Set as the interpreter starts, before it runs a thread: those it starts, and
            # its own children, inherit it. (Lowering a priority needs no privilege.)
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, process.pid,
                               os.getpriority(os.PRIO_PROCESS, 0) + nice)
        return process

    def watch(self, stopping: Callable[[], bool], poll: float = 0.2) -> int:
        """Wait until ``stopping()`` says so (0) or an essential child exits (1).

        A child that is not essential (any more) and exits is started again, with a
        growing delay; the broker at once, and if it cannot start, everything stops (1).
        ``stopping`` is polled, not waited on: a signal handler can set what it reads
        without taking a lock.
        """
        while True:
            time.sleep(poll)
            if stopping():
                break
            if self.broker is not None and (exited := self.broker.exited()) is not None:
                log.warning("the embedded broker exited with code %s: starting it again",
                            exited)
                try:
                    self.broker.restart()
                except BrokerProcessError as error:
                    log.error("the embedded broker did not start again (%s): stopping "
                              "everything", error)
                    return 1
            now = time.monotonic()
            for child in self.children:
                if child.restart_at is not None:
                    if now >= child.restart_at:
                        log.info("starting %s again", child.name)
                        child.process = self._start(child.arguments, child.env, child.nice)
                        child.started, child.restart_at = now, None
                    continue
                code = child.process.poll()
                if code is None:
                    continue
                if child.essential:
                    log.error("%s exited with code %s: stopping everything", child.name, code)
                    return 1
                child.crashes = child.crashes + 1 if now - child.started < STABLE else 1
                delay = min(RESTART_MOST, RESTART_FIRST * 2 ** (child.crashes - 1))
                child.restart_at = now + delay
                log.warning("%s exited with code %s; starting it again in %.0f s",
                            child.name, code, delay)
        return 0

    def stop(self, grace: float = GRACE, say: Callable[[str], None] = log.info) -> None:
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + grace
        for child in reversed(self.children):
            try:
                child.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                say(f"{child.name} did not stop within {grace:.0f} s: killed")
                child.process.kill()
                child.process.wait()
