"""Discovery: how the daemon and the skills find each other (ping, pong, bye, skills)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Self

from .base import Message, ProtocolError, Topic, read, valid_level

#: The intent a skill declares to receive what nothing else understands.
FALLBACK_INTENT = "__fallback__"


@dataclass(frozen=True)
class Ping(Message):
    TOPIC = Topic("atlas/discovery/ping")
    version: str
    started_at: str

    def params(self) -> dict[str, str]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "started_at": self.started_at}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "discovery ping"
        return cls(read(data, "version", str, what, required=False, default=""),
                   read(data, "started_at", str, what, required=False, default=""))


@dataclass(frozen=True)
class Pong(Message):
    """A skill's description; ``training`` maps a language to chatl text or a snips dataset."""

    TOPIC = Topic("atlas/discovery/pong")
    name: str
    version: str = ""
    author: str = ""
    description: str = ""
    intents: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    training: dict[str, str | dict[str, Any]] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {}

    @property
    def languages(self) -> list[str]:
        return sorted(self.training)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "author": self.author, "description": self.description,
            "version": self.version, "intents": self.intents, "env": self.env,
        }
        if self.training:
            data["training"] = self.training
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "discovery pong"
        name = read(data, "name", str, what)
        if not valid_level(name):
            raise ProtocolError(f"{what}: invalid skill name {name!r}")
        intents = read(data, "intents", dict, what, required=False, default={})
        for intent, slots in intents.items():
            if not valid_level(intent.replace("/", "_")) or not isinstance(slots, list) \
                    or not all(isinstance(s, str) for s in slots):
                raise ProtocolError(f"{what} of {name!r}: intent {intent!r} needs a list of slots")
        env = read(data, "env", dict, what, required=False, default={})
        training = read(data, "training", dict, what, required=False, default={})
        for lang, value in training.items():
            if not isinstance(value, str | dict):
                raise ProtocolError(f"{what} of {name!r}: training for {lang!r} must be "
                                    "chatl text or a snips dataset object")
        return cls(
            name=name,
            version=str(data.get("version") or ""),
            author=str(data.get("author") or ""),
            description=str(data.get("description") or ""),
            intents={k: list(v) for k, v in intents.items()},
            env={str(k): str(v) for k, v in env.items()},
            training=dict(training),
        )


@dataclass(frozen=True)
class Bye(Message):
    """A skill leaving: published on clean stop and set as the SDK's last will."""

    TOPIC = Topic("atlas/discovery/bye")
    name: str

    def params(self) -> dict[str, str]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        return cls(read(data, "name", str, "discovery bye"))


@dataclass(frozen=True)
class SkillSummary:
    """What operators and channels learn about a live skill."""

    name: str
    version: str
    author: str
    description: str
    intents: dict[str, list[str]]
    env: dict[str, str]
    languages: list[str]

    @classmethod
    def of(cls, pong: Pong) -> SkillSummary:
        return cls(pong.name, pong.version, pong.author, pong.description,
                   pong.intents, pong.env, pong.languages)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "author": self.author,
                "description": self.description, "intents": self.intents, "env": self.env,
                "languages": self.languages}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SkillSummary:
        what = "skill summary"
        return cls(read(data, "name", str, what), str(data.get("version") or ""),
                   str(data.get("author") or ""), str(data.get("description") or ""),
                   dict(data.get("intents") or {}), dict(data.get("env") or {}),
                   list(data.get("languages") or []))


@dataclass(frozen=True)
class Skills(Message):
    """Retained list of live skills, published once the interpreter is trained for them.

    ``conflicts`` maps an intent claimed by several skills to the skill chosen.
    """

    TOPIC = Topic("atlas/discovery/skills")
    RETAINED = True
    version: str
    started_at: str
    skills: tuple[SkillSummary, ...]
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": self.version, "started_at": self.started_at,
                                "skills": [s.to_dict() for s in self.skills]}
        if self.conflicts:
            data["conflicts"] = self.conflicts
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "discovery skills"
        skills = read(data, "skills", list, what)
        return cls(read(data, "version", str, what), read(data, "started_at", str, what),
                   tuple(SkillSummary.from_dict(s) for s in skills if isinstance(s, dict)),
                   dict(data.get("conflicts") or {}))
