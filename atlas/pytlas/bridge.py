"""A pytlas skill as an ordinary atlas skill: the parent side of the pytlas host.

The host (:mod:`atlas.pytlas.host`) runs the pytlas skill in pytlas's environment
and says what it declares; this module builds an :class:`atlas.sdk.Skill` from
that declaration whose handlers forward each intent request to the host and turn
what the pytlas handler does back into the request's answers. Everything MQTT
stays in the SDK; the host only ever sees JSON lines.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

from ..protocol import ChannelCreated, ChannelDestroyed
from ..sdk import Card, Request, Skill
from . import host as wire
from .venv import HOST, ensure

log = logging.getLogger("atlas.pytlas")

#: Longest wait, in seconds, for the host's next word in a conversation: a pytlas
#: handler that never calls ``done()`` must not hold its forwarder forever (the
#: daemon has long ended the conversation by then).
IDLE_LIMIT = 600.0
#: Seconds the host may take to import the skill and declare it.
DECLARE_LIMIT = 120.0


Inbox = asyncio.Queue[dict[str, Any]]


class HandlerFailed(RuntimeError):
    """The pytlas handler raised; the message holds its traceback."""


class HostGone(RuntimeError):
    """The host process exited."""


class Child:
    """The host process and the conversations waiting for its messages, by cid."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self._write = threading.Lock()
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, Inbox]] = {}
        self._reader: threading.Thread | None = None

    @classmethod
    def start(cls, python: Path, path: Path) -> Child:
        process = subprocess.Popen(
            [str(python), str(HOST), str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            text=True, encoding="utf-8", bufsize=1)
        return cls(process)

    def declaration(self) -> dict[str, Any]:
        """The host's first line; raises if it dies or says something else first."""
        assert self.process.stdout is not None
        result: dict[str, Any] = {}

        def read() -> None:
            assert self.process.stdout is not None
            line = self.process.stdout.readline()
            if line:
                result.update(json.loads(line))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(DECLARE_LIMIT)
        if result.get("kind") != wire.DECLARE:
            self.stop()
            raise HostGone("the pytlas host could not load the skill (its error is above)")
        return result

    def listen(self, on_exit: Any) -> None:
        """Read the host's messages in a thread; ``on_exit`` runs if it exits."""
        def loop() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    log.warning("pytlas host wrote a line that is not JSON: %r", line[:200])
                    continue
                self._deliver(message)
            code = self.process.wait()
            for loop_, queue in list(self._waiting.values()):
                loop_.call_soon_threadsafe(queue.put_nowait, {"kind": "gone"})
            on_exit(code)

        self._reader = threading.Thread(target=loop, name="pytlas-host", daemon=True)
        self._reader.start()

    def _deliver(self, message: dict[str, Any]) -> None:
        waiting = self._waiting.get(str(message.get("cid")))
        if waiting is None:
            # A handler's thread speaking after its conversation ended: nobody listens.
            log.info("pytlas host: %s for a finished conversation dropped", message.get("kind"))
            return
        loop, queue = waiting
        loop.call_soon_threadsafe(queue.put_nowait, message)

    def open(self, cid: str) -> Inbox:
        queue: Inbox = asyncio.Queue()
        self._waiting[cid] = (asyncio.get_running_loop(), queue)
        return queue

    def close(self, cid: str) -> None:
        self._waiting.pop(cid, None)

    def send(self, kind: str, **data: Any) -> None:
        line = json.dumps({"kind": kind, **data}, ensure_ascii=False) + "\n"
        with self._write:
            assert self.process.stdin is not None
            try:
                self.process.stdin.write(line)
                self.process.stdin.flush()
            except (BrokenPipeError, ValueError):
                raise HostGone("the pytlas host exited") from None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def build_skill(declared: dict[str, Any], child: Child) -> Skill:
    """The atlas skill the declaration describes, forwarding its intents to ``child``."""
    descriptions = {str(k): str(v) for k, v in (declared.get("descriptions") or {}).items()}
    skill = Skill(str(declared["name"]), version=str(declared.get("version") or ""),
                  author=str(declared.get("author") or ""),
                  description=descriptions or str(declared.get("description") or ""),
                  env=dict(declared.get("env") or {}))
    for lang, chatl in sorted((declared.get("training") or {}).items()):
        skill.training(lang, chatl)
    for lang, table in sorted((declared.get("translations") or {}).items()):
        skill.translations(lang, table)
    for intent in declared.get("intents") or []:
        skill.intent(intent)(_forwarder(child))

    @skill.listen(ChannelCreated)
    def created(message: ChannelCreated) -> None:
        child.send(wire.CREATED, sid=message.sid, lang=message.lang)

    @skill.listen(ChannelDestroyed)
    def destroyed(message: ChannelDestroyed) -> None:
        child.send(wire.DESTROYED, sid=message.sid)

    return skill


def _forwarder(child: Child) -> Any:
    async def forward(req: Request) -> None:
        queue = child.open(req.cid)
        try:
            child.send(wire.INTENT, intent=req.intent, cid=req.cid, sid=req.sid, uid=req.uid,
                       lang=req.lang, env=req.env, slots=req.message.rich_slots,
                       choice=req.choice, text=req.text)
            while True:
                message = await asyncio.wait_for(queue.get(), IDLE_LIMIT)
                if await _apply(req, message):
                    return
        except TimeoutError:
            log.warning("pytlas handler of %r said nothing for %.0f s: conversation ended",
                        req.intent, IDLE_LIMIT)
        finally:
            child.close(req.cid)
    return forward


async def _apply(req: Request, message: dict[str, Any]) -> bool:
    """Carry out one of the host's messages; ``True`` when the handler's turn is over."""
    kind = message.get("kind")
    meta = {k: v for k, v in (message.get("meta") or {}).items()
            if not str(k).startswith("__") and k not in ("cards", "text", "slot", "choices")}
    if kind == wire.ANSWER:
        cards = [Card(**_card_fields(c)) if isinstance(c, dict) and c.get("header") else c
                 for c in message.get("cards") or []]
        await req.show(str(message.get("text") or ""), cards=cards or None, **meta)
        return False
    if kind == wire.CONTEXT:
        await req.context(message.get("name"))
        return False
    if kind == wire.ASK:
        await req.ask(str(message["slot"]), str(message.get("text") or ""),
                      message.get("choices") or None, **meta)
        return True
    if kind == wire.DONE:
        return True
    if kind == wire.ERROR:
        raise HandlerFailed(f"pytlas handler of {req.intent!r} raised:\n"
                            + str(message.get("traceback") or ""))
    if kind == "gone":
        raise HostGone("the pytlas host exited during the conversation")
    log.warning("pytlas host: unknown message %r ignored", kind)
    return False


def _card_fields(card: dict[str, Any]) -> dict[str, str]:
    keys = ("header", "text", "subhead", "media", "header_link")
    return {k: str(card[k]) for k in keys if card.get(k) is not None}


def declared_skill(path: Path) -> Skill:
    """What a pytlas skill declares (name, intents, training), read from a host that is
    stopped right after: for `atlas up`, which gives each skill its broker login."""
    requirements = path / "requirements.txt" if path.is_dir() else None
    child = Child.start(ensure(requirements=requirements), path)
    try:
        return build_skill(child.declaration(), child)
    finally:
        child.stop()


def run_pytlas(path: Path, broker: str) -> None:
    """``atlas skill run`` for a pytlas skill: the host, and the atlas skill in front of it."""
    requirements = path / "requirements.txt" if path.is_dir() else None
    python = ensure(requirements=requirements)
    child = Child.start(python, path)
    died: list[int] = []
    stopping = threading.Event()
    try:
        skill = build_skill(child.declaration(), child)

        def exited(code: int) -> None:
            if stopping.is_set():
                return      # we stopped it
            died.append(code)
            log.error("pytlas host exited (code %s): stopping", code)
            os.kill(os.getpid(), signal.SIGTERM)   # the SDK then says bye and returns

        child.listen(exited)
        skill.run(broker)
    finally:
        stopping.set()
        child.stop()
    if died:
        # A failure, so that `atlas up` starts the skill again.
        raise HostGone(f"the pytlas host exited (code {died[0]})")
