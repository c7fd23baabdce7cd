"""Everything that arrives is either understood or refused with a typed error.

Pure tests, no broker: every message class the daemon, the SDK, the bridge and a
channel read, fed payloads of every wrong shape; and skills' training data, fed to
the loaders. A crash here is a crash of the process that reads that topic.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas import nlu
from atlas.daemon import training
from atlas.nlu import limits
from atlas.protocol import (
    CHANNEL_INBOX,
    DAEMON_INBOX,
    IntentRequest,
    Message,
    Ping,
    Pong,
    ProtocolError,
    Skills,
    parse_message,
)

from .strategies import objects, payloads, values

KINDS: tuple[type[Message], ...] = (*DAEMON_INBOX, *CHANNEL_INBOX, Ping, Skills, IntentRequest)
FAST = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))


def topic_of(kind: type[Message]) -> str:
    if kind is IntentRequest:
        return "atlas/intents/lights/on"
    return kind.TOPIC.format(**{name: "s-1" for name in kind.TOPIC.params})


@FAST
@given(st.sampled_from(KINDS), payloads)
def test_any_payload_parses_or_is_a_protocol_error(kind: type[Message], payload: bytes) -> None:
    try:
        parsed = parse_message(topic_of(kind), payload, (kind,))
    except ProtocolError:
        return
    assert isinstance(parsed, kind)


@FAST
@given(st.sampled_from(KINDS), objects)
def test_wrong_types_at_every_key_are_protocol_errors(kind: type[Message],
                                                      data: dict[str, object]) -> None:
    try:
        parsed = parse_message(topic_of(kind), json.dumps(data).encode(), (kind,))
    except ProtocolError:
        return
    assert isinstance(parsed, kind)


@FAST
@given(values)
def test_training_data_loads_or_is_a_training_data_error(data: object) -> None:
    try:
        dataset = nlu.load_training(data, source="fuzz", lang="en")
    except nlu.TrainingDataError as error:
        assert "fuzz" in str(error)
        return
    assert isinstance(dataset, nlu.Dataset)


@pytest.mark.parametrize("training", [
    {"intents": {"on": {"utterances": [{"data": [{"text": "lights on"}]}]}}, "entities": 5},
    {"intents": {"on": {"utterances": [{"data": [{"text": 5}]}]}}},
    {"intents": {"on": {"utterances": 5}}},
    {"intents": {"on": {"utterances": [{"data": [{"text": "x", "entity": "e"}]}]}},
     "entities": {"e": {"data": 5}}},
    {"intents": {"on": {"utterances": [{"data": [{"text": "x", "entity": "e"}]}]}},
     "entities": {"e": {"data": [{"synonyms": []}]}}},
    {"intents": {"on": {"utterances": [{"data": [{"text": "x", "entity": "e"}]}]}},
     "entities": {"e": {"data": ["a"], "matching_strictness": "high"}}},
    {"on": 3},
    "%[on]\n  ~[a] ~[a] ~[a] ~[a] ~[a] ~[a]\n~[a]\n" + "".join(f"  w{i}\n" for i in range(20)),
    "%[on]\n  x\n@[e](strictness=lots)\n  v\n",
    "".join(f"%[i{i}]\n  hello {i}\n" for i in range(limits.MAX_INTENTS + 1)),
])
def test_wrong_training_data_is_left_out_with_a_reason(training: object,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """The crash of issue 8 (a number where a list or an object belongs), and its cousins."""
    with pytest.raises(nlu.TrainingDataError):
        nlu.load_training(training, source="bad", lang="en")
    good = Pong("good", training={"en": "%[hello]\n  hello there\n  hi\n"})
    bad = Pong("bad", training={"en": training})  # type: ignore[dict-item]
    datasets = training_datasets({"good": good, "bad": bad})
    assert set(datasets["en"].intents) == {"hello"}
    assert "training data left out: skill 'bad' (en)" in caplog.text


def training_datasets(skills: dict[str, Pong]) -> dict[str, nlu.Dataset]:
    return training.datasets(skills)


@pytest.mark.parametrize("pong", [
    {"name": "big", "intents": {f"i{n}": [] for n in range(1000)}},
    {"name": "big", "training": {"en": "x" * (300 * 1024)}},
    {"name": "big", "training": {"en": {"intents": {f"i{n}": {} for n in range(1000)}}}},
    {"name": "big", "training": {f"l{n:02}": "" for n in range(40)}},
    {"name": "big", "training": {"en/../x": ""}},
    {"name": "big", "env": {"a": 5}},
    {"name": "big", "version": {"major": 1}},
    {"name": "big", "description": "d" * 5000},
    {"name": "big", "intents": {"on": [1, 2]}},
], ids=["intents", "chatl-size", "snips-intents", "languages", "lang-code", "env", "version",
        "description", "slots"])
def test_oversized_or_misshapen_pongs_are_refused(pong: dict[str, object]) -> None:
    with pytest.raises(ProtocolError, match="discovery pong of 'big'"):
        Pong.from_payload({}, json.dumps(pong).encode())


def test_a_megabyte_pong_is_refused_before_decoding() -> None:
    payload = json.dumps({"name": "big", "training": {"en": "x" * 2_000_000}}).encode()
    with pytest.raises(ProtocolError, match="exceeds"):
        Pong.from_payload({}, payload)


def test_synonyms_cannot_multiply_past_the_sentence_budget() -> None:
    words = "".join(f"  w{i}\n" for i in range(30))
    text = "%[on]\n  ~[a] ~[a] ~[a] ~[a] ~[a] ~[a] ~[a] ~[a]\n~[a]\n" + words
    with pytest.raises(nlu.TrainingDataError, match="training sentences"):
        nlu.load_chatl(text, source="s", lang="en")
