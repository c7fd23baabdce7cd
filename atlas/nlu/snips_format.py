"""Loading Snips-format JSON: the Snips NLU dataset format and the benchmark's.

Snips NLU: {"language", "intents": {name: {"utterances": [{"data": [chunk]}]}},
"entities": {name: {"data": [{"value", "synonyms"}], "automatically_extensible",
"matching_strictness"}}}, chunks {"text", "entity", "slot_name"}.
Benchmark: {IntentName: [{"data": [chunk]}]} with chunks {"text", "entity"}:
the slot name is the entity name and entities are not declared, so each becomes
an extensible entity whose values are only known through the utterances.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .dataset import Chunk, Dataset, Entity, EntityValue, Utterance, is_builtin
from .errors import TrainingDataError


def _utterances(raw: Any, intent: str, fail: _Fail) -> list[Utterance]:
    if not isinstance(raw, list):
        raise fail(f"intent '{intent}': utterances must be a list")
    result = []
    for utt in raw:
        data = utt.get("data") if isinstance(utt, Mapping) else None
        if not isinstance(data, list):
            raise fail(f"intent '{intent}': an utterance has no 'data' list")
        chunks = []
        for c in data:
            if not isinstance(c, Mapping) or not isinstance(c.get("text"), str):
                raise fail(f"intent '{intent}': a chunk has no 'text'")
            entity = c.get("entity")
            slot = c.get("slot_name") or entity
            chunks.append(Chunk(c["text"], slot, entity) if entity else Chunk(c["text"]))
        if chunks:
            result.append(Utterance(tuple(chunks)))
    if not result:
        raise fail(f"intent '{intent}' has no training sentences")
    return result


class _Fail:
    def __init__(self, source: str, lang: str) -> None:
        self.source, self.lang = source, lang

    def __call__(self, message: str) -> TrainingDataError:
        return TrainingDataError(message, source=self.source, lang=self.lang)


def _entity(name: str, raw: Any, fail: _Fail) -> Entity:
    if not isinstance(raw, Mapping):
        raise fail(f"entity '{name}' must be an object")
    values = []
    for v in raw.get("data", []):
        if isinstance(v, str):
            values.append(EntityValue(v))
        else:
            values.append(EntityValue(v["value"], tuple(v.get("synonyms", ()))))
    return Entity(
        name,
        values,
        extensible=bool(raw.get("automatically_extensible", True)),
        strictness=float(raw.get("matching_strictness", 1.0)),
    )


def load_snips(obj: dict, *, source: str = "", lang: str = "") -> Dataset:
    """Load either JSON flavour into a Dataset; raises TrainingDataError."""
    lang = lang or str(obj.get("language", "")) if isinstance(obj, Mapping) else lang
    fail = _Fail(source, lang)
    if not isinstance(obj, Mapping):
        raise fail("a snips dataset must be a JSON object")
    dataset = Dataset(lang=lang)
    if isinstance(obj.get("intents"), Mapping):  # the Snips NLU format
        for name, intent in obj["intents"].items():
            raw = intent.get("utterances") if isinstance(intent, Mapping) else None
            dataset.intents[name] = _utterances(raw, name, fail)
        for name, entity in obj.get("entities", {}).items():
            if not is_builtin(name):
                dataset.entities[name] = _entity(name, entity, fail)
        strict = True  # entities must be declared
    else:  # the benchmark format
        for name, raw in obj.items():
            dataset.intents[name] = _utterances(raw, name, fail)
        strict = False
    for name, utterances in dataset.intents.items():
        for utt in utterances:
            for c in utt.chunks:
                if not c.entity or is_builtin(c.entity) or c.entity in dataset.entities:
                    continue
                if strict:
                    raise fail(f"intent '{name}': entity '{c.entity}' is not declared")
                dataset.entities[c.entity] = Entity(c.entity)
    return dataset
