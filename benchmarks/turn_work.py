"""The CPU work of one turn, without sockets or other processes: what the daemon does
between reading a message and writing its answers, and what paho costs per packet.

    python benchmarks/turn_work.py [--turns 5000] [--rounds 5]

1. *The daemon's work*: the trivial skill of turns.py trained, one channel, then
   turns fed straight to the daemon's shell: ``dialog/parse`` (a repeated sentence),
   ``dialog/show`` and ``dialog/terminate`` decoded with ``parse_message``, each
   turned into an event, handled by the core, saved to the conversation state, and
   each message to publish given its topic and payload: everything but the MQTT
   client and the loop.
2. *paho per packet*, through the transport's buffered client on a fake socket:
   publishing a QoS 1 message, reading its PUBACK (with 100 messages in flight),
   reading a QoS 1 PUBLISH and queueing its PUBACK.

CPU time (``time.process_time``) per item, the median of the rounds: unlike wall
time it hardly moves with what else runs on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from turns import INTENT, SKILL_NAME, TRAINING  # noqa: E402

from atlas.config import Config  # noqa: E402
from atlas.daemon.conversations import Conversations  # noqa: E402
from atlas.daemon.discovery import Discovery  # noqa: E402
from atlas.daemon.inbox import FairInbox  # noqa: E402
from atlas.protocol import DAEMON_INBOX, IntentRequest, parse_message  # noqa: E402
from atlas.sdk import Skill  # noqa: E402
from atlas.store import SqliteConversationState, Store  # noqa: E402
from atlas.transport.buffered import BufferedClient, BufferedSocket  # noqa: E402


def per_item(work: Callable[[], int], rounds: int) -> float:
    """Median over ``rounds`` of CPU µs per item (``work`` returns how many it did)."""
    samples = []
    for _ in range(rounds):
        began = time.process_time()
        done = work()
        samples.append((time.process_time() - began) / done * 1e6)
    return statistics.median(samples)


async def daemon_work(turns: int, rounds: int) -> float:
    folder = Path(tempfile.mkdtemp(prefix="atlas-turn-work-"))
    config = Config(data_dir=folder)
    skill = Skill(SKILL_NAME, version="1", author="bench")
    skill.training("en", TRAINING)
    skill.intent(INTENT)(lambda request: None)
    discovery = Discovery(config, "1", "now")
    discovery.heard(skill.pong(), time.monotonic())
    await discovery.retrain()
    state = SqliteConversationState.in_data_dir(folder)
    shell = Conversations(config, Store.in_data_dir(folder), FairInbox(), state)

    def feed(topic: str, payload: bytes) -> list[Any]:
        message = parse_message(topic, payload, DAEMON_INBOX)
        event = shell.event_for(message) if message is not None else None
        effects = shell.apply(event, discovery.world()) if event else []
        return [(e.message.topic(), e.message.to_payload(), e.message) for e in effects]

    def run() -> int:
        for _ in range(turns):
            out = feed("atlas/s1/dialog/parse", b'{"text":"what is the weather like right now"}')
            cid = next(m.cid for _, _, m in out if isinstance(m, IntentRequest)).encode()
            feed("atlas/s1/dialog/show", b'{"__cid":"%s","text":"sunny"}' % cid)
            feed("atlas/s1/dialog/terminate", b'{"__cid":"%s"}' % cid)
        return turns

    feed("atlas/s1/channel/create", b'{"uid":"bench"}')
    run()  # warm-up: the parse cache, the tokenizer's
    try:
        return per_item(run, rounds)
    finally:
        shell.close()
        state.close()


class FakeSocket:
    """What the buffered socket reads from and writes to: bytes the bench puts there."""

    def __init__(self) -> None:
        self.incoming = b""

    def recv(self, size: int) -> bytes:
        data, self.incoming = self.incoming[:size], self.incoming[size:]
        if not data:
            raise BlockingIOError
        return data

    def send(self, data: bytes) -> int:
        return len(data)

    def pending(self) -> int:
        return 0

    def close(self) -> None:
        pass


def paho_work(packets: int, rounds: int, window: int = 100) -> dict[str, float]:
    client = BufferedClient(CallbackAPIVersion.VERSION2, client_id="bench")
    client.max_inflight_messages_set(1000)
    wire = FakeSocket()
    sock = BufferedSocket(wire)
    client._sock = sock                       # as if connected, without a broker
    client._state = paho._ConnectionState.MQTT_CS_CONNECTED
    client.on_publish = lambda *_: None
    client.on_message = lambda *_: None
    client.on_socket_register_write = lambda *_: None
    payload = b'{"__cid":"0123456789abcdef0123456789abcdef","text":"sunny"}'
    mids: list[int] = []

    def read_all() -> None:
        while wire.incoming or sock.buffered:
            client.loop_read()

    def publish() -> int:
        mids[:] = [client.publish("atlas/s1/channel/show", payload, qos=1).mid
                   for _ in range(window)]
        client.loop_write()
        sock.flush()
        return window

    def pubacks() -> int:
        wire.incoming = b"".join(bytes([0x40, 2]) + struct.pack("!H", m) for m in mids)
        read_all()
        return window

    topic = b"atlas/s1/dialog/parse"
    body = struct.pack("!H", len(topic)) + topic + b"\x00\x01" + payload
    incoming = (bytes([0x32, len(body)]) + body) * window

    def publishes() -> int:
        wire.incoming = incoming
        read_all()
        client.loop_write()
        sock.flush()
        return window

    steps = (("publish", publish), ("puback", pubacks), ("incoming", publishes))
    times: dict[str, list[float]] = {key: [] for key, _ in steps}
    for _ in range(rounds):
        spent = dict.fromkeys(times, 0.0)
        for _ in range(packets // window):   # each window acknowledged before the next
            for key, work in steps:
                began = time.process_time()
                work()
                spent[key] += time.process_time() - began
        for key in times:
            times[key].append(spent[key] / (packets // window * window) * 1e6)
    return {key: statistics.median(values) for key, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    daemon = asyncio.run(daemon_work(args.turns, args.rounds))
    print(f"daemon's work per turn (parse, show, terminate; no sockets): {daemon:.1f} µs CPU")
    costs = paho_work(args.turns * 4, args.rounds)
    print(f"paho per packet: publish QoS 1 {costs['publish']:.1f} µs, read its PUBACK "
          f"(100 in flight) {costs['puback']:.1f} µs, read a QoS 1 PUBLISH and queue its "
          f"PUBACK {costs['incoming']:.1f} µs")


if __name__ == "__main__":
    main()
