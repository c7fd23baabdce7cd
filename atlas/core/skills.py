"""The live skills, as pure data: who is there, who handles which intent.

The registry is updated from pongs, byes and the clock's readings (passed in,
never read here), and yields a :class:`Catalog`, the view the conversation core
needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from ..protocol import FALLBACK_INTENT, WELCOME_INTENT, Pong

#: The intent of a skill that tells what the assistant can do (skills/help).
HELP_INTENT = "help"


@dataclass(frozen=True)
class Catalog:
    """Which skill handles each intent, and which env keys each skill declared."""

    owners: Mapping[str, str] = field(default_factory=dict)
    env_keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The slots each intent's owner declared.
    slots: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def skill_for(self, intent: str) -> str | None:
        return self.owners.get(intent)

    def declares(self, intent: str, slot: str) -> bool:
        return slot in self.slots.get(intent, ())

    @property
    def fallback(self) -> str | None:
        return self.owners.get(FALLBACK_INTENT)

    @property
    def helps(self) -> bool:
        """A live skill answers "help": a request not understood can point to it."""
        return HELP_INTENT in self.owners

    @property
    def welcome(self) -> str | None:
        return self.owners.get(WELCOME_INTENT)

    def fallback_in(self, context: str | None) -> str | None:
        """The intent for what nothing in ``context`` understands: ``<context>/__fallback__``
        when a skill declares it, else the global fallback (``None`` when neither)."""
        if context is not None and f"{context}/{FALLBACK_INTENT}" in self.owners:
            return f"{context}/{FALLBACK_INTENT}"
        return FALLBACK_INTENT if FALLBACK_INTENT in self.owners else None

    def serves(self, context: str) -> bool:
        """Some live skill has intents in ``context`` (its fallback counts)."""
        return any(intent.startswith(context + "/") for intent in self.owners)

    def scope(self, context: str | None) -> frozenset[str]:
        """Intents the interpreter may consider: the context's, or the root ones.

        Fallbacks are never candidates: they take what the others leave.
        """
        if context is None:
            # The "__" intents (fallback, welcome) are called by the daemon, never parsed to.
            return frozenset(i for i in self.owners if "/" not in i and not i.startswith("__"))
        prefix = context + "/"
        return frozenset(i for i in self.owners
                         if i.startswith(prefix) and not i[len(prefix):].startswith("__"))


@dataclass(frozen=True)
class Registry:
    """Live skills by name, with when each was last heard of (a clock reading)."""

    skills: Mapping[str, Pong] = field(default_factory=dict)
    seen: Mapping[str, float] = field(default_factory=dict)

    def heard(self, pong: Pong, now: float) -> tuple[Registry, bool]:
        """Record a pong; ``True`` when the set of skills or a description changed."""
        changed = self.skills.get(pong.name) != pong
        skills = {**self.skills, pong.name: pong} if changed else self.skills
        return replace(self, skills=skills, seen={**self.seen, pong.name: now}), changed

    def left(self, name: str) -> tuple[Registry, bool]:
        if name not in self.skills:
            return self, False
        skills = {k: v for k, v in self.skills.items() if k != name}
        seen = {k: v for k, v in self.seen.items() if k != name}
        return Registry(skills, seen), True

    def expire(self, now: float, timeout: float) -> tuple[Registry, list[str]]:
        """Drop the skills not heard from for ``timeout``; returns their names."""
        gone = sorted(name for name, at in self.seen.items() if now - at > timeout)
        registry = self
        for name in gone:
            registry, _ = registry.left(name)
        return registry, gone

    def catalog(self) -> tuple[Catalog, dict[str, dict[str, object]]]:
        """The catalog, and the conflicts resolved on the way.

        When several skills claim an intent, the one whose name sorts first wins, so
        every daemon (and every restart) makes the same choice.
        """
        owners: dict[str, str] = {}
        claims: dict[str, list[str]] = {}
        for name in sorted(self.skills):
            for intent in self.skills[name].intents:
                claims.setdefault(intent, []).append(name)
                owners.setdefault(intent, name)
        conflicts: dict[str, dict[str, object]] = {
            intent: {"chosen": names[0], "claimed_by": names}
            for intent, names in sorted(claims.items()) if len(names) > 1
        }
        env_keys = {name: tuple(pong.env) for name, pong in self.skills.items()}
        slots = {intent: tuple(self.skills[name].intents[intent])
                 for intent, name in owners.items()}
        return Catalog(owners, env_keys, slots), conflicts
