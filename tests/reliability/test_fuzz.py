"""Thousands of malformed messages on every topic atlas reads, beside a normal conversation.

The daemon runs as a process, the skill is an SDK skill and the user a
:class:`~atlas.channel.Channel`: hypothesis publishes random bytes, invalid UTF-8,
wrong JSON types at every key, deep nesting, huge strings, odd sids and intent
names, while the user keeps talking. Every normal turn must succeed, no process
may restart, and the daemon's memory must come back to its level.

On the live conversation's own topics only payloads the protocol refuses are
sent (a well-formed message there is a legitimate message, not garbage); a
skill's pong or bye in another skill's name is the broker ACL's business
(docs/reliability.md), so generated names never take the live skill's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from atlas.channel import Channel
from atlas.protocol import (
    CHANNEL_INBOX,
    Bye,
    ChannelAsk,
    ChannelCreate,
    ChannelShow,
    ChannelTerminate,
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogParse,
    DialogShow,
    DialogTerminate,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Reason,
    SkillBye,
    SkillPong,
    Skills,
    parse_message,
)

from .peers import (
    DaemonProcess,
    LoopThread,
    RawPublisher,
    colors_skill,
    wait_skills,
    wait_until,
    write_config,
)
from .strategies import payloads

SKILL = f"colors-{uuid.uuid4().hex[:6]}"
LIVE_SID = f"live-{uuid.uuid4().hex[:6]}"
ODD_SIDS = ("a", "x" * 128, "ü-ñ", "with space", "..", "%00", "-", "0", "🦜", "__cid",
            "channel", "atlas")
ODD_INTENTS = ("greet", "pick_color", "greet/extra", "__fallback__", "x" * 128, "é",
               "a/b/c/d")
PER_SID: tuple[type[Message], ...] = (
    ChannelCreate, DialogParse, DialogAsk, DialogShow, DialogTerminate, DialogContext,
    DialogNotify, *CHANNEL_INBOX)
#: Pongs that made the daemon exit before issue 8: numbers where the Snips format
#: has a list or an object.
ISSUE_8_PONGS = [
    {"name": f"bad-{n}", "intents": {"on": []}, "training": {"en": training}}
    for n, training in enumerate([
        {"intents": {"on": {"utterances": [{"data": [{"text": "lights on"}]}]}},
         "entities": 5},
        {"intents": {"on": {"utterances": [{"data": [{"text": "x", "entity": "e"}]}]}},
         "entities": {"e": {"data": 5}}},
        {"intents": {"on": {"utterances": [{"data": [{"text": "x", "entity": "e"}]}]}},
         "entities": {"e": {"data": [7]}}},
    ])]
#: Generated payloads, each published on a few topics.
EXAMPLES = 1000
TOPICS_EACH = 3


@st.composite
def topics(draw: st.DrawFn) -> str:
    kind = draw(st.sampled_from(("discovery", "own", "intent", "sid")))
    if kind == "own":   # a skill's own pong and bye topics
        own: tuple[type[Message], ...] = (SkillPong, SkillBye)
        name = draw(st.sampled_from((SKILL, *ODD_SIDS)))
        return draw(st.sampled_from(own)).TOPIC.template.replace("{skill}", name)
    if kind == "discovery":
        discovery: tuple[type[Message], ...] = (Pong, Bye, Ping)
        return draw(st.sampled_from(discovery)).TOPIC.format()
    if kind == "intent":
        return "atlas/intents/" + draw(st.sampled_from(ODD_INTENTS))
    sid = draw(st.sampled_from((LIVE_SID, *ODD_SIDS)))
    return draw(st.sampled_from(PER_SID)).TOPIC.template.replace("{sid}", sid)


def legitimate(topic: str, payload: bytes) -> bool:
    """A message that would be right to act on: only refused ones go to the live sid."""
    kinds = (*PER_SID, Pong, Bye, SkillPong, SkillBye)
    try:
        parsed = parse_message(topic, payload, kinds)
    except ProtocolError:
        return False
    if isinstance(parsed, Pong | Bye):
        return parsed.name == SKILL
    return parsed is not None and getattr(parsed, "sid", None) == LIVE_SID


@dataclass
class Turns:
    done: int = 0
    failures: list[str] = field(default_factory=list)
    stop: asyncio.Event = field(default_factory=asyncio.Event)


async def talk(url: str, turns: Turns) -> None:
    """Greet, then pick a colour through a question, until told to stop."""
    async with Channel(url, sid=LIVE_SID, uid="alice") as channel:
        while not turns.stop.is_set():
            try:
                said = await channel.converse("hello", timeout=30)
                assert any(isinstance(m, ChannelShow) and m.text == "Hello alice" for m in said)
                assert isinstance(said[-1], ChannelTerminate)
                assert said[-1].reason is Reason.NOMINAL
                asked = await channel.converse("pick a color", timeout=30)
                assert isinstance(asked[-1], ChannelAsk), asked
                chose = await channel.converse("red", timeout=30)
                assert any(isinstance(m, ChannelShow) and m.text == "You chose red"
                           for m in chose), chose
                assert isinstance(chose[-1], ChannelTerminate)
            except (AssertionError, TimeoutError) as error:
                turns.failures.append(repr(error))
            turns.done += 1


class Peers:
    """The SDK skill serving and the user talking, in the loop thread."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.turns = Turns()
        self.stack = contextlib.AsyncExitStack()
        self.serving: asyncio.Task[None] | None = None
        self.talking: asyncio.Task[None] | None = None

    async def start(self) -> Skills:
        running = await self.stack.enter_async_context(colors_skill(SKILL).connect(self.url))
        self.serving = asyncio.create_task(running.serve())
        skills = await wait_skills(self.url, {SKILL})
        self.talking = asyncio.create_task(talk(self.url, self.turns))
        return skills

    def healthy(self) -> bool:
        return not (self.serving is None or self.serving.done()
                    or self.talking is None or self.talking.done())

    async def stop(self) -> None:
        self.turns.stop.set()
        if self.talking is not None:
            await asyncio.wait_for(self.talking, 60)
        if self.serving is not None:
            self.serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.serving
        await self.stack.aclose()


def test_malformed_messages_on_every_topic_disturb_nobody(broker_url: str,
                                                           tmp_path: Path) -> None:
    daemon = DaemonProcess(write_config(tmp_path, broker_url)).start()
    try:
        with LoopThread() as loop:
            peers = Peers(broker_url)
            first = loop.run(peers.start())
            turns = peers.turns
            wait_until(lambda: turns.done >= 3, 60, "the first turns")
            before = daemon.rss()
            publisher = RawPublisher(broker_url)
            sent = [0]

            @settings(max_examples=EXAMPLES, deadline=None, database=None,
                      phases=(Phase.generate,), suppress_health_check=list(HealthCheck))
            @given(st.lists(topics(), min_size=TOPICS_EACH, max_size=TOPICS_EACH), payloads)
            def garbage_on(where: list[str], payload: bytes) -> None:
                for topic in where:
                    if not legitimate(topic, payload):
                        loop.run(publisher.publish(topic, payload))
                        sent[0] += 1
                        if sent[0] % 100 == 0:   # let the broker and the peers catch up
                            loop.run(asyncio.sleep(0.05))
                assert daemon.alive(), "the daemon exited"
                assert peers.healthy(), "the skill or the channel stopped"

            started = time.monotonic()
            try:
                for crash in ISSUE_8_PONGS:
                    loop.run(publisher.publish(Pong.TOPIC.format(), json.dumps(crash).encode()))
                garbage_on()
            finally:
                loop.run(publisher.close())
            flooded = time.monotonic() - started
            during = turns.done
            wait_until(lambda: turns.done >= during + 3, 60, "turns after the flood")
            again = loop.run(wait_skills(broker_url, {SKILL}))
            after = daemon.rss()
            loop.run(peers.stop(), timeout=120)
        assert daemon.alive()
        assert turns.failures == []
        assert again.started_at == first.started_at, "the daemon restarted"
        grown = after - before
        print(f"\nfuzz: {sent[0]} payloads in {flooded:.1f}s, "
              f"{turns.done} conversations, daemon RSS {before / 2**20:.1f} -> "
              f"{after / 2**20:.1f} MiB")
        assert sent[0] >= EXAMPLES
        # Generous: Python keeps freed arenas, but a leak per message would show.
        assert grown < 64 * 2**20, f"the daemon grew by {grown / 2**20:.1f} MiB"
    finally:
        daemon.stop()
