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
from .limits import MAX_ENTITY_VALUES, MAX_INTENTS, MAX_NAME, MAX_TEXT, MAX_UTTERANCES


class _Fail:
    def __init__(self, source: str, lang: str) -> None:
        self.source, self.lang = source, lang
        self.utterances = 0
        self.values = 0

    def __call__(self, message: str) -> TrainingDataError:
        return TrainingDataError(message, source=self.source, lang=self.lang)


def _name(raw: Any, what: str, fail: _Fail) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > MAX_NAME:
        raise fail(f"{what} name must be a string of 1 to {MAX_NAME} characters")
    return raw


def _text(raw: Any, what: str, fail: _Fail) -> str:
    if not isinstance(raw, str):
        raise fail(f"{what} must be a string")
    if len(raw) > MAX_TEXT:
        raise fail(f"{what} is longer than {MAX_TEXT} characters")
    return raw


def _chunk(raw: Any, intent: str, fail: _Fail) -> Chunk:
    if not isinstance(raw, Mapping):
        raise fail(f"intent '{intent}': a chunk must be an object")
    text = _text(raw.get("text"), f"intent '{intent}': a chunk's 'text'", fail)
    entity = raw.get("entity")
    if entity is None or entity == "":
        return Chunk(text)
    entity = _name(entity, f"intent '{intent}': entity", fail)
    slot = raw.get("slot_name")
    slot = entity if slot is None or slot == "" else _name(slot, f"intent '{intent}': slot", fail)
    return Chunk(text, slot, entity)


def _utterances(raw: Any, intent: str, fail: _Fail) -> list[Utterance]:
    if not isinstance(raw, list):
        raise fail(f"intent '{intent}': utterances must be a list")
    fail.utterances += len(raw)
    if fail.utterances > MAX_UTTERANCES:
        raise fail(f"more than {MAX_UTTERANCES} training sentences")
    result = []
    for utt in raw:
        data = utt.get("data") if isinstance(utt, Mapping) else None
        if not isinstance(data, list):
            raise fail(f"intent '{intent}': an utterance has no 'data' list")
        chunks = [_chunk(c, intent, fail) for c in data]
        if chunks:
            result.append(Utterance(tuple(chunks)))
    if not result:
        raise fail(f"intent '{intent}' has no training sentences")
    return result


def _value(raw: Any, entity: str, fail: _Fail) -> EntityValue:
    what = f"entity '{entity}': a value"
    if isinstance(raw, str):
        return EntityValue(_text(raw, what, fail))
    if not isinstance(raw, Mapping):
        raise fail(f"{what} must be a string or an object")
    value = _text(raw.get("value"), f"{what}'s 'value'", fail)
    synonyms = raw.get("synonyms", [])
    if not isinstance(synonyms, list):
        raise fail(f"{what}'s 'synonyms' must be a list")
    fail.values += len(synonyms)
    return EntityValue(value, tuple(_text(s, f"{what}'s synonym", fail) for s in synonyms))


def _entity(name: str, raw: Any, fail: _Fail) -> Entity:
    if not isinstance(raw, Mapping):
        raise fail(f"entity '{name}' must be an object")
    data = raw.get("data", [])
    if not isinstance(data, list):
        raise fail(f"entity '{name}': 'data' must be a list")
    fail.values += len(data)
    values = [_value(v, name, fail) for v in data]
    if fail.values > MAX_ENTITY_VALUES:
        raise fail(f"more than {MAX_ENTITY_VALUES} entity values")
    extensible = raw.get("automatically_extensible", True)
    strictness = raw.get("matching_strictness", 1.0)
    if not isinstance(extensible, bool):
        raise fail(f"entity '{name}': 'automatically_extensible' must be true or false")
    if isinstance(strictness, bool) or not isinstance(strictness, int | float) \
            or not 0.0 <= strictness <= 1.0:
        raise fail(f"entity '{name}': 'matching_strictness' must be a number from 0 to 1")
    return Entity(name, values, extensible=extensible, strictness=float(strictness))


def _mapping(raw: Any, what: str, fail: _Fail, limit: int) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        raise fail(f"{what} must be an object")
    if len(raw) > limit:
        raise fail(f"more than {limit} {what}")
    return raw


def load_snips(obj: Any, *, source: str = "", lang: str = "") -> Dataset:
    """Load either JSON flavour into a Dataset; raises TrainingDataError, and only that."""
    if not lang and isinstance(obj, Mapping) and isinstance(obj.get("language"), str):
        lang = obj["language"]
    fail = _Fail(source, lang)
    if not isinstance(obj, Mapping):
        raise fail("a snips dataset must be a JSON object")
    dataset = Dataset(lang=lang)
    if "intents" in obj:  # the Snips NLU format
        intents = _mapping(obj["intents"], "intents", fail, MAX_INTENTS)
        for name, intent in intents.items():
            raw = intent.get("utterances") if isinstance(intent, Mapping) else None
            dataset.intents[_name(name, "intent", fail)] = _utterances(raw, name, fail)
        entities = _mapping(obj.get("entities", {}), "entities", fail, MAX_INTENTS)
        for name, entity in entities.items():
            if not is_builtin(_name(name, "entity", fail)):
                dataset.entities[name] = _entity(name, entity, fail)
        strict = True  # entities must be declared
    else:  # the benchmark format
        for name, raw in _mapping(obj, "intents", fail, MAX_INTENTS).items():
            dataset.intents[_name(name, "intent", fail)] = _utterances(raw, name, fail)
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
