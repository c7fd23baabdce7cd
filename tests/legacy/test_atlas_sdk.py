"""A skill and a channel written with atlas-sdk 1.1.8 converse through atlas unchanged,
the skill trained from the daemon's training_dir."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from brokers import running_task

from atlas.config import Config
from atlas.daemon import serve
from atlas.store import Store
from atlas.transport import BrokerAddress
from tests.conftest import test_config
from tests.daemon.helpers import wait_skills

HERE = Path(__file__).parent

PLANTS = """
%[plant]
  plant some @[plant]
  plant @[plant] in the garden
  I want to plant @[plant]
  put some @[plant] in the garden
  plant something
  let's plant something

@[plant]
  basil
  mint
  thyme
  parsley
"""

HELLO = """
%[hello_garden]
  who owns the garden
  whose garden is this
  tell me who owns this garden
"""


class SdkChannel:
    """sdk_channel.py in the atlas-sdk environment: texts in, received messages out."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.pings = 0

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for line in self.process.stdout:
            event = json.loads(line)
            if event["event"] == "ping":
                self.pings += 1
            else:
                self.events.put_nowait(event)

    async def next(self) -> dict[str, Any]:
        return await asyncio.wait_for(self.events.get(), 20)

    async def say(self, text: str) -> list[dict[str, Any]]:
        """Parse ``text``; the messages up to the next ask or terminate."""
        assert self.process.stdin is not None
        self.process.stdin.write(text.encode() + b"\n")
        await self.process.stdin.drain()
        turn = []
        while not turn or turn[-1]["event"] not in ("ask", "terminate"):
            turn.append(await self.next())
        return turn


@contextlib.asynccontextmanager
async def started(*arguments: str | Path) -> AsyncIterator[asyncio.subprocess.Process]:
    process = await asyncio.create_subprocess_exec(
        *map(str, arguments), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(process.wait(), 5)
        if process.returncode is None:
            process.kill()
            await process.wait()


def shows(turn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [event["data"] for event in turn if event["event"] == "show"]


async def skills_until(url: str, ready: Any) -> dict[str, Any]:
    """The daemon's skills message, once ``ready(garden summary)`` holds."""
    for _ in range(60):
        data = await wait_skills(url, {"garden"}, timeout=30)
        garden = data["skills"][0]
        if ready(garden):
            return garden
        await asyncio.sleep(0.5)
    raise AssertionError("the daemon never listed the garden as expected")


@pytest.fixture
def training(tmp_path: Path) -> Path:
    folder = tmp_path / "training"
    (folder / "garden").mkdir(parents=True)
    (folder / "garden" / "en.chatl").write_text(PLANTS)
    return folder


@pytest.fixture
def legacy_config(broker_url: str, data_dir: Path, training: Path) -> Config:
    return test_config(broker_url, data_dir, training_dir=training,
                       skills={"garden": {"slots": "objects"}})


async def test_an_atlas_sdk_skill_and_channel_converse(sdk_python: Path, legacy_config: Config,
                                                       training: Path) -> None:
    address = BrokerAddress.parse(legacy_config.broker)
    store = Store.in_data_dir(legacy_config.data_dir)
    store.add_user("gardener", "en")
    store.set_env("gardener", {"GARDEN_OWNER": "Gus"})
    async with running_task(serve(legacy_config, store)), \
            started(sdk_python, HERE / "garden_skill.py", "-H", address.host,
                    "-p", str(address.port)):
        # Discovery: the skill's pong had no training; the daemon took the file's.
        garden = await skills_until(legacy_config.broker, lambda g: g.get("training_from"))
        assert garden["training_from"] == str(training / "garden")
        assert garden["untrained"] == ["hello_garden"]
        assert garden["env"] == {"GARDEN_OWNER": "<class 'str'>"}

        async with started(sdk_python, HERE / "sdk_channel.py", address.host,
                           str(address.port), "sdk-sid", "gardener") as process:
            channel = SdkChannel(process)
            async with running_task(channel.read()):
                assert (await channel.next()) == {"event": "created", "data": {"lang": "en"}}

                # A slot as objects, then an ask without a slot (choices, __choice).
                turn = await channel.say("plant some basil")
                assert turn[0]["event"] == "work"
                ask = turn[-1]["data"]
                assert ask["text"] == "Water the basil now?"
                assert ask["choices"] == ["yes", "no"] and "slot" not in ask
                turn = await channel.say("yes")
                [show] = shows(turn)
                # Its stale "slot"/"choices" keys are not shown as a question.
                assert show == {"text": "Planted basil (watered)",
                                "cards": [{"header": "Basil", "text": "In the watered bed"}]}
                assert turn[-1]["event"] == "terminate"

                # An ask with a slot (choices null), answered with a value.
                turn = await channel.say("let's plant something")
                assert turn[-1]["data"]["text"] == "Which plant?"
                assert turn[-1]["data"]["slot"] == "plant"
                turn = await channel.say("thyme")
                assert turn[-1]["data"]["text"] == "Water the thyme now?"
                turn = await channel.say("no")
                assert shows(turn)[0]["text"] == "Planted thyme (dry)"

                # Training added to the file is picked up, nothing restarted.
                (training / "garden" / "en.chatl").write_text(PLANTS + HELLO)
                garden = await skills_until(legacy_config.broker,
                                            lambda g: not g.get("untrained"))
                turn = await channel.say("who owns the garden")
                # "cards": null is not forwarded; __env carries the user's setting.
                assert shows(turn) == [{"text": "This garden belongs to Gus"}]
                assert turn[-1]["event"] == "terminate"
                # The daemon's pings parse for the SDK (semver, naive ISO date).
                assert channel.pings >= 1
    store.close()
