"""``atlas up``'s supervisor, with real child processes."""

from __future__ import annotations

import os
import threading
import time

from atlas.cli.supervise import Supervisor


def test_a_crashed_skill_is_started_again_and_an_essential_exit_stops_all() -> None:
    supervisor = Supervisor()
    # ``python -m atlas --version`` exits at once: a skill that keeps crashing.
    flaky = supervisor.spawn("skill flaky", ["--version"], essential=False)
    first = flaky.process.pid
    stopping = threading.Event()
    result: list[int] = []
    watcher = threading.Thread(
        target=lambda: result.append(supervisor.watch(stopping.is_set, 0.05)))
    watcher.start()
    try:
        deadline = time.monotonic() + 60
        while flaky.crashes < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flaky.crashes >= 2, "the crashed child was not started again"
        assert flaky.process.pid != first
    finally:
        stopping.set()
        watcher.join(30)
        supervisor.stop(grace=5)
    assert result == [0]

    essential = Supervisor()
    essential.spawn("daemon", ["--version"], essential=True)
    assert essential.watch(threading.Event().is_set, 0.05) == 1
    essential.stop(grace=5)


def test_a_nicer_child_is_started_again_as_nice() -> None:
    supervisor = Supervisor()
    # A process that stays: the embedded broker on any free port.
    child = supervisor.spawn("skill slow", ["broker", "--port", "0"], essential=False, nice=3)
    here = os.getpriority(os.PRIO_PROCESS, 0)
    stopping = threading.Event()
    watcher = threading.Thread(target=lambda: supervisor.watch(stopping.is_set, 0.05))
    watcher.start()
    try:
        assert os.getpriority(os.PRIO_PROCESS, child.process.pid) == min(19, here + 3)
        first = child.process.pid
        child.process.kill()
        deadline = time.monotonic() + 60
        while (child.process.pid == first or child.process.poll() is not None) \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.process.pid != first, "the killed child was not started again"
        assert os.getpriority(os.PRIO_PROCESS, child.process.pid) == min(19, here + 3)
    finally:
        stopping.set()
        watcher.join(30)
        supervisor.stop(grace=5)
