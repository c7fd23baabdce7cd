"""parse_message finds a topic's kind by its shape: the same answer as trying every kind."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas import protocol
from atlas.protocol import CHANNEL_INBOX, DAEMON_INBOX, IntentRequest, Message, ProtocolError

KINDS: tuple[type[Message], ...] = tuple(dict.fromkeys(
    (*DAEMON_INBOX, *CHANNEL_INBOX, protocol.Ping, protocol.Skills, IntentRequest)))

TOPICS = [
    "atlas/s1/dialog/parse", "atlas/s1/channel/show", "atlas/s1/channel/create",
    "atlas/discovery/ping", "atlas/discovery/pong", "atlas/discovery/bye",
    "atlas/discovery/skills", "atlas/discovery/pong/lights", "atlas/discovery/bye/lights",
    "atlas/intents/get_time", "atlas/intents/ctx/get_time", "atlas/s1/dialog/nothing",
    "atlas/discovery/pong/a/b", "elsewhere/s1/dialog/parse", "atlas", "",
]


def by_trying_all(topic: str, among: tuple[type[Message], ...]) -> type[Message] | None:
    for kind in among:
        params = (IntentRequest.match_topic(topic) if kind is IntentRequest
                  else kind.TOPIC.match(topic))
        if params is not None:
            return kind
    return None


@pytest.mark.parametrize("seed", range(20))
def test_the_shape_index_finds_what_trying_every_kind_finds(seed: int) -> None:
    rng = random.Random(seed)
    among = tuple(rng.sample(KINDS, rng.randint(1, len(KINDS))))
    for topic in TOPICS:
        expected = by_trying_all(topic, among)
        try:
            found = protocol.parse_message(topic, b"{}", among)
        except ProtocolError:
            assert expected is not None  # the kind was found; this payload is not valid for it
            continue
        assert (type(found) if found is not None else None) is expected, (topic, among)


def test_a_topic_seen_before_is_answered_as_the_first_time() -> None:
    among = (protocol.DialogShow, protocol.DialogParse)
    first = protocol.topic_kind("atlas/s1/dialog/parse", among)
    assert first == (protocol.DialogParse, {"sid": "s1"})
    first[1]["sid"] = "changed by a caller"           # the caller's copy, not the cache's
    assert protocol.topic_kind("atlas/s1/dialog/parse", among) == (protocol.DialogParse,
                                                                     {"sid": "s1"})
    # More topics than are remembered (a flood of random sids): each still matches.
    for n in range(protocol.SEEN_TOPICS + 10):
        assert protocol.topic_kind(f"atlas/s{n}/dialog/show", among) == (
            protocol.DialogShow, {"sid": f"s{n}"})
    assert protocol.topic_kind("atlas/s1/dialog/nothing", among) is None
    assert protocol.topic_kind("atlas/s1/dialog/nothing", among) is None


def test_a_decoded_message_knows_the_size_it_was_read_at() -> None:
    payload = b'{ "__cid": "c1",   "text": "hi" }'
    show = protocol.parse_message("atlas/s1/dialog/show", payload, DAEMON_INBOX)
    assert isinstance(show, protocol.DialogShow)
    made = protocol.DialogShow("s1", "c1", "hi")
    assert show == made                       # the size is not part of the message
    assert show.wire_size() == len(payload)   # what the skill sent, spaces and all
    assert made.wire_size() == len(made.to_payload())


def by_levels(template: str, topic: str) -> dict[str, str] | None:
    """A template's match, level by level: what the compiled pattern must agree with."""
    parts, levels = template.split("/"), topic.split("/")
    if len(parts) != len(levels):
        return None
    found = {}
    for part, level in zip(parts, levels, strict=True):
        if part.startswith("{"):
            if not protocol.valid_level(level):
                return None
            found[part[1:-1]] = level
        elif part != level:
            return None
    return found


@settings(max_examples=400, deadline=None)
@given(kind=st.sampled_from([k for k in KINDS if k is not IntentRequest]),
       levels=st.lists(st.one_of(
           st.sampled_from(["atlas", "discovery", "dialog", "channel", "parse", "show",
                            "pong", "bye", "s1", "", "x" * 128, "x" * 129, "a+b", "#",
                            "é", "line\n", "nul\x00"]),
           st.text(max_size=4)), min_size=1, max_size=5))
def test_a_topic_matches_its_template_level_by_level(kind: type[Message],
                                                     levels: list[str]) -> None:
    topic = "/".join(levels)
    assert kind.TOPIC.match(topic) == by_levels(kind.TOPIC.template, topic)
    concrete = kind.TOPIC.template.format(**dict.fromkeys(kind.TOPIC.params, levels[0]))
    assert kind.TOPIC.match(concrete) == by_levels(kind.TOPIC.template, concrete)
