"""A skill's declaration (name, training data, translations, handlers) and how it
answers one intent request. No MQTT here: :mod:`atlas.sdk.running` connects it.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from ..nlu import TrainingDataError, load_training
from ..protocol import (
    FALLBACK_INTENT,
    WELCOME_INTENT,
    EnvSetting,
    IntentRequest,
    Message,
    Pong,
    ProtocolError,
    topic_for,
    valid_level,
)
from .i18n import Translations
from .request import Outbox, Request
from .running import Listener, RunningSkill, run_forever

log = logging.getLogger("atlas.sdk")

Handler = Callable[[Request], Awaitable[Any]] | Callable[[Request], Any]
H = TypeVar("H", bound=Callable[..., Any])

#: Training files are named after their language: ``en.chatl``, ``fr.json``.
TRAINING_SUFFIXES = (".chatl", ".json")


class SkillError(ValueError):
    """A skill declared inconsistently (bad name, training without handler…)."""


def _texts(value: str | Mapping[str, str], what: str) -> dict[str, str]:
    """A text in English, or ``{lang: text}``."""
    if isinstance(value, str):
        return {"en": value} if value else {}
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise SkillError(f"{what} must be a text or a mapping of language to text")
    return dict(value)


def _setting(key: str, value: str | Mapping[str, Any]) -> EnvSetting:
    if isinstance(value, str):
        return EnvSetting(value)
    data = dict(value)
    if "description" in data:
        data["description"] = _texts(data["description"], f"env {key!r}: description")
    try:
        return EnvSetting.from_wire(data, f"env {key!r}")
    except ProtocolError as error:
        raise SkillError(str(error)) from None


class Skill:
    """Everything the daemon needs to know about a skill, and its handlers.

    ``description`` is a text in English, or ``{lang: text}``. ``env`` maps the
    settings the skill reads from ``__env`` to a type name (``"string"``,
    ``"list"``…), or to ``{"type", "description", "default", "example"}`` (the
    description a text in English or ``{lang: text}``), as shown to users;
    ``intents`` declares the slots of intents that have no training data of their own.
    """

    def __init__(self, name: str, *, version: str = "0.0.0", author: str = "",
                 description: str | Mapping[str, str] = "",
                 env: Mapping[str, str | Mapping[str, Any]] | None = None,
                 intents: Mapping[str, list[str]] | None = None) -> None:
        if not valid_level(name):
            raise SkillError(f"invalid skill name {name!r}: no '/', '+', '#', 1-128 characters")
        self.name = name
        self.version = version
        self.author = author
        texts = _texts(description, "description")
        self.description = texts.pop("en", "")
        self.descriptions = texts
        self.env: dict[str, str] = {}
        self.env_details: dict[str, EnvSetting] = {}
        for key, value in (env or {}).items():
            setting = _setting(key, value)
            self.env[str(key)] = setting.type
            if not setting.plain:
                self.env_details[str(key)] = setting
        self._declared: dict[str, list[str]] = {k: list(v) for k, v in (intents or {}).items()}
        self._training: dict[str, str | dict[str, Any]] = {}
        self._trained_slots: dict[str, list[str]] = {}
        self._handlers: dict[str, Handler] = {}
        self._coroutines: set[str] = set()   # intents whose handler is an async def
        self._listeners: dict[type[Message], list[Listener]] = {}
        self._translations = Translations()

    def __repr__(self) -> str:
        return f"Skill({self.name!r}, version={self.version!r})"

    # Declaration.

    def training(self, lang: str, data: str | Mapping[str, Any]) -> None:
        """Training data for one language: chatl text or a snips-format dataset.

        It is checked right away, so a mistake points at its line when the skill loads.
        """
        if not isinstance(data, str | Mapping):
            raise SkillError(f"{self.name}: training for {lang!r} must be chatl text or a dict")
        value: str | dict[str, Any] = data if isinstance(data, str) else dict(data)
        dataset = load_training(value, source=self.name, lang=lang)
        self._training[lang] = value
        for intent in dataset.intents:
            slots = self._trained_slots.setdefault(intent, [])
            for slot in dataset.slot_entities(intent):
                if slot not in slots:
                    slots.append(slot)

    def training_file(self, lang: str, path: str | Path) -> None:
        """Training data from a ``.chatl`` file or a snips ``.json`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise SkillError(f"{self.name}: cannot read {path}: {error.strerror}") from None
        if path.suffix == ".json":
            try:
                self.training(lang, json.loads(text))
            except json.JSONDecodeError as error:
                raise TrainingDataError(f"{path.name} is not JSON ({error.msg})", source=self.name,
                                        lang=lang, line=error.lineno) from None
        else:
            self.training(lang, text)

    def training_dir(self, path: str | Path) -> None:
        """Every ``<lang>.chatl`` / ``<lang>.json`` file of a folder."""
        folder = Path(path)
        files = sorted(p for p in folder.glob("*") if p.suffix in TRAINING_SUFFIXES)
        if not files:
            raise SkillError(f"{self.name}: no .chatl or .json training files in {folder}")
        for file in files:
            self.training_file(file.stem, file)

    def translations(self, lang: str, table: Mapping[str, str]) -> None:
        """Translations of the skill's sentences, used by ``req._(text)``."""
        self._translations.add(lang, table)

    def intent(self, name: str) -> Callable[[H], H]:
        """Decorator: ``@skill.intent("set_timer")`` on an ``async def`` or a plain function."""
        try:
            topic_for(name)
        except ValueError:
            raise SkillError(f"{self.name}: invalid intent name {name!r}") from None

        def register(handler: H) -> H:
            if name in self._handlers:
                raise SkillError(f"{self.name}: intent {name!r} has two handlers")
            self._handlers[name] = handler
            if inspect.iscoroutinefunction(handler):
                self._coroutines.add(name)
            return handler

        return register

    def welcome(self, handler: H) -> H:
        """Decorator: the handler welcomes new conversations of channels that ask for it
        (a chat widget's new session); what it shows is the welcome."""
        return self.intent(WELCOME_INTENT)(handler)

    def listen(self, kind: type[Message]) -> Callable[[H], H]:
        """Decorator: call the function with every ``kind`` message (e.g. ``Skills``)."""
        if not (isinstance(kind, type) and issubclass(kind, Message)) or kind is IntentRequest:
            raise SkillError("listen() takes a protocol message class other than IntentRequest")

        def register(handler: H) -> H:
            self._listeners.setdefault(kind, []).append(handler)
            return handler

        return register

    # What the SDK derives.

    @property
    def intents(self) -> dict[str, list[str]]:
        """``{intent: [slots]}`` for the pong: handled intents, slots from the training data."""
        result: dict[str, list[str]] = {}
        for intent in self._handlers:
            result[intent] = list(self._trained_slots.get(intent)
                                  or self._declared.get(intent) or [])
        return result

    @property
    def listeners(self) -> dict[type[Message], list[Listener]]:
        return self._listeners

    def check(self) -> None:
        """Refuse a skill the daemon would route to nowhere; warn about untrained intents."""
        if not self._handlers:
            raise SkillError(f"{self.name}: no intent handler (use @skill.intent)")
        orphans = sorted(set(self._trained_slots) - set(self._handlers))
        if orphans:
            raise SkillError(f"{self.name}: training data for intents without a handler: "
                             + ", ".join(orphans))
        for intent in self._handlers:
            # Fallbacks (global, or a context's) take what nothing else covers.
            if intent.rsplit("/", 1)[-1] != FALLBACK_INTENT and intent != WELCOME_INTENT \
                    and intent not in self._trained_slots:
                log.warning("skill %s: intent %r has no training data; only other skills' "
                            "data or contexts can trigger it", self.name, intent)

    def pong(self) -> Pong:
        return Pong(name=self.name, version=self.version, author=self.author,
                    description=self.description, intents=self.intents, env=dict(self.env),
                    training=dict(self._training), descriptions=dict(self.descriptions),
                    env_details=dict(self.env_details))

    # Handling.

    async def handle(self, message: IntentRequest, outbox: Outbox) -> Request | None:
        """Run the handler for one request; always leaves the conversation answered.

        A handler that returns without asking or terminating is terminated for; one
        that raises is logged and answered with a localized apology, so the daemon
        never waits for a timeout because of a Python error.
        """
        handler = self._handlers.get(message.intent)
        if handler is None:
            log.warning("skill %s: no handler for intent %r", self.name, message.intent)
            return None
        request = Request(message, outbox, self._translations)
        try:
            if message.intent in self._coroutines:
                await handler(request)
            else:
                result = await asyncio.to_thread(handler, request)
                if inspect.isawaitable(result):
                    await result
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("skill %s: handler of %r failed (cid %s)", self.name,
                          message.intent, message.cid)
            if not request.terminated:
                request.show(request._("Sorry, something went wrong."))
                request.terminate(error=True)
            return request
        if not (request.asked or request.terminated):
            request.terminate()
        return request

    # Running.

    def connect(self, broker: str = "mqtt://127.0.0.1:1883", *,
                retry: bool = False) -> RunningSkill:
        """``async with skill.connect(url) as running: await running.serve()``.

        With ``retry`` the connection is attempted until it succeeds (a skill started
        before its broker); otherwise entering raises ``ConnectionError``.
        """
        return RunningSkill(self, broker, retry=retry)

    def run(self, broker: str | None = None) -> None:
        """Serve until SIGINT/SIGTERM, then say bye. ``broker`` defaults to ``ATLAS_BROKER``."""
        run_forever(self, broker)
