"""The independent yardstick of benchmarks/turns.py: plain paho clients, no atlas code.

Each role runs in its own process, started by turns.py, and prints one JSON object
on stdout when done (the long-running ones run until SIGTERM):

    python benchmarks/loadgen.py floor-responder URL
    python benchmarks/loadgen.py floor URL --count 1000
    python benchmarks/loadgen.py ceiling URL [--echo]
    python benchmarks/loadgen.py turns URL --sids 100 --mode repeated --duration 5
    python benchmarks/loadgen.py create URL --prefix idle --start 0 --stop 10000

The load generator (``turns``) subscribes to what it needs, ``channel/created`` and
``channel/terminate`` (the daemon's ``channel/work`` and ``channel/show`` still go
to the broker, which acknowledges them), and keeps every sid busy: each sid's next ``dialog/parse``
leaves from paho's network thread as soon as its ``channel/terminate`` arrives, and
QoS 1 acknowledgements are never waited for one by one (unlimited in-flight window).
Topics are spelled here on purpose: this file checks atlas from the outside.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

QOS = 1
#: Texts for the trivial skill's one intent (turns.py trains it on the same words).
REPEATED = "what is the weather like right now"
#: All-different sentences say when, which the skill takes as a slot: a weather
#: skill is asked about days, and the interpreter then fills a slot every time.
TEMPLATES = (
    "what will the weather be like in {n} days",
    "tell me the weather forecast in {n} days",
    "how is the weather going to be in {n} days",
    "weather forecast in {n} days please",
)


def different(n: int) -> str:
    """The n-th all-different sentence: never repeats, still the same intent."""
    return TEMPLATES[n % len(TEMPLATES)].format(n=n // len(TEMPLATES) + 2)


def connect(url: str, name: str, *, on_message: Callable[..., None] | None = None,
            subscriptions: tuple[str, ...] = ()) -> paho.Client:
    """A connected client with TCP_NODELAY, an unlimited in-flight window, subscribed."""
    address = urlparse(url)
    client = paho.Client(CallbackAPIVersion.VERSION2,
                         client_id=f"{name}-{uuid.uuid4().hex[:8]}", clean_session=True)
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    if on_message is not None:
        client.on_message = on_message
    client.connect(address.hostname or "127.0.0.1", address.port or 1883, keepalive=60)
    sock = client.socket()
    if isinstance(sock, socket.socket):
        # Without it every QoS 1 hop can wait on Nagle and the peer's delayed ACK.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if subscriptions:
        client.subscribe([(topic, QOS) for topic in subscriptions])
    return client


def wait_subscribed(client: paho.Client, timeout: float = 10.0) -> None:
    """Drive a not-yet-started client until its SUBACK is in (the caller then loop_start()s)."""
    done = threading.Event()
    previous = client.on_subscribe
    client.on_subscribe = lambda *_: done.set()
    deadline = time.monotonic() + timeout
    while not done.is_set():
        if time.monotonic() > deadline:
            raise TimeoutError("no SUBACK from the broker")
        client.loop(0.05)
    client.on_subscribe = previous


def quantiles(seconds: list[float], samples: bool = False) -> dict[str, Any]:
    """Median, p90, p99 and max in ms; ``samples`` adds every value (to pool runs)."""
    if not seconds:
        return {"n": 0, "median_ms": float("nan"), "p90_ms": float("nan"), "p99_ms": float("nan")}
    ms = sorted(s * 1000 for s in seconds)
    at = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return {"n": len(ms), "median_ms": statistics.median(ms), "p90_ms": at(0.9),
            "p99_ms": at(0.99), "max_ms": ms[-1],
            **({"samples_ms": [round(m, 4) for m in ms]} if samples else {})}


def emit(result: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def until_terminated() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    return stop


# -- the floor: raw request/reply --------------------------------------------------

def floor_responder(url: str) -> None:
    def reply(client: paho.Client, _: Any, message: paho.MQTTMessage) -> None:
        client.publish("bench/floor/rep", message.payload, qos=QOS)

    client = connect(url, "floor-responder", on_message=reply,
                     subscriptions=("bench/floor/req",))
    wait_subscribed(client)
    client.loop_start()
    emit({"ready": True})
    until_terminated().wait()
    client.loop_stop()


def floor(url: str, count: int, warmup: int, samples: bool = False) -> None:
    """Sequential QoS 1 request/reply; the next request leaves from the reply's callback."""
    rtts: list[float] = []
    done = threading.Event()
    state = {"sent": 0.0, "i": 0}

    def send(client: paho.Client) -> None:
        state["sent"] = time.perf_counter()
        client.publish("bench/floor/req", b"%d" % state["i"], qos=QOS)

    def reply(client: paho.Client, _: Any, message: paho.MQTTMessage) -> None:
        rtts.append(time.perf_counter() - state["sent"])
        state["i"] += 1
        if state["i"] >= count + warmup:
            done.set()
        else:
            send(client)

    client = connect(url, "floor", on_message=reply, subscriptions=("bench/floor/rep",))
    wait_subscribed(client)
    client.loop_start()
    send(client)
    done.wait(60 + count * 0.05)
    client.loop_stop()
    emit(quantiles(rtts[warmup:], samples))


# -- the ceiling: daemon and skill played by one single-threaded paho loop ---------

def ceiling(url: str, echo: bool) -> None:
    """Seven QoS 1 messages per turn, no interpretation; ``echo``: the load generator's own cap.

    With ``echo`` a ``dialog/parse`` is answered at once with ``channel/work``,
    ``channel/show`` and ``channel/terminate``: what the load generator receives
    per turn, with nothing in between.
    """
    intent = "atlas/intents/ceiling_weather"

    def on_daemon(client: paho.Client, _: Any, message: paho.MQTTMessage) -> None:
        topic = message.topic
        sid = topic.split("/")[1]
        if topic.endswith("/dialog/parse"):
            cid = uuid.uuid4().hex
            client.publish(f"atlas/{sid}/channel/work", b"{}", qos=QOS)
            if echo:
                client.publish(f"atlas/{sid}/channel/show", b'{"text":"sunny"}', qos=QOS)
                client.publish(f"atlas/{sid}/channel/terminate", b'{"reason":"nominal"}', qos=QOS)
                return
            request = {"__cid": cid, "__sid": sid, "__uid": "bench", "__lang": "en",
                       "__version": "0", "__env": {}, "__slots": {},
                       "__text": message.payload.decode()}
            client.publish(intent, json.dumps(request), qos=QOS)
        elif topic.endswith("/dialog/show"):
            show = json.loads(message.payload)
            client.publish(f"atlas/{sid}/channel/show", json.dumps({"text": show["text"]}),
                           qos=QOS)
        elif topic.endswith("/dialog/terminate"):
            client.publish(f"atlas/{sid}/channel/terminate", b'{"reason":"nominal"}', qos=QOS)
        elif topic.endswith("/channel/create"):
            client.publish(f"atlas/{sid}/channel/created", b'{"lang":"en"}', qos=QOS)
        elif topic.endswith("/channel/destroy"):
            client.publish(f"atlas/{sid}/channel/destroyed", b"{}", qos=QOS)

    def on_skill(client: paho.Client, _: Any, message: paho.MQTTMessage) -> None:
        request = json.loads(message.payload)
        sid, cid = request["__sid"], request["__cid"]
        client.publish(f"atlas/{sid}/dialog/show", json.dumps({"__cid": cid, "text": "sunny"}),
                       qos=QOS)
        client.publish(f"atlas/{sid}/dialog/terminate", json.dumps({"__cid": cid}), qos=QOS)

    daemon = connect(url, "ceiling-daemon", on_message=on_daemon, subscriptions=(
        "atlas/+/dialog/parse", "atlas/+/dialog/show", "atlas/+/dialog/terminate",
        "atlas/+/channel/create", "atlas/+/channel/destroy"))
    skill = connect(url, "ceiling-skill", on_message=on_skill, subscriptions=(intent,))
    for each in (daemon, skill):
        wait_subscribed(each)
    emit({"ready": True})
    stop = until_terminated()
    clients = (daemon, skill)
    # paho's external-loop pattern: one thread, select() over both sockets.
    while not stop.is_set():
        sockets: dict[Any, paho.Client] = {c.socket(): c for c in clients}
        writers = [s for s, c in sockets.items() if c.want_write()]
        try:
            readable, writable, _ = select.select(list(sockets), writers, [], 0.2)
        except InterruptedError:
            continue
        for sock in readable:
            sockets[sock].loop_read(100)
        for sock in writable:
            sockets[sock].loop_write()
        for client in clients:
            if client.want_write():
                client.loop_write()
            client.loop_misc()


# -- the load generator -------------------------------------------------------------

class Load:
    """Keeps ``sids`` conversations busy; counts turns completed in the measured window."""

    def __init__(self, url: str, prefix: str, sids: int, mode: str, rate: float,
                 samples: bool = False) -> None:
        self.url = url
        self.samples = samples
        self.sids = [f"{prefix}-{i}" for i in range(sids)]
        self.mode = mode
        self.rate = rate
        self.sent: dict[str, float] = {}
        self.created: set[str] = set()
        self.all_created = threading.Event()
        self.running = False
        self.n = 0
        self.window: tuple[float, float] = (float("inf"), float("inf"))
        self.latencies: list[float] = []
        self.completed = 0
        self.not_understood = 0
        self.other = 0
        self.idle: list[str] = []
        self.lock = threading.Lock()
        self.client = connect(url, "loadgen", on_message=self.on_message,
                              subscriptions=(
                                  "atlas/+/channel/terminate", "atlas/+/channel/created"))

    def text(self) -> str:
        if self.mode == "repeated":
            return REPEATED
        self.n += 1
        return different(self.n)

    def send(self, sid: str) -> None:
        self.sent[sid] = time.perf_counter()
        self.client.publish(f"atlas/{sid}/dialog/parse", self.text().encode(), qos=QOS)

    def on_message(self, client: paho.Client, _: Any, message: paho.MQTTMessage) -> None:
        topic = message.topic
        if topic.endswith("/channel/terminate"):
            sid = topic.split("/")[1]
            started = self.sent.pop(sid, None)
            if started is None:
                return
            now = time.perf_counter()
            if self.window[0] <= now <= self.window[1]:
                self.completed += 1
                self.latencies.append(now - started)
                if b"not_understood" in message.payload:
                    self.not_understood += 1
                elif b"nominal" not in message.payload:
                    self.other += 1
            if self.running:
                if self.rate:
                    with self.lock:
                        self.idle.append(sid)
                else:
                    self.send(sid)
        elif topic.endswith("/channel/created"):
            sid = topic.split("/")[1]
            if sid not in self.created:
                self.created.add(sid)
                if len(self.created) == len(self.sids):
                    self.all_created.set()

    def run(self, duration: float, warmup: float, count: int) -> dict[str, Any]:
        wait_subscribed(self.client)
        self.client.loop_start()
        for sid in self.sids:
            self.client.publish(f"atlas/{sid}/channel/create", b'{"uid":"bench"}', qos=QOS)
        if not self.all_created.wait(60):
            raise TimeoutError(f"{len(self.created)}/{len(self.sids)} sids created")
        self.running = True
        start = time.perf_counter()
        self.window = (start + warmup, start + warmup + duration if not count else float("inf"))
        if self.rate:
            self._paced(duration + warmup)
        else:
            for sid in self.sids:
                self.send(sid)
            pause = self.window[0] - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            # turns.py reads the processes' CPU time at these marks.
            emit({"mark": "start"})
            deadline = start + warmup + (duration if not count else 600)
            while time.perf_counter() < deadline and not (count and self.completed >= count):
                time.sleep(0.005)
            emit({"mark": "end"})
        end = time.perf_counter()
        self.running = False
        measured = (min(end, self.window[1]) - self.window[0])
        # Let the conversations in flight finish, then forget the sids.
        deadline = time.monotonic() + 10
        while self.sent and time.monotonic() < deadline:
            time.sleep(0.01)
        stuck = len(self.sent)
        for sid in self.sids:
            self.client.publish(f"atlas/{sid}/channel/destroy", b"{}", qos=QOS)
        time.sleep(0.2)
        self.client.loop_stop()
        return {"sids": len(self.sids), "mode": self.mode, "turns": self.completed,
                "seconds": measured, "turns_per_s": self.completed / measured,
                "not_understood": self.not_understood, "other_endings": self.other,
                "unfinished": stuck, **quantiles(self.latencies, self.samples)}

    def _paced(self, seconds: float) -> None:
        """A fixed rate of new turns, each on a sid that has finished its previous one."""
        self.idle = list(self.sids)
        interval = 1 / self.rate
        due = time.perf_counter()
        end = due + seconds
        while due < end:
            due += interval
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            with self.lock:
                sid = self.idle.pop() if self.idle else None
            if sid is not None:
                self.send(sid)


def create(url: str, prefix: str, start: int, stop: int, window: int) -> None:
    """Create idle sids, at most ``window`` awaiting their ``channel/created`` at a time."""
    created = threading.Semaphore(0)
    count = {"n": 0}

    def on_message(client: paho.Client, _: Any, message: paho.MQTTMessage) -> None:
        count["n"] += 1
        created.release()

    client = connect(url, "creator", on_message=on_message,
                     subscriptions=("atlas/+/channel/created",))
    wait_subscribed(client)
    client.loop_start()
    began = time.perf_counter()
    for i in range(start, stop):
        if i - start >= window and not created.acquire(timeout=30):
            break
        client.publish(f"atlas/{prefix}-{i}/channel/create", b'{"uid":"idle"}', qos=QOS)
    deadline = time.monotonic() + 60
    while count["n"] < stop - start and time.monotonic() < deadline:
        time.sleep(0.01)
    elapsed = time.perf_counter() - began
    client.loop_stop()
    emit({"created": count["n"], "asked": stop - start, "seconds": elapsed,
          "per_s": count["n"] / elapsed})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    roles = parser.add_subparsers(dest="role", required=True)
    roles.add_parser("floor-responder").add_argument("url")
    each = roles.add_parser("floor")
    each.add_argument("url")
    each.add_argument("--count", type=int, default=1000)
    each.add_argument("--warmup", type=int, default=50)
    each.add_argument("--samples", action="store_true", help="also print every round trip")
    each = roles.add_parser("ceiling")
    each.add_argument("url")
    each.add_argument("--echo", action="store_true")
    each = roles.add_parser("turns")
    each.add_argument("url")
    each.add_argument("--sids", type=int, default=1)
    each.add_argument("--mode", choices=["repeated", "different"], default="repeated")
    each.add_argument("--duration", type=float, default=5.0)
    each.add_argument("--warmup", type=float, default=1.0)
    each.add_argument("--count", type=int, default=0,
                      help="stop after this many measured turns instead of --duration")
    each.add_argument("--rate", type=float, default=0.0, help="paced turns per second (soak)")
    each.add_argument("--prefix", default=f"load-{os.getpid()}")
    each.add_argument("--samples", action="store_true", help="also print every turn's time")
    each = roles.add_parser("create")
    each.add_argument("url")
    each.add_argument("--prefix", default="idle")
    each.add_argument("--start", type=int, default=0)
    each.add_argument("--stop", type=int, default=10000)
    each.add_argument("--window", type=int, default=500)
    args = parser.parse_args()
    if args.role == "floor-responder":
        floor_responder(args.url)
    elif args.role == "floor":
        floor(args.url, args.count, args.warmup, args.samples)
    elif args.role == "ceiling":
        ceiling(args.url, args.echo)
    elif args.role == "turns":
        load = Load(args.url, args.prefix, args.sids, args.mode, args.rate, args.samples)
        emit(load.run(args.duration, args.warmup, args.count))
    elif args.role == "create":
        create(args.url, args.prefix, args.start, args.stop, args.window)


if __name__ == "__main__":
    main()
