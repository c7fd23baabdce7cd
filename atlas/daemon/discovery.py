"""The shell around the skill registry: pings, expiry, retraining, the skills message."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ..config import Config
from ..core import Catalog, Registry, World
from ..protocol import Ping, Pong, Skills, SkillSummary
from . import training
from .understanding import NluUnderstanding

log = logging.getLogger(__name__)


class Discovery:
    """Live skills and the interpreters trained for them.

    The catalog follows the registry at once (a skill that left handles nothing
    more); the interpreters follow when training is done, and only then is the
    retained ``atlas/discovery/skills`` message published.
    """

    def __init__(self, config: Config, version: str, started_at: str) -> None:
        self.config = config
        self.ping = Ping(version, started_at)
        self.registry = Registry()
        self.catalog = Catalog()
        self.conflicts: dict[str, dict[str, object]] = {}
        self.understanding = NluUnderstanding({})
        self.changed = asyncio.Event()
        self.changed.set()          # publish a fresh list at start-up, even an empty one
        self.trained = asyncio.Event()
        #: The last skills list published (retained), to publish again after an outage.
        self.published: Skills | None = None

    @property
    def cache_dir(self) -> Path:
        return Path(self.config.data_dir) / "models"

    def world(self) -> World:
        return World(self.catalog, self.understanding, self.ping.version,
                     self.config.skill_timeout, self.config.ask_timeout)

    @property
    def untrained(self) -> bool:
        """Skills are live but no interpreter was ever trained for them (start-up)."""
        return bool(self.registry.skills) and not self.trained.is_set()

    def heard(self, pong: Pong, now: float) -> None:
        self.registry, changed = self.registry.heard(pong, now)
        if changed:
            log.info("skill %s %s is live", pong.name, pong.version)
            self._changed()

    def left(self, name: str) -> bool:
        self.registry, changed = self.registry.left(name)
        if changed:
            log.info("skill %s left", name)
            self._changed()
        return changed

    def expire(self, now: float) -> list[str]:
        self.registry, gone = self.registry.expire(now, self.config.discovery.timeout)
        for name in gone:
            log.warning("skill %s silent for %ss: dropped", name, self.config.discovery.timeout)
        if gone:
            self._changed()
        return gone

    def _changed(self) -> None:
        self.catalog, conflicts = self.registry.catalog()
        for intent, claim in conflicts.items():
            if self.conflicts.get(intent) != claim:
                log.warning("intent %s claimed by %s: %s handles it",
                            intent, claim["claimed_by"], claim["chosen"])
        self.conflicts = conflicts
        self.changed.set()

    async def retrain(self) -> Skills | None:
        """Train for the current skills; ``None`` if they changed meanwhile (train again)."""
        self.changed.clear()
        registry = self.registry
        interpreters = await asyncio.to_thread(
            training.train, registry.skills, self.cache_dir, self.config.nlu_engine)
        if self.changed.is_set():
            return None
        self.understanding = NluUnderstanding(interpreters)
        if registry.skills:
            self.trained.set()
        summaries = tuple(SkillSummary.of(registry.skills[n]) for n in sorted(registry.skills))
        self.published = Skills(self.ping.version, self.ping.started_at, summaries,
                                self.conflicts)
        return self.published
