"""What atlas-sdk 1.1 sends and expects, handled at the protocol's edge (no broker needed)."""

from __future__ import annotations

import json
import re

from atlas.protocol import (
    DialogAsk,
    DialogShow,
    DialogTerminate,
    Skills,
    SkillSummary,
    parse_message,
)
from atlas.protocol.discovery import with_daemon_view


def parse(topic: str, payload: dict[str, object]) -> object:
    return parse_message(topic, json.dumps(payload).encode(),
                         (DialogShow, DialogAsk, DialogTerminate))


def test_a_show_drops_the_stale_ask_keys_and_null_cards() -> None:
    show = parse("atlas/s1/dialog/show", {"__cid": "c1", "text": "Planted", "cards": None,
                                          "slot": "plant", "choices": ["yes", "no"],
                                          "mood": "happy"})
    assert isinstance(show, DialogShow)
    assert show.extra == {"mood": "happy"}
    show = parse("atlas/s1/dialog/show", {"__cid": "c1", "text": "x", "cards": [{"header": "H"}]})
    assert isinstance(show, DialogShow) and show.extra == {"cards": [{"header": "H"}]}


def test_an_ask_with_null_choices_or_null_slot() -> None:
    ask = parse("atlas/s1/dialog/ask", {"__cid": "c1", "text": "Which?", "slot": "plant",
                                        "choices": None, "cards": None})
    assert isinstance(ask, DialogAsk) and ask.slot == "plant" and ask.choices is None
    assert ask.extra == {}
    ask = parse("atlas/s1/dialog/ask", {"__cid": "c1", "text": "Sure?", "slot": None,
                                        "choices": ["yes", "no"]})
    assert isinstance(ask, DialogAsk) and ask.slot is None and ask.choices == ("yes", "no")


def test_a_terminate_may_say_the_handler_failed() -> None:
    plain = parse("atlas/s1/dialog/terminate", {"__cid": "c1"})
    failed = parse("atlas/s1/dialog/terminate", {"__cid": "c1", "reason": "error"})
    assert plain == DialogTerminate("s1", "c1") and failed == DialogTerminate("s1", "c1", True)
    assert DialogTerminate("s1", "c1", True).to_dict() == {"__cid": "c1", "reason": "error"}
    assert DialogTerminate("s1", "c1").to_dict() == {"__cid": "c1"}


def test_the_daemons_version_is_semantic_versioning() -> None:
    from atlas import __version__

    # atlas-sdk parses it with semantic_version.Version: MAJOR.MINOR.PATCH[-pre][+build].
    # (The naive started_at is checked by the SDK's own channel in test_atlas_sdk.)
    assert re.fullmatch(r"\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?", __version__)


def test_skill_summaries_carry_where_training_came_from() -> None:
    own = SkillSummary("garden", "1.0", "", "", {"plant": ["plant"]}, {}, [])
    daemon = Skills("1", "t", (SkillSummary("garden", "1.0", "", "", {"plant": ["plant"]}, {},
                                            ["en"], training_from="/srv/training/garden",
                                            untrained=["hello"]),))
    merged = with_daemon_view(own, daemon)
    assert (merged.training_from, merged.untrained) == ("/srv/training/garden", ["hello"])
    assert SkillSummary.from_dict(merged.to_dict()) == merged
    assert with_daemon_view(own, None) == own
    assert "training_from" not in own.to_dict()
