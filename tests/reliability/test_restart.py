"""``kill -9`` of the daemon mid-conversation: the next daemon serves every sid at once.

Nothing is done on the channels' side: no ``channel/create`` again, the same sids,
the same subscriptions. The skill is an SDK skill (it re-pongs on the new daemon's
ping); the daemon is a process, killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest

from atlas.channel import Channel
from atlas.core.phrases import say
from atlas.protocol import ChannelAsk, ChannelShow, ChannelTerminate, Reason

from .peers import DaemonProcess, colors_skill, wait_skills, write_config


async def test_a_killed_daemon_comes_back_with_every_conversation(broker_url: str,
                                                                   tmp_path: Path) -> None:
    name = f"colors-{uuid.uuid4().hex[:6]}"
    calls: list[tuple[str, str, str | None]] = []
    skill = colors_skill(name, calls, slow=True)
    config = write_config(tmp_path, broker_url)
    first = DaemonProcess(config).start()
    second: DaemonProcess | None = None
    try:
        async with skill.connect(broker_url) as running:
            serving = asyncio.create_task(running.serve())
            before = await wait_skills(broker_url, {name})
            async with Channel(broker_url, uid="alice") as asking, \
                    Channel(broker_url, uid="bob") as working:
                assert isinstance((await asking.converse("pick a color"))[-1], ChannelAsk)
                await working.say("do the slow thing")
                await asyncio.sleep(0.5)
                await working.say("hello")            # queued behind the slow conversation
                await asyncio.sleep(0.5)

                first.kill()                           # SIGKILL: nothing saved on the way out
                killed = time.monotonic()
                second = DaemonProcess(config).start()
                # The SDK hears the new started_at and pongs again:
                await wait_skills(broker_url, {name}, newer_than=before)

                answered = await asking.converse("red", timeout=60)
                recovered = time.monotonic() - killed
                shows = [m.text for m in answered if isinstance(m, ChannelShow)]
                assert shows == ["You chose red"]
                assert answered[-1] == ChannelTerminate(asking.sid, Reason.NOMINAL)
                (_, asked_cid, _), (_, answer_cid, choice) = \
                    [c for c in calls if c[0] == "pick_color"]
                assert answer_cid == asked_cid and choice == "red"

                ended = await working.until_turn_ends(timeout=60)
                assert [m.text for m in ended if isinstance(m, ChannelShow)] == \
                    [say("restarted", "en")]
                assert ended[-1] == ChannelTerminate(working.sid, Reason.RESTARTED)
                queued = await working.until_turn_ends(timeout=60)   # the queue goes on
                assert [m.text for m in queued if isinstance(m, ChannelShow)] == ["Hello bob"]
            print(f"\nrestart: answered {recovered:.2f}s after the kill (daemon start, "
                  "training, the skill's pong included)")
            serving.cancel()
    finally:
        first.kill()
        if second is not None:
            second.stop()


# amqtt keeps a session only for a client with a login: `atlas up` gives the daemon
# one (tests/test_cli.py); the tests' embedded broker is anonymous.
@pytest.mark.parametrize("broker_name", ["mosquitto"], indirect=True)
async def test_an_answer_said_while_no_daemon_runs_reaches_the_next(broker_url: str,
                                                                    tmp_path: Path) -> None:
    name = f"colors-{uuid.uuid4().hex[:6]}"
    calls: list[tuple[str, str, str | None]] = []
    skill = colors_skill(name, calls)
    config = write_config(tmp_path, broker_url)
    first = DaemonProcess(config).start()
    second: DaemonProcess | None = None
    try:
        async with skill.connect(broker_url) as running:
            serving = asyncio.create_task(running.serve())
            await wait_skills(broker_url, {name})
            async with Channel(broker_url, uid="alice") as asking:
                assert isinstance((await asking.converse("pick a color"))[-1], ChannelAsk)
                await asyncio.sleep(0.5)              # the question committed (GATHER)
                first.kill()
                await asyncio.sleep(0.5)              # the broker has seen it go
                await asking.say("red")               # kept by the broker for the daemon
                second = DaemonProcess(config).start()
                answered = await asking.until_turn_ends(timeout=60)
                assert [m.text for m in answered if isinstance(m, ChannelShow)] == \
                    ["You chose red"]
                (_, asked_cid, _), (_, answer_cid, choice) = \
                    [c for c in calls if c[0] == "pick_color"]
                assert answer_cid == asked_cid and choice == "red"
            serving.cancel()
    finally:
        first.kill()
        if second is not None:
            second.stop()
