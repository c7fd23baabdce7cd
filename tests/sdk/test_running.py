"""A skill connected to a real broker, with a raw client playing the daemon."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from brokers import free_port

from atlas.broker import EmbeddedBroker
from atlas.protocol import (
    DialogAsk,
    DialogNotify,
    DialogShow,
    DialogTerminate,
    IntentRequest,
    Ping,
    SkillBye,
    SkillPong,
    Skills,
    SkillSummary,
)
from atlas.sdk import Request, RunningSkill, Skill
from atlas.sdk.running import _until
from sdk.peer import Peer

DIALOG = (SkillPong, SkillBye, DialogShow, DialogAsk, DialogTerminate, DialogNotify)


def echo_skill(name: str = "echo") -> Skill:
    skill = Skill(name, version="2.0.0", author="t", description="echoes")
    skill.training("en", "%[echo]\n  say @[word]\n  repeat @[word]\n@[word]\n  hello\n")
    skill.translations("fr", {"You said {}": "Vous avez dit {}"})

    @skill.intent("echo")
    async def echo(req: Request) -> None:
        if req.slot("word") is None:
            await req.ask("word", "What should I say?")
            return
        await req.show(req._("You said {}", req.slot("word")))

    @skill.intent("blocking")
    def blocking(req: Request) -> None:
        # A plain function: it may block, the loop keeps going.
        req.show(f"thread {threading.current_thread() is not threading.main_thread()}")
        req.notify("later, from the thread")

    return skill


def request(intent: str, cid: str, sid: str = "s1", lang: str = "en", **slots: object
            ) -> IntentRequest:
    return IntentRequest(intent, cid, sid, "u", lang, "1", slots=dict(slots))


@contextlib.asynccontextmanager
async def serving(skill: Skill, url: str) -> AsyncIterator[RunningSkill]:
    async with skill.connect(url) as running:
        task = asyncio.create_task(running.serve())
        try:
            yield running
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_pongs_on_connect_and_on_ping_then_says_bye(broker_url: str) -> None:
    async with Peer(broker_url, SkillPong, SkillBye) as daemon:
        async with serving(echo_skill(), broker_url):
            pong = await daemon.expect(SkillPong)
            assert pong.name == "echo" and pong.version == "2.0.0"
            assert pong.intents == {"echo": ["word"], "blocking": []}
            assert "en" in pong.training
            await daemon.send(Ping("1", "now"))
            assert (await daemon.expect(SkillPong)).name == "echo"
        assert await daemon.expect(SkillBye) == SkillBye("echo")


async def test_answers_intents_with_the_cid(broker_url: str) -> None:
    async with Peer(broker_url, SkillPong, *DIALOG) as daemon, \
            serving(echo_skill(), broker_url):
        await daemon.expect(SkillPong)
        await daemon.send(request("echo", "c1", lang="fr", word="bonjour"))
        show = await daemon.expect(DialogShow)
        assert (show.sid, show.cid, show.text) == ("s1", "c1", "Vous avez dit bonjour")
        assert await daemon.expect(DialogTerminate) == DialogTerminate("s1", "c1")

        await daemon.send(request("echo", "c2"))
        ask = await daemon.expect(DialogAsk)
        assert (ask.cid, ask.slot) == ("c2", "word")

        await daemon.send(request("blocking", "c3", sid="s2"))
        assert (await daemon.expect(DialogShow)).text == "thread True"
        notify = await daemon.expect(DialogNotify)
        assert (notify.sid, notify.text) == ("s2", "later, from the thread")
        assert (await daemon.expect(DialogTerminate)).cid == "c3"


async def test_bad_messages_do_not_stop_the_skill(broker_url: str) -> None:
    async with Peer(broker_url, SkillPong, *DIALOG) as daemon, \
            serving(echo_skill(), broker_url):
        await daemon.expect(SkillPong)
        for payload in (b"not json", b"[1]", b'{"__sid": "s"}', b'{"__cid": 3, "__sid": "s"}'):
            daemon.client.publish_raw("atlas/intents/echo", payload)
        daemon.client.publish_raw("atlas/discovery/ping", b"\xff\xfe")
        await daemon.send(request("echo", "c9", word="still"))
        assert (await daemon.expect(DialogShow)).text == "You said still"


async def test_listeners_receive_their_messages(broker_url: str) -> None:
    skill = echo_skill("listener")
    got: asyncio.Queue[Skills] = asyncio.Queue()

    @skill.listen(Skills)
    async def on_skills(message: Skills) -> None:
        got.put_nowait(message)

    async with Peer(broker_url, SkillPong) as daemon, serving(skill, broker_url):
        await daemon.expect(SkillPong)
        summary = SkillSummary("x", "1", "a", "d", {"i": []}, {}, ["en"])
        await daemon.send(Skills("1", "now", (summary,)))
        async with asyncio.timeout(15):
            message = await got.get()
        assert message.skills == (summary,)


async def test_what_cannot_be_sent_fails_where_it_is_awaited(broker_url: str) -> None:
    async with Peer(broker_url, SkillPong, *DIALOG) as daemon, \
            serving(echo_skill(), broker_url) as running:
        await daemon.expect(SkillPong)
        sent = running.send(DialogShow("s1", "c1", "fine"))
        await sent                                           # handed over: done at once
        assert sent.done() and (await daemon.expect(DialogShow)).text == "fine"
        bad = running.send(DialogShow("not/a sid", "c1", "x"))  # cannot be addressed
        assert bad.done()
        with pytest.raises(ConnectionError, match="invalid sid"):
            await bad
        from_thread = await asyncio.to_thread(running.send, DialogShow("a/b", "c1", "x"))
        with pytest.raises(ConnectionError, match="invalid sid"):
            await from_thread
        await running.send(DialogShow("s1", "c1", "still fine"))
        assert (await daemon.expect(DialogShow)).text == "still fine"


async def test_unreachable_broker_is_a_clear_error() -> None:
    with pytest.raises(ConnectionError, match="cannot reach"):
        async with echo_skill().connect(f"mqtt://127.0.0.1:{free_port()}"):
            pass


async def test_reconnects_and_pongs_again_after_a_broker_restart() -> None:
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    with EmbeddedBroker(port=port) as first:
        async with serving(echo_skill(), url) as running:
            await asyncio.to_thread(first.stop)
            while running.connected:
                await asyncio.sleep(0.05)
            with EmbeddedBroker(port=port):
                async with Peer(url, SkillPong, *DIALOG) as daemon:
                    # SkillPong again once reconnected (pinging in case the unasked pong
                    # came before we subscribed), then intents work (resubscribed).
                    while True:
                        await daemon.send(Ping("1", "now"))
                        try:
                            async with asyncio.timeout(1):
                                await daemon.expect(SkillPong)
                            break
                        except TimeoutError:
                            continue
                    await daemon.send(request("echo", "c1", word="back"))
                    assert (await daemon.expect(DialogShow)).text == "You said back"


SKILL_FILE = """\
import sys
from atlas.sdk import Skill

skill = Skill("proc")
skill.training("en", "%[hi]\\n  hi\\n")


@skill.intent("hi")
async def hi(req):
    await req.show("hello")

if __name__ == "__main__":
    skill.run(sys.argv[1])
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
async def test_bye_on_stop_and_last_will_on_crash(broker_url: str, tmp_path: Path,
                                                  sig: signal.Signals) -> None:
    file = tmp_path / "proc.py"
    file.write_text(SKILL_FILE)
    async with Peer(broker_url, SkillPong, SkillBye) as daemon:
        process = subprocess.Popen([sys.executable, str(file), broker_url],
                                   env={**os.environ, "PYTHONPATH": os.getcwd()})
        try:
            assert (await daemon.expect(SkillPong)).name == "proc"
            process.send_signal(sig)
            assert await daemon.expect(SkillBye) == SkillBye("proc")
            code = await asyncio.to_thread(process.wait, 15)
            assert code == (-signal.SIGKILL if sig == signal.SIGKILL else 0)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


async def test_stopping_does_not_hang_on_a_lost_cancellation() -> None:
    """The runner stops a skill through a state, not through a cancellation that the
    awaited code may lose (Python 3.11's asyncio.wait_for drops one arriving as the
    operation completes): work that swallows the cancellation still lets it stop."""
    stop = asyncio.Event()
    steps: list[str] = []

    async def swallows() -> str:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            steps.append("cancel lost")  # as wait_for does when the result is there
        await asyncio.sleep(0)
        steps.append("finished")
        return "connected"

    async def ends() -> None:
        steps.append("ended")

    loop = asyncio.get_running_loop()
    loop.call_later(0.05, stop.set)
    # Finished although stopped: the caller knows the connection was made, and closes it.
    assert await asyncio.wait_for(_until(stop, swallows()), 10) is True
    assert steps == ["cancel lost", "finished"]
    # Stopped while waiting: False, and nothing left running.
    assert await asyncio.wait_for(_until(stop, asyncio.sleep(30)), 10) is False
    assert await _until(asyncio.Event(), ends()) is True
    assert steps[-1] == "ended"
