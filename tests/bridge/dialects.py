"""What the dialect tests share: a skill that shows what it receives, bots, and clients.

The skill answers the demo skill's intents and adds a welcome (naming the session's
first name when it knows one), ``whoami`` (the session data it got), ``echo`` and
``image`` (called by structured input only: they show the ``__data`` they got), and
``remind`` (structured input too: a notification follows its answer).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from atlas.config import Config
from atlas.sdk import Request, Skill
from atlas.store import Bot, Store

from .helpers import DEMO_EN, Bridge, demo_skill, skill_stack

NODE_DIR = Path(__file__).parent / "node"

WHOAMI_EN = """
%[whoami]
  who am i
  what do you know about me
  tell me who I am
  do you know me
"""

#: The smallest real PNG (1x1, transparent).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6300010000050001"
    "0d0a2db40000000049454e44ae426082")


def guest_skill(name: str) -> Skill:
    skill = demo_skill(name)
    skill.training("en", DEMO_EN + WHOAMI_EN)  # one training text per language

    @skill.welcome
    async def welcome(req: Request) -> None:
        first = req.session.get("first_name")
        await req.show(f"Welcome {first}!" if first else "Welcome, stranger!")

    @skill.intent("whoami")
    async def whoami(req: Request) -> None:
        await req.show("You are " + json.dumps(req.session, sort_keys=True))

    @skill.intent("echo")
    async def echo(req: Request) -> None:
        await req.show("echo " + json.dumps(req.data, sort_keys=True),
                       session=req.session)

    @skill.intent("remind")
    async def remind(req: Request) -> None:
        async def later() -> None:
            await asyncio.sleep(0.3)
            await req.notify(f"Reminder: {(req.data or {}).get('remind')}")

        req.spawn(later())
        await req.show("OK, I will remind you.")

    @skill.intent("image")
    async def image(req: Request) -> None:
        picture = (req.data or {}).get("image") or {}
        await req.show(f"I see image {picture.get('id')}", url=picture.get("url"))

    return skill


@dataclass
class GuestBot:
    bot: Bot
    token: str


def add_bot(store: Store, *, open_: bool = False, lang: str = "en") -> GuestBot:
    bot, token = store.add_bot(f"bot-{uuid.uuid4().hex[:6]}", lang, open_=open_)
    return GuestBot(bot, token)


@contextlib.asynccontextmanager
async def guest_stack(config: Config, store: Store, skill_name: str) -> AsyncIterator[Bridge]:
    """Daemon, guest skill and bridge, the skill live and trained."""
    async with skill_stack(config, store, guest_skill(skill_name)) as bridge:
        yield bridge


def node_ready() -> bool:
    return shutil.which("node") is not None and (NODE_DIR / "node_modules" / "phoenix").is_dir()


async def run_node(script: str, *args: str, timeout: float = 120) -> dict[str, Any]:
    """Run a Node script of tests/bridge/node; its last stdout line is a JSON report."""
    process = await asyncio.create_subprocess_exec(
        "node", str(NODE_DIR / script), *args, cwd=NODE_DIR,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ})
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode == 0, \
        f"node failed ({process.returncode}):\n{out.decode()}\n{err.decode()}"
    lines = [line for line in out.decode().splitlines() if line.strip()]
    assert lines, err.decode()
    report = json.loads(lines[-1])
    assert isinstance(report, dict)
    return report
