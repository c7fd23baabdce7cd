"""The transport session against real brokers: decoding, order, retained clears, outages."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from brokers import MOSQUITTO, accepts, free_port, mosquitto_conf

from atlas.protocol import DialogParse, Ping, Skills
from atlas.transport import (
    Cleared,
    RawMessage,
    Reconnected,
    Session,
    TransportError,
    Unreachable,
    on,
    raw,
)
from atlas.transport.buffered import BufferedSocket


async def test_messages_arrive_typed_and_in_order(broker_url: str) -> None:
    async with Session(broker_url, "a") as a, Session(broker_url, "b") as b:
        await b.subscribe(on(DialogParse, sid="order"))
        for n in range(300):
            a.publish(DialogParse("order", f"text {n}"))
        received = [await b.next(10) for _ in range(300)]
    assert received == [DialogParse("order", f"text {n}") for n in range(300)]


async def test_skipped_messages_are_never_decoded_and_routed_ones_skip_the_queue(
        broker_url: str) -> None:
    asked: list[tuple[str, bytes]] = []
    routed: list[object] = []

    def skip(topic: str, payload: bytes) -> bool:
        asked.append((topic, payload))
        if payload == b"text 1":
            raise RuntimeError("a bug in the check")  # logged; the message is read whole
        return topic == DialogParse("mute", "x").topic()

    def route(message: object) -> None:
        routed.append(message)
        if message == DialogParse("heard", "boom"):
            raise RuntimeError("a bug in routing")   # logged; reading goes on

    async with Session(broker_url, "a") as a, \
            Session(broker_url, "b", skip=skip, route=route) as b:
        await b.subscribe(on(DialogParse))
        a.publish(DialogParse("heard", "boom"))
        for n in range(3):
            a.publish_raw(DialogParse("mute", "x").topic(), b"\xff not even text")
            a.publish(DialogParse("heard", f"text {n}"))
        assert await a.drain(10)
        async with asyncio.timeout(10):
            while len(routed) < 4:
                await asyncio.sleep(0.01)
        with pytest.raises(TimeoutError):   # routed messages do not come this way too
            await b.next(0.2)
    assert routed == [DialogParse("heard", "boom"),
                      *(DialogParse("heard", f"text {n}") for n in range(3))]
    assert asked.count((DialogParse("mute", "x").topic(), b"\xff not even text")) == 3


async def test_bad_payloads_are_dropped_and_the_good_ones_go_on(broker_url: str) -> None:
    async with Session(broker_url, "a") as a, Session(broker_url, "b") as b:
        await b.subscribe(Ping, on(DialogParse, sid="bad"))
        for payload in (b"[1]", b"\xff\xfe", b"{", b'{"version": 3}'):
            a.publish_raw(Ping.TOPIC.format(), payload)
        a.publish_raw(DialogParse("bad", "x").topic(), b"")
        a.publish(Ping("1", "now"))
        assert await b.next(10) == Ping("1", "now")


async def test_an_empty_retained_payload_is_a_clear(broker_url: str) -> None:
    async with Session(broker_url, "a") as a, Session(broker_url, "b") as b:
        await b.subscribe(Skills)
        a.clear(Skills)
        while not isinstance(item := await b.next(10), Cleared):
            pass  # the shared test broker may still hold another test's list
    assert item == Cleared(Skills, {})


async def test_raw_sessions_see_the_wire(broker_url: str) -> None:
    async with Session(broker_url, "a") as a, Session(broker_url, "b", raw=True) as b:
        await b.subscribe(raw("devices/+/set"))
        a.publish_raw("devices/lamp/set", b"\x00on")
        assert await b.next(10) == RawMessage("devices/lamp/set", b"\x00on")


async def test_deliver_waits_for_the_acknowledgement(broker_url: str) -> None:
    async with Session(broker_url, "a") as a:
        await a.deliver(Ping("1", "now"))
        a.publish(Ping("1", "now"))
        assert await a.drain(10)


async def test_no_broker_is_a_clear_error() -> None:
    with pytest.raises(Unreachable, match="unreachable"):
        async with Session(f"mqtt://127.0.0.1:{free_port()}", "lonely"):
            pass


async def start_mosquitto(port: int, folder: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen([MOSQUITTO, "-c", str(mosquitto_conf(port, folder))],
                               stdin=subprocess.DEVNULL)
    while not accepts("127.0.0.1", port):
        assert process.poll() is None, "mosquitto exited"
        await asyncio.sleep(0.05)
    return process


async def test_the_session_rides_out_a_broker_restart(tmp_path: Path) -> None:
    port = free_port()
    url = f"mqtt://127.0.0.1:{port}"
    broker = await start_mosquitto(port, tmp_path)
    try:
        async with Session(url, "a", attempts=None) as a, Session(url, "b") as b:
            await b.subscribe(on(DialogParse, sid="outage"))
            broker.terminate()
            broker.wait()
            while a.connected or b.connected:
                await asyncio.sleep(0.05)
            # Published while the broker is away: kept, and sent once it is back
            # (retained, so that a subscriber arriving later can check it came).
            a.publish(DialogParse("outage", "kept"), retain=True)
            broker = await start_mosquitto(port, tmp_path)
            assert await b.next(30) == Reconnected()
            await a.wait_connected(30)
            assert await a.drain(30)
            async with Session(url, "c") as c:
                await c.subscribe(on(DialogParse, sid="outage"))
                assert await c.next(30) == DialogParse("outage", "kept")
    finally:
        broker.terminate()
        broker.wait()


async def test_a_closed_session_ends_its_readers_and_refuses_to_publish(broker_url: str) -> None:
    session = Session(broker_url, "short")
    async with session:
        pass
    assert [item async for item in session] == []
    with pytest.raises(TransportError):
        session.publish(Ping("1", "now"))


class CountingSocket:
    """The kernel socket under a session's buffer, counting the writes that reach it."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self.sends = 0

    def send(self, data: bytes) -> int:
        self.sends += 1
        return int(self.sock.send(data))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)


async def test_an_acknowledgement_leaves_with_the_answer_it_provoked(broker_url: str) -> None:
    async with Session(broker_url, "asker") as asker, Session(broker_url, "answerer") as answerer:
        await answerer.subscribe(on(DialogParse, sid="ask"))
        await asker.subscribe(on(DialogParse, sid="answer"))
        buffered = answerer._client.socket()
        assert isinstance(buffered, BufferedSocket)
        counting = buffered.sock = CountingSocket(buffered.sock)

        async def handle(question: Any) -> None:
            answerer.publish(DialogParse("answer", question.text.replace("question", "answer")))

        for n in range(3):
            asker.publish(DialogParse("ask", f"question {n}"))
            # Answered by a task the reader starts, as a skill's handler or the
            # daemon's conversation task: two turns of the loop after the read.
            await asyncio.create_task(handle(await answerer.next(10)))
            assert await asker.next(10) == DialogParse("answer", f"answer {n}")
        # The PUBACK of each question and the answer: one write, not two.
        assert counting.sends == 3


CRASHING = """
import asyncio, os, sys
from atlas.protocol import DialogParse
from atlas.transport import Session, on

async def main():
    session = Session(sys.argv[1], "kept", client_id=sys.argv[2])
    await session.subscribe(on(DialogParse, sid="kept"))
    await session.__aenter__()
    os._exit(0)             # gone without a DISCONNECT, as a crash

asyncio.run(main())
"""


@pytest.mark.parametrize("broker_name", ["mosquitto"], indirect=True)
@pytest.mark.parametrize("version", ["", "?protocol=5"])
async def test_a_kept_session_holds_what_comes_while_its_client_is_gone_not_once_closed(
        broker_url: str, version: str, tmp_path: Path) -> None:
    url, kept = broker_url + version, f"kept-{free_port()}-{version[-1:] or 4}"
    script = tmp_path / "crash.py"
    script.write_text(CRASHING)
    crashed = await asyncio.create_subprocess_exec(sys.executable, str(script), url, kept)
    assert await crashed.wait() == 0
    async with Session(url, "other") as other:
        await other.deliver(DialogParse("kept", "while gone"))
        # The next client of that id hears it as soon as it connects.
        back = Session(url, "kept", client_id=kept)
        await back.subscribe(on(DialogParse, sid="kept"))
        async with back:
            assert await back.next(10) == DialogParse("kept", "while gone")
        # Closed on purpose: unsubscribed first, so nothing waits for the next one.
        await other.deliver(DialogParse("kept", "while closed"))
        again = Session(url, "kept", client_id=kept)
        await again.subscribe(on(DialogParse, sid="kept"))
        async with again:
            await other.deliver(DialogParse("kept", "now"))
            assert await again.next(10) == DialogParse("kept", "now")


async def test_the_will_is_published_for_a_crash_not_for_a_clean_close(
        broker_url: str, tmp_path: Path) -> None:
    script = tmp_path / "crash.py"
    script.write_text(CRASHING.replace('client_id=sys.argv[2])',
                                       'will=DialogParse("will", sys.argv[2]))'))
    async with Session(broker_url, "watch") as watch:
        await watch.subscribe(on(DialogParse, sid="will"))
        async with Session(broker_url, "x", will=DialogParse("will", "clean")):
            pass
        crashed = await asyncio.create_subprocess_exec(sys.executable, str(script),
                                                       broker_url, "crashed")
        assert await crashed.wait() == 0
        # The first will heard is the crashed one's: the clean close sent a DISCONNECT.
        assert await watch.next(10) == DialogParse("will", "crashed")
