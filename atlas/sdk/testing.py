"""Testing skills.

Two levels:

- :class:`Recorder` calls a handler directly, without any broker, and records what
  it would publish: fast checks of a skill's logic.
- :class:`SkillTester` runs the skill against a real broker and the real daemon,
  opens a channel and lets a test talk to it like a user: the end-to-end check.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Coroutine
from typing import Any

from ..protocol import (
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogShow,
    DialogTerminate,
    IntentRequest,
    Message,
)
from .request import Outbox, Outgoing, RawPublish, Request, Sent
from .skill import Skill

__all__ = ["Recorder"]


class Recorder(Outbox):
    """An outbox that keeps what a skill says, to test handlers with no broker::

        rec = Recorder(skill)
        out = await rec.call("set_timer", lang="fr")
        assert isinstance(out[-1], DialogAsk)
    """

    def __init__(self, skill: Skill, *, sid: str = "test-sid", uid: str = "tester",
                 version: str = "test") -> None:
        self.skill = skill
        self.sid = sid
        self.uid = uid
        self.version = version
        self.sent: list[Outgoing] = []
        self.tasks: list[asyncio.Task[Any]] = []

    def send(self, item: Outgoing) -> Sent:
        self.sent.append(item)
        return Sent.completed()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    def request(self, intent: str, *, lang: str = "en", cid: str | None = None,
                choice: str | None = None, env: dict[str, Any] | None = None,
                text: str = "", rich: dict[str, list[dict[str, Any]]] | None = None,
                **slots: Any) -> IntentRequest:
        """The message the daemon would send for this intent."""
        return IntentRequest(intent=intent, cid=cid or uuid.uuid4().hex, sid=self.sid,
                             uid=self.uid, lang=lang, version=self.version,
                             env={key: None for key in self.skill.env} | (env or {}),
                             slots=slots, rich_slots=rich or {}, choice=choice, text=text)

    async def call(self, intent: str, **kwargs: Any) -> list[Outgoing]:
        """Run the handler once; returns only what this call published."""
        start = len(self.sent)
        await self.skill.handle(self.request(intent, **kwargs), self)
        return self.sent[start:]

    async def handle(self, message: IntentRequest) -> Request | None:
        return await self.skill.handle(message, self)

    async def close(self) -> None:
        """Cancel the background jobs the skill spawned (timers)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @staticmethod
    def describe(items: list[Outgoing]) -> list[tuple[str, Any]]:
        """A compact view for assertions: ``[("show", text), ("terminate", None)]``."""
        return [_describe(item) for item in items]


def _describe(item: Outgoing | Message) -> tuple[str, Any]:
    match item:
        case DialogShow():
            return ("show", item.text)
        case DialogAsk():
            return ("ask", item.text)
        case DialogTerminate():
            return ("terminate", None)
        case DialogNotify():
            return ("notify", item.text)
        case DialogContext():
            return ("context", item.name)
        case RawPublish():
            return ("publish", item.topic)
    return (type(item).__name__, None)
