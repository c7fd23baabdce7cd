"""Discovery: how the daemon and the skills find each other (ping, pong, bye, skills)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from typing import Any, Self

from .base import Message, ProtocolError, Topic, read, valid_level

#: The intent a skill declares to receive what nothing else understands.
FALLBACK_INTENT = "__fallback__"
#: The intent a skill declares to welcome a new conversation (``channel/create``
#: with ``welcome``); never trained, never parsed to.
WELCOME_INTENT = "__welcome__"

# What one pong may hold. Any skill login can publish a pong, so a pong is checked
# as strictly as any message; the training data's content is checked when loaded
# (atlas.nlu.limits), these bound its size and shape.
MAX_INTENTS = 200
MAX_SLOTS = 64
MAX_ENV = 64
MAX_LANGUAGES = 16
MAX_TRAINING_CHARS = 256 * 1024
MAX_FIELD = 2000
_LANG = re.compile(r"^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$")


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
    if len(env) > MAX_ENV:
        raise ProtocolError(f"{what}: {len(env)} env keys, more than {MAX_ENV}")
    types: dict[str, str] = {}
    details: dict[str, EnvSetting] = {}
    for key, value in env.items():
        if not valid_level(key):
            raise ProtocolError(f"{what}: invalid env name {key!r}")
        setting = EnvSetting.from_wire(value, f"{what}: env {key!r}")
        if len(setting.type) > MAX_FIELD:
            raise ProtocolError(f"{what}: env {key!r}: type name too long")
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
        what = f"{what} of {name!r}"
        env, env_details = _env(data, what)
        return cls(
            name=name,
            version=_field(data, "version", what),
            author=_field(data, "author", what),
            description=_field(data, "description", what),
            intents=_intents(read(data, "intents", dict, what, required=False, default={}), what),
            env=env,
            training=_training(read(data, "training", dict, what, required=False, default={}),
                               what),
            descriptions=_texts(data.get("descriptions"), f"{what}: 'descriptions'"),
            env_details=env_details,
        )


def _field(data: dict[str, Any], key: str, what: str) -> str:
    """A descriptive text; numbers are taken as text (``"version": 2``)."""
    value = read(data, key, (str, int, float), what, required=False, default="")
    text = str(value)
    if len(text) > MAX_FIELD:
        raise ProtocolError(f"{what}: {key!r} longer than {MAX_FIELD} characters")
    return text


def _intents(intents: dict[str, Any], what: str) -> dict[str, list[str]]:
    if len(intents) > MAX_INTENTS:
        raise ProtocolError(f"{what}: {len(intents)} intents, more than {MAX_INTENTS}")
    for intent, slots in intents.items():
        if not all(valid_level(level) for level in intent.split("/")) \
                or not isinstance(slots, list) or len(slots) > MAX_SLOTS \
                or not all(isinstance(s, str) and valid_level(s) for s in slots):
            raise ProtocolError(f"{what}: intent {intent!r} needs a list of at most "
                                f"{MAX_SLOTS} slot names")
    return {k: list(v) for k, v in intents.items()}


def _training(training: dict[str, Any], what: str) -> dict[str, str | dict[str, Any]]:
    if len(training) > MAX_LANGUAGES:
        raise ProtocolError(f"{what}: training for {len(training)} languages, "
                            f"more than {MAX_LANGUAGES}")
    for lang, value in training.items():
        if not _LANG.match(lang):
            raise ProtocolError(f"{what}: {lang!r} is not a language code")
        if isinstance(value, str):
            if len(value) > MAX_TRAINING_CHARS:
                raise ProtocolError(f"{what}: training for {lang!r} longer than "
                                    f"{MAX_TRAINING_CHARS} characters")
        elif isinstance(value, dict):
            intents = value.get("intents", value)
            if isinstance(intents, dict) and len(intents) > MAX_INTENTS:
                raise ProtocolError(f"{what}: training for {lang!r} has more than "
                                    f"{MAX_INTENTS} intents")
        else:
            raise ProtocolError(f"{what}: training for {lang!r} must be chatl text or "
                                "a snips dataset object")
    return dict(training)


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
class SkillPong(Pong):
    """A pong on the skill's own topic, ``atlas/discovery/pong/{skill}``.

    With per-skill broker logins (``atlas acl``) only that skill may publish there,
    so a pong on it speaks for that skill alone: one naming another skill is
    refused. The seed's shared topic stays readable for skills without logins.
    """

    TOPIC = Topic("atlas/discovery/pong/{skill}")

    def params(self) -> dict[str, str]:
        return {"skill": self.name}

    @classmethod
    def of(cls, pong: Pong) -> SkillPong:
        return cls(**{f.name: getattr(pong, f.name) for f in fields(Pong)})

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        pong = super().from_dict(params, data)
        if pong.name != params["skill"]:
            raise ProtocolError(f"pong on {params['skill']!r}'s topic names {pong.name!r}")
        return pong


@dataclass(frozen=True)
class SkillBye(Bye):
    """A bye (or last will) on the skill's own topic: see :class:`SkillPong`."""

    TOPIC = Topic("atlas/discovery/bye/{skill}")

    def params(self) -> dict[str, str]:
        return {"skill": self.name}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        bye = super().from_dict(params, data)
        if bye.name != params["skill"]:
            raise ProtocolError(f"bye on {params['skill']!r}'s topic names {bye.name!r}")
        return bye


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
        what = f"{what} of {name!r}"
        env, env_details = _env(data, what)
        languages = read(data, "languages", list, what, required=False, default=[])
        untrained = read(data, "untrained", list, what, required=False, default=[])
        return cls(name, _field(data, "version", what),
                   _field(data, "author", what), _field(data, "description", what),
                   _intents(read(data, "intents", dict, what, required=False, default={}), what),
                   env, [lang for lang in languages if isinstance(lang, str)],
                   _texts(data.get("descriptions"), f"{what}: 'descriptions'"),
                   env_details, _field(data, "training_from", what),
                   [str(i) for i in untrained])


@dataclass(frozen=True)
class Skills(Message):
    """Retained list of live skills, published once the interpreter is trained for them.

    ``conflicts`` maps an intent claimed by several skills to the skill chosen;
    ``throttled`` the skills cut short for going past a budget to why.
    """

    TOPIC = Topic("atlas/discovery/skills")
    RETAINED = True
    version: str
    started_at: str
    skills: tuple[SkillSummary, ...]
    conflicts: dict[str, dict[str, Any]] = field(default_factory=dict)
    throttled: dict[str, str] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"version": self.version, "started_at": self.started_at,
                                "skills": [s.to_dict() for s in self.skills]}
        if self.conflicts:
            data["conflicts"] = self.conflicts
        if self.throttled:
            data["throttled"] = self.throttled
        return data

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "discovery skills"
        skills = read(data, "skills", list, what)
        return cls(read(data, "version", str, what), read(data, "started_at", str, what),
                   tuple(SkillSummary.from_dict(s) for s in skills if isinstance(s, dict)),
                   read(data, "conflicts", dict, what, required=False, default={}),
                   {str(k): str(v) for k, v in
                    read(data, "throttled", dict, what, required=False, default={}).items()})


def with_daemon_view(summary: SkillSummary, daemon: Skills | None) -> SkillSummary:
    """A skill's own summary (from its pong) with what only the daemon knows of it."""
    known = next((s for s in daemon.skills if s.name == summary.name), None) if daemon else None
    if known is None:
        return summary
    return replace(summary, training_from=known.training_from, untrained=known.untrained)


@dataclass(frozen=True)
class DaemonSent(Message):
    """Daemons sharing Redis (``state``) to each other: the writes whose messages
    this daemon just published, per sid (the write's number, see
    :class:`atlas.store.Outbox`).

    Sent after those messages in the same flush, so a daemon that hears it knows
    they reached the broker; not part of the seed protocol, and of no interest to
    skills or channels.
    """

    TOPIC = Topic("atlas/daemon/sent")
    owner: str
    sids: dict[str, int] = field(default_factory=dict)

    def params(self) -> dict[str, str]:
        return {}

    def to_dict(self) -> dict[str, Any]:
        return {"owner": self.owner, "sids": dict(self.sids)}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        what = "daemon sent"
        sids = read(data, "sids", dict, what)
        if not all(isinstance(sid, str) and isinstance(seq, int) and not isinstance(seq, bool)
                   for sid, seq in sids.items()):
            raise ProtocolError(f"{what}: 'sids' must map sids to write numbers")
        return cls(read(data, "owner", str, what), dict(sids))
