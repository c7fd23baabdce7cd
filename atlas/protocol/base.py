"""The building blocks of the wire protocol: topic templates and the message base class.

Every atlas topic is a template such as ``atlas/{sid}/channel/show``. The same
template builds a concrete topic, the subscription wildcard, and recognises an
incoming topic (returning its parameters), so no module ever spells a topic by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Self

#: Payloads above this size are refused before JSON decoding (a skill's pong with
#: training data for several languages stays well below it).
MAX_PAYLOAD = 1024 * 1024

_PARAM = re.compile(r"\{(\w+)\}")
# A topic level value may not contain MQTT separators or wildcards: that is how a
# client could inject a message into someone else's topic tree.
_LEVEL_VALUE = r"[^/+#\x00]{1,128}"
_LEVEL = re.compile(_LEVEL_VALUE)

META_PREFIX = "__"


class ProtocolError(ValueError):
    """A payload or topic that does not follow the protocol (the sender's fault)."""


@dataclass(frozen=True)
class Topic:
    """A topic template whose ``{name}`` levels are parameters."""

    template: str

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PARAM.findall(self.template))

    def format(self, **values: str) -> str:
        for name, value in values.items():
            if not valid_level(value):
                raise ProtocolError(f"invalid {name} {value!r} for topic {self.template}")
        return self.template.format(**values)

    def wildcard(self, **values: str) -> str:
        """The subscription filter: given parameters are fixed, the others are ``+``."""
        filled = {name: values.get(name, "+") for name in self.params}
        return self.template.format(**filled)

    @cached_property
    def _pattern(self) -> re.Pattern[str]:
        """The template as one expression: a parameter is a level :func:`valid_level`
        accepts. Every message the daemon reads is matched against a few templates;
        one compiled match costs a fifth of splitting and comparing levels."""
        parts = [f"(?P<{param.group(1)}>{_LEVEL_VALUE})"
                 if (param := _PARAM.fullmatch(part)) else re.escape(part)
                 for part in self.template.split("/")]
        return re.compile("/".join(parts))

    def match(self, topic: str) -> dict[str, str] | None:
        found = self._pattern.fullmatch(topic)
        return found.groupdict() if found is not None else None


def valid_level(value: str) -> bool:
    return isinstance(value, str) and _LEVEL.fullmatch(value) is not None


def decode_json(payload: bytes | str, what: str) -> dict[str, Any]:
    """Decode a JSON object payload, raising ProtocolError with a readable reason."""
    if len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"{what}: payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}")
    if not payload or (isinstance(payload, bytes) and not payload.strip()):
        return {}
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ProtocolError(f"{what}: payload is not JSON ({error})") from None
    except RecursionError:  # [[[[… deeper than the parser's stack
        raise ProtocolError(f"{what}: payload nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"{what}: payload must be a JSON object, got {type(data).__name__}")
    return data


#: One encoder for every payload (``json.dumps`` with options builds one per call).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_json(data: Mapping[str, Any]) -> bytes:
    return _ENCODER.encode(data).encode()


def read(data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], what: str,
          *, required: bool = True, default: Any = None) -> Any:
    """Read one key of a payload, checking its type."""
    if key not in data or data[key] is None:
        if required:
            raise ProtocolError(f"{what}: missing {key!r}")
        return default
    value = data[key]
    # bool is an int in Python: refuse it where a number is expected.
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise ProtocolError(f"{what}: {key!r} must be {_kind_name(kind)}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in _as_tuple(kind))


def str_list(data: Mapping[str, Any], key: str, what: str) -> tuple[str, ...] | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(f"{what}: {key!r} must be a list of strings")
    return tuple(value)


def public(data: Mapping[str, Any], *exclude: str) -> dict[str, Any]:
    """The non-metadata properties of a payload, without the keys named."""
    return {k: v for k, v in data.items() if not k.startswith(META_PREFIX) and k not in exclude}


class Message:
    """Base of every protocol message: a frozen dataclass with a topic template.

    Subclasses declare ``TOPIC``, implement ``params`` (the topic parameters they
    carry), ``to_dict`` and ``from_dict``. Raw-payload messages override
    ``to_payload``/``from_payload`` instead.
    """

    TOPIC: ClassVar[Topic]
    #: Published retained; an empty payload then means "withdrawn", not "empty message".
    RETAINED: ClassVar[bool] = False

    def topic(self) -> str:
        return self.TOPIC.format(**self.params())

    def params(self) -> dict[str, str]:
        return {"sid": getattr(self, "sid")}  # noqa: B009 - most messages are per-sid

    def to_dict(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        return cls(**params)

    def to_payload(self) -> bytes:
        return encode_json(self.to_dict())

    def wire_size(self) -> int:
        """Bytes of its payload: as read (:func:`~atlas.protocol.parse_message` notes
        it), else encoded now. The daemon's byte budgets ask it of every skill
        message; encoding each again cost a third of that check."""
        return self.__dict__.get("_wire_size") or len(self.to_payload())

    @classmethod
    def from_payload(cls, params: dict[str, str], payload: bytes | str) -> Self:
        return cls.from_dict(params, decode_json(payload, cls.TOPIC.template))

    @classmethod
    def subscription(cls, **fixed: str) -> str:
        return cls.TOPIC.wildcard(**fixed)


@dataclass(frozen=True)
class TextMessage(Message):
    """A text for the user; ``extra`` holds cards, media and every other public property."""

    sid: str
    text: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.extra, "text": self.text}

    @classmethod
    def from_dict(cls, params: dict[str, str], data: dict[str, Any]) -> Self:
        text = read(data, "text", str, cls.TOPIC.template, required=False, default="")
        return cls(params["sid"], text, public(data, "text"))
