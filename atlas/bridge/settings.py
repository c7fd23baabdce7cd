"""A user's settings as the REST API shows and takes them: pure functions over plain data."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from atlas.protocol import SkillSummary

#: What a secret value looks like when sent back: the value itself never is.
MASK = "••••"

_SECRET = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})?$")
MAX_VALUE = 4096


class SettingsError(ValueError):
    """A settings change the API refuses; the message says why."""


def is_secret(key: str) -> bool:
    return bool(_SECRET.search(key))


def valid_language(value: Any) -> bool:
    return isinstance(value, str) and bool(_LANGUAGE.match(value))


def declared_env(skills: Iterable[SkillSummary]) -> dict[str, str]:
    """Every env parameter the live skills declare, with its type."""
    return {key: kind for skill in skills for key, kind in skill.env.items()}


def env_view(skills: Iterable[SkillSummary], values: Mapping[str, Any],
             defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The env parameters of each live skill with the user's values, secrets masked.

    ``description`` (``{lang: text}``), ``default`` and ``example`` are what the
    skill says of the parameter; ``has_default`` tells a default configured here.
    """
    def entry(skill: SkillSummary, key: str) -> dict[str, Any]:
        secret = is_secret(key)
        value = values.get(key)
        setting = skill.setting(key)
        return {"key": key, "type": setting.type, "secret": secret, "set": key in values,
                "has_default": key in defaults,
                "value": MASK if secret and key in values else value,
                "description": setting.description, "default": setting.default,
                "example": setting.example}

    return {"skills": [{"name": skill.name, "env": [entry(skill, k) for k in sorted(skill.env)]}
                       for skill in sorted(skills, key=lambda s: s.name)]}


def env_update(skills: Iterable[SkillSummary], body: Any) -> dict[str, Any]:
    """The changes to store from a ``PUT /api/me/env`` body; ``None`` removes a value.

    Only parameters a live skill declares are taken; a secret sent back masked is
    left unchanged, so a client may send back what it received.
    """
    if not isinstance(body, dict):
        raise SettingsError("the body must be a JSON object of KEY: value")
    declared = declared_env(skills)
    unknown = sorted(key for key in body if key not in declared)
    if unknown:
        raise SettingsError(f"no live skill declares {', '.join(unknown)}")
    changes: dict[str, Any] = {}
    for key, value in body.items():
        if value == MASK:
            continue
        if value is not None and not isinstance(value, str | int | float | bool):
            raise SettingsError(f"{key}: a value must be a string, a number, a boolean or null")
        if isinstance(value, str) and len(value) > MAX_VALUE:
            raise SettingsError(f"{key}: longer than {MAX_VALUE} characters")
        changes[key] = value
    return changes
