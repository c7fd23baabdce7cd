"""Discovery: how the daemon and the skills find each other (ping, pong, bye, skills)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Self

from .base import Message, ProtocolError, Topic, read, valid_level

#: The intent a skill declares to receive what nothing else understands.
FALLBACK_INTENT = "__fallback__"
#: The intent a skill declares to welcome a new conversation (``channel/create``
#: with ``welcome``); never trained, never parsed to.
WELCOME_INTENT = "__welcome__"


def _texts(value: Any, what: str) -> dict[str, str]:
    """A ``{lang: text}`` object, as descriptions in several languages are given."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ProtocolError(f"{what} must be an object of language: text")
    return {k: v for k, v in value.items() if v.strip()}


def in_language(texts: dict[str, str], lang: str) -> str:
    """The text for ``lang`` (``fr_CA`` finds ``fr``), or ``""``."""
    base = lang.replace("-", "_").split("_")[0].lower()
    return texts.get(lang) or texts.get(base) or ""


@dataclass(frozen=True)
class EnvSetting:
    """How a skill describes a setting (an addition to the seed protocol's type string).

    On the wire, a setting with only a type stays a type string, as the seed has it;
    one with a description, a default or an example is an object
    ``{"type", "description": {lang: text}, "default", "example"}``.
    """

    type: str = "string"
    description: dict[str, str] = field(default_factory=dict)
    default: Any = None
    example: Any = None

    @property
    def plain(self) -> bool:
        return not self.description and self.default is None and self.example is None

    def to_wire(self) -> str | dict[str, Any]:
        if self.plain:
            return self.type
        data: dict[str, Any] = {"type": self.type}
        if self.description:
            data["description"] = self.description
        for key in ("default", "example"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data

    @classmethod
    def from_wire(cls, value: Any, what: str) -> EnvSetting:
        if isinstance(value, str):
            return cls(value)
        if not isinstance(value, dict):
            raise ProtocolError(f"{what} must be a type name or an object")
        kind = value.get("type", "string")
        if not isinstance(kind, str):
            raise ProtocolError(f"{what}: 'type' must be a string")
        return cls(kind, _texts(value.get("description"), f"{what}: 'description'"),
                   value.get("default"), value.get("example"))


def _env(data: dict[str, Any], what: str) -> tuple[dict[str, str], dict[str, EnvSetting]]:
    """Env entries as types, and the details of the described ones."""
    env = read(data, "env", dict, what, required=False, default={})
    types: dict[str, str] = {}
    details: dict[str, EnvSetting] = {}
    for key, value in env.items():
        setting = EnvSetting.from_wire(value, f"{what}: env {key!r}")
        types[str(key)] = setting.type
        if not setting.plain:
            details[str(key)] = setting
    return types, details


def _env_wire(types: dict[str, str], details: dict[str, EnvSetting]) -> dict[str, Any]:
    return {key: details[key].to_wire() if key in details else kind
            for key, kind in types.items()}


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
    """A skill's description; ``training`` maps a language to chatl text or a snips dataset.

    ``env`` maps each setting to its type; ``env_details`` describes some of them
    (see :class:`EnvSetting`). ``descriptions`` has the skill's description in other
    languages than ``description``'s (English): both are additions to the seed.
    """

    TOPIC = Topic("atlas/discovery/pong")
    name: str
    version: str = ""
    author: str = ""
    description: str = ""
    intents: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    training: dict[str, str | dict[str, Any]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    env_details: dict[str, EnvSetting] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {}

    @property
    def languages(self) -> list[str]:
        return sorted(self.training)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "author": self.author, "description": self.description,
            "version": self.version, "intents": self.intents,
            "env": _env_wire(self.env, self.env_details),
        }
        if self.descriptions:
            data["descriptions"] = self.descriptions
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
        env, env_details = _env(data, f"{what} of {name!r}")
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
            env=env,
            training=dict(training),
            descriptions=_texts(data.get("descriptions"), f"{what} of {name!r}: 'descriptions'"),
            env_details=env_details,
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
    descriptions: dict[str, str] = field(default_factory=dict)
    env_details: dict[str, EnvSetting] = field(default_factory=dict)
    #: Where the daemon got the skill's training data: "skill" (its pong), the
    #: training_dir folder it read, or "" (none). Known to the daemon only.
    training_from: str = ""
    #: Intents with no training example in any language (fallbacks excepted).
    untrained: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, pong: Pong) -> SkillSummary:
        return cls(pong.name, pong.version, pong.author, pong.description,
                   pong.intents, pong.env, pong.languages, pong.descriptions, pong.env_details)

    def description_in(self, lang: str) -> str:
        """The description in ``lang``; ``description`` is the English one."""
        return in_language({"en": self.description, **self.descriptions}, lang)

    def setting(self, key: str) -> EnvSetting:
        return self.env_details.get(key) or EnvSetting(self.env.get(key, "string"))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name, "version": self.version, "author": self.author,
            "description": self.description, "intents": self.intents,
            "env": _env_wire(self.env, self.env_details), "languages": self.languages}
        if self.descriptions:
            data["descriptions"] = self.descriptions
        if self.training_from:
            data["training_from"] = self.training_from
        if self.untrained:
            data["untrained"] = self.untrained
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SkillSummary:
        what = "skill summary"
        name = read(data, "name", str, what)
        env, env_details = _env(data, f"{what} of {name!r}")
        return cls(name, str(data.get("version") or ""),
                   str(data.get("author") or ""), str(data.get("description") or ""),
                   dict(data.get("intents") or {}), env,
                   list(data.get("languages") or []),
                   _texts(data.get("descriptions"), f"{what} of {name!r}: 'descriptions'"),
                   env_details, str(data.get("training_from") or ""),
                   [str(i) for i in data.get("untrained") or []])


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


def with_daemon_view(summary: SkillSummary, daemon: Skills | None) -> SkillSummary:
    """A skill's own summary (from its pong) with what only the daemon knows of it."""
    known = next((s for s in daemon.skills if s.name == summary.name), None) if daemon else None
    if known is None:
        return summary
    return replace(summary, training_from=known.training_from, untrained=known.untrained)
