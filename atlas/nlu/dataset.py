"""Normalised training data for one language: plain, mergeable dataclasses.

Whatever the source format (chatl, a Snips dataset, the benchmark files), the
engine sees intents as lists of utterances made of text chunks and slot spans,
and entities as declared values with synonyms.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

BUILTIN_PREFIX = "snips/"


def is_builtin(entity: str) -> bool:
    return entity.startswith(BUILTIN_PREFIX)


@dataclass(frozen=True)
class Chunk:
    text: str
    slot: str | None = None  # slot name when this chunk is a slot span
    entity: str | None = None  # entity type of the slot


@dataclass(frozen=True)
class Utterance:
    chunks: tuple[Chunk, ...]

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.chunks)


@dataclass(frozen=True)
class EntityValue:
    value: str
    synonyms: tuple[str, ...] = ()


@dataclass
class Entity:
    name: str
    values: list[EntityValue] = field(default_factory=list)
    extensible: bool = True  # may a slot of this entity take a value never declared?
    strictness: float = 1.0  # Snips' matching_strictness, kept for the fuzzy matcher


@dataclass
class Dataset:
    lang: str = ""
    intents: dict[str, list[Utterance]] = field(default_factory=dict)
    entities: dict[str, Entity] = field(default_factory=dict)

    def slot_entities(self, intent: str) -> dict[str, str]:
        """Slot name -> entity type, as used in the utterances of one intent."""
        found: dict[str, str] = {}
        for utterance in self.intents.get(intent, []):
            for chunk in utterance.chunks:
                if chunk.slot and chunk.entity:
                    found.setdefault(chunk.slot, chunk.entity)
        return found

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, obj: dict) -> Dataset:
        return cls(
            lang=obj.get("lang", ""),
            intents={
                name: [Utterance(tuple(Chunk(**c) for c in u["chunks"])) for u in utts]
                for name, utts in obj.get("intents", {}).items()
            },
            entities={
                name: Entity(
                    name=e["name"],
                    values=[EntityValue(v["value"], tuple(v["synonyms"])) for v in e["values"]],
                    extensible=e["extensible"],
                    strictness=e["strictness"],
                )
                for name, e in obj.get("entities", {}).items()
            },
        )

    def checksum(self) -> str:
        blob = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()


def merge(datasets: Iterable[Dataset]) -> Dataset:
    """Union of several skills' data for one language.

    Utterances of an intent declared twice are concatenated; entity values are
    united, and an entity stays extensible only if every declaration allows it
    (the stricter skill wins, so that no skill receives a value it refused).
    """
    result = Dataset()
    for ds in datasets:
        result.lang = result.lang or ds.lang
        for name, utterances in ds.intents.items():
            result.intents.setdefault(name, []).extend(utterances)
        for name, entity in ds.entities.items():
            mine = result.entities.get(name)
            if mine is None:
                result.entities[name] = Entity(
                    name, list(entity.values), entity.extensible, entity.strictness
                )
                continue
            known = {v.value: i for i, v in enumerate(mine.values)}
            for value in entity.values:
                if value.value in known:
                    old = mine.values[known[value.value]]
                    syns = tuple(dict.fromkeys(old.synonyms + value.synonyms))
                    mine.values[known[value.value]] = EntityValue(old.value, syns)
                else:
                    known[value.value] = len(mine.values)
                    mine.values.append(value)
            mine.extensible = mine.extensible and entity.extensible
            mine.strictness = max(mine.strictness, entity.strictness)
    return result
