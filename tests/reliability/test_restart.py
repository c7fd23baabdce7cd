"""``kill -9`` of the daemon mid-conversation: the next daemon serves every sid at once.

Nothing is done on the channels' side: no ``channel/create`` again, the same sids,
the same subscriptions. The skill is an SDK skill (it re-pongs on the new daemon's
ping); the daemon is a process, killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from atlas.channel import Channel
from atlas.core.phrases import say
from atlas.protocol import ChannelAsk, ChannelShow, ChannelTerminate, Reason, Skills

from .peers import DaemonProcess, colors_skill, wait_skills, write_config


@dataclass
class Served:
    """One configuration's daemons, started one after another, and the skill they serve."""

    config: Path
    skill: str
    calls: list[tuple[str, str, str | None]]
    listed: Skills | None = None
    daemons: list[DaemonProcess] = field(default_factory=list)

    def start(self) -> None:
        self.daemons.append(DaemonProcess(self.config).start())

    def kill(self) -> None:
        """SIGKILL of the running daemon: nothing saved on the way out."""
        self.daemons[-1].kill()

    def asked_and_answered(self, answer: str) -> bool:
        """The skill asked a color, then was called with ``answer`` under the same cid."""
        (_, asked_cid, _), (_, answer_cid, choice) = \
            [c for c in self.calls if c[0] == "pick_color"]
        return answer_cid == asked_cid and choice == answer


@contextlib.asynccontextmanager
async def served(broker_url: str, tmp_path: Path, *, slow: bool = False
                 ) -> AsyncIterator[Served]:
    """A daemon process and the colors skill it serves, listed; every daemon stopped
    at the end."""
    name = f"colors-{uuid.uuid4().hex[:6]}"
    running = Served(write_config(tmp_path, broker_url), name, [])
    skill = colors_skill(name, running.calls, slow=slow)
    running.start()
    try:
        async with skill.connect(broker_url) as connected:
            serving = asyncio.create_task(connected.serve())
            try:
                running.listed = await wait_skills(broker_url, {name})
                yield running
            finally:
                serving.cancel()
    finally:
        for daemon in running.daemons:
            daemon.stop()


async def test_a_killed_daemon_comes_back_with_every_conversation(broker_url: str,
                                                                   tmp_path: Path) -> None:
    async with served(broker_url, tmp_path, slow=True) as running, \
            Channel(broker_url, uid="alice") as asking, \
            Channel(broker_url, uid="bob") as working:
        assert isinstance((await asking.converse("pick a color"))[-1], ChannelAsk)
        await working.say("do the slow thing")
        await asyncio.sleep(0.5)
        await working.say("hello")            # queued behind the slow conversation
        await asyncio.sleep(0.5)

        running.kill()
        killed = time.monotonic()
        running.start()
        # The SDK hears the new started_at and pongs again:
        await wait_skills(broker_url, {running.skill}, newer_than=running.listed)

        answered = await asking.converse("red", timeout=60)
        recovered = time.monotonic() - killed
        assert [m.text for m in answered if isinstance(m, ChannelShow)] == ["You chose red"]
        assert answered[-1] == ChannelTerminate(asking.sid, Reason.NOMINAL)
        assert running.asked_and_answered("red")

        ended = await working.until_turn_ends(timeout=60)
        assert [m.text for m in ended if isinstance(m, ChannelShow)] == \
            [say("restarted", "en")]
        assert ended[-1] == ChannelTerminate(working.sid, Reason.RESTARTED)
        queued = await working.until_turn_ends(timeout=60)   # the queue goes on
        assert [m.text for m in queued if isinstance(m, ChannelShow)] == ["Hello bob"]
    print(f"\nrestart: answered {recovered:.2f}s after the kill (daemon start, "
          "training, the skill's pong included)")


# amqtt keeps a session only for a client with a login: `atlas up` gives the daemon
# one (tests/test_cli.py); the tests' embedded broker is anonymous.
@pytest.mark.parametrize("broker_name", ["mosquitto"], indirect=True)
async def test_an_answer_said_while_no_daemon_runs_reaches_the_next(broker_url: str,
                                                                    tmp_path: Path) -> None:
    async with served(broker_url, tmp_path) as running, \
            Channel(broker_url, uid="alice") as asking:
        assert isinstance((await asking.converse("pick a color"))[-1], ChannelAsk)
        await asyncio.sleep(0.5)              # the question committed (GATHER)
        running.kill()
        await asyncio.sleep(0.5)              # the broker has seen it go
        await asking.say("red")               # kept by the broker for the daemon
        running.start()
        answered = await asking.until_turn_ends(timeout=60)
        assert [m.text for m in answered if isinstance(m, ChannelShow)] == ["You chose red"]
        assert running.asked_and_answered("red")
