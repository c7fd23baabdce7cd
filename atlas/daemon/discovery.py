"""The shell around the skill registry: pings, expiry, retraining, the skills message."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from ..config import Config
from ..core import Catalog, Registry, World
from ..protocol import Ping, Pong, Skills, SkillSummary
from . import training
from .training_files import FROM_SKILL, TrainingFiles
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
        self.files = TrainingFiles(config.training_path)
        #: Where each live skill's training came from (see TrainingFiles.apply).
        self.sources: dict[str, str] = {}
        self._polled = -float("inf")
        #: The last skills list published (retained), to publish again after an outage.
        self.published: Skills | None = None
        #: Skills cut short for going past a budget, and why: shown to operators.
        self.throttled: dict[str, str] = {}
        self._world: World | None = None

    @property
    def cache_dir(self) -> Path:
        return Path(self.config.data_dir) / "models"

    def world(self) -> World:
        """What the core reads besides the channel; built again only when the skills
        or the interpreters changed (the daemon asks for it once per event)."""
        world = self._world
        if world is None or world.catalog is not self.catalog \
                or world.understanding is not self.understanding:
            world = self._world = World(self.catalog, self.understanding, self.ping.version,
                                        self.config.skill_timeout, self.config.ask_timeout,
                                        self.config.object_slots)
        return world

    @property
    def untrained(self) -> bool:
        """Skills are live but no interpreter was ever trained for them (start-up)."""
        return bool(self.registry.skills) and not self.trained.is_set()

    def heard(self, pong: Pong, now: float) -> None:
        pong, self.sources[pong.name] = self.files.apply(pong)
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

    def poll_training(self, now: float, every: float = 1.0) -> None:
        """Retrain when a training file of a skill that brings none changed."""
        if now - self._polled < every:
            return
        self._polled = now
        for name, pong in self.registry.skills.items():
            if self.sources.get(name) != FROM_SKILL and self.files.changed(name):
                bare = replace(pong, training={})
                self.heard(bare, self.registry.seen.get(name, now))

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
        summaries = tuple(
            replace(SkillSummary.of(pong), training_from=self.sources.get(name, ""),
                    untrained=training.untrained(pong))
            for name, pong in sorted(registry.skills.items()))
        self.published = Skills(self.ping.version, self.ping.started_at, summaries,
                                self.conflicts, dict(self.throttled))
        return self.published

    def note_throttled(self, throttled: dict[str, str]) -> Skills | None:
        """Record the skills throttled; the skills list to publish again, if any."""
        if throttled == self.throttled:
            return None
        self.throttled = dict(throttled)
        if self.published is None:
            return None
        self.published = replace(self.published, throttled=dict(throttled))
        return self.published
