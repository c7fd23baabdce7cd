"""Skills' budgets on a real broker: per skill over all its sids, and in bytes per sid.

The daemon runs in this process so that the budgets can be made small (the
defaults need thousands of messages a second to be crossed); everything else is
real: the broker, SDK skills, channels. A skill past a budget has its
conversations ended with reason ``throttled`` and the phrase saying so, the
operator sees it in the retained skills list (``atlas skills``), and other skills
and users carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from conftest import test_config

from atlas.channel import Channel
from atlas.core.phrases import say
from atlas.daemon import budgets, serve
from atlas.daemon.budgets import Limit
from atlas.protocol import ChannelShow, ChannelTerminate, Reason, Skills
from atlas.sdk import Request, Skill
from atlas.transport import Session

from .peers import colors_skill, wait_skills

THROTTLED = say("throttled", "en")


def talker(name: str, shows: int, text: str) -> Skill:
    """A skill that answers "talk to me" with ``shows`` shows of ``text``."""
    skill = Skill(name, version="1.0", author="tests")
    skill.training("en", "%[talk]\n  talk to me\n  say many things\n  chat with me please\n"
                   "  tell me lots of things\n")

    @skill.intent("talk")
    async def talk(req: Request) -> None:
        for _ in range(shows):
            await req.show(text)

    return skill


@contextlib.asynccontextmanager
async def deployed(url: str, data_dir: Path, *skills: Skill) -> AsyncIterator[None]:
    """The daemon and these skills, live and trained."""
    daemon = asyncio.create_task(serve(test_config(url, data_dir, skill_timeout=10.0)))
    try:
        async with contextlib.AsyncExitStack() as stack:
            running = [await stack.enter_async_context(s.connect(url)) for s in skills]
            serving = [asyncio.create_task(r.serve()) for r in running]
            await wait_skills(url, {s.name for s in skills})
            yield
            for task in serving:
                task.cancel()
    finally:
        daemon.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await daemon


async def throttled_skills(url: str, name: str) -> dict[str, str]:
    """The retained skills list's ``throttled``, once it names ``name``."""
    async with Session(url, "operator") as session, asyncio.timeout(30):
        await session.subscribe(Skills)
        async for message in session:
            if isinstance(message, Skills) and name in message.throttled:
                return message.throttled
    raise AssertionError("the connection ended")


async def test_a_skill_flooding_many_users_is_held_to_one_skills_budget(
        broker_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twenty users, ten shows each: far within each sid's budget, but past the
    skill's (40 messages, then 1 a second, over all its sids)."""
    monkeypatch.setattr(budgets, "LIMITS",
                        replace(budgets.LIMITS, skill_messages=Limit(1.0, 40.0)))
    tag = uuid.uuid4().hex[:6]
    flooder, calm = talker(f"flooder-{tag}", 10, "spam"), colors_skill(f"calm-{tag}")
    async with deployed(broker_url, data_dir, flooder, calm), \
            contextlib.AsyncExitStack() as stack:
        users = [await stack.enter_async_context(Channel(broker_url, uid=f"user{n}-{tag}"))
                 for n in range(20)]
        for user in users:
            await user.say("talk to me")
        turns = await asyncio.gather(*(user.until_turn_ends(60) for user in users))
        ends = [turn[-1] for turn in turns]
        assert all(isinstance(end, ChannelTerminate) for end in ends)
        cut = [(turn, end) for turn, end in zip(turns, ends, strict=True)
               if end == ChannelTerminate(end.sid, Reason.THROTTLED)]
        assert cut, "no conversation was throttled"
        for turn, end in cut:
            assert turn[-2] == ChannelShow(end.sid, THROTTLED)
        spam = sum(isinstance(m, ChannelShow) and m.text == "spam" for turn in turns for m in turn)
        assert spam < 20 * 10
        assert (await throttled_skills(broker_url, flooder.name))[flooder.name] == \
            "more than 1 messages a second over all its conversations"
        # Another skill, and another user of the flooder's, are served as usual.
        async with Channel(broker_url, uid=f"carol-{tag}") as carol:
            said = await carol.converse("hello")
            assert ChannelShow(carol.sid, f"Hello carol-{tag}") in said
            assert said[-1] == ChannelTerminate(carol.sid, Reason.NOMINAL)


async def test_a_skill_past_its_bytes_on_one_sid_is_cut_short_and_others_carry_on(
        broker_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten shows of 1,500 characters on one sid, against 4 KiB then 1 KiB a second."""
    monkeypatch.setattr(budgets, "LIMITS",
                        replace(budgets.LIMITS, sid_bytes=Limit(1024.0, 4096.0)))
    tag = uuid.uuid4().hex[:6]
    chatty = talker(f"chatty-{tag}", 10, "x" * 1500)
    async with deployed(broker_url, data_dir, chatty, colors_skill(f"calm-{tag}")), \
            Channel(broker_url, uid=f"dave-{tag}") as dave, \
            Channel(broker_url, uid=f"erin-{tag}") as erin:
        said = await dave.converse("talk to me", timeout=60)
        assert said[-1] == ChannelTerminate(dave.sid, Reason.THROTTLED)
        assert said[-2] == ChannelShow(dave.sid, THROTTLED)
        assert 1 <= sum(isinstance(m, ChannelShow) and m.text == "x" * 1500
                        for m in said) < 10
        assert (await throttled_skills(broker_url, chatty.name))[chatty.name] == \
            "more than 1 KiB a second in a conversation"
        greeted = await erin.converse("hello")
        assert ChannelShow(erin.sid, f"Hello erin-{tag}") in greeted
