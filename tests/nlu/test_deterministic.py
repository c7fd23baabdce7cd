from __future__ import annotations

from atlas.nlu import load_chatl
from atlas.nlu.deterministic import DeterministicMatcher


def test_exact_stage_needs_known_values() -> None:
    ds = load_chatl("%[on]\n  turn on the @[room]\n%[off]\n  turn off the @[room]\n"
                    "@[room]\n  kitchen\n  living room\n")
    matcher = DeterministicMatcher(ds)
    known = {("kitchen",), ("living", "room")}

    def is_value(entity: str, a: int, b: int, words: list[str]) -> bool:
        return tuple(words[a:b]) in known

    words = ["turn", "on", "the", "living", "room"]
    assert matcher.match(words, lambda e, a, b: is_value(e, a, b, words), None) == (
        "on", [("room", "room", 3, 5)])
    words = ["turn", "on", "the", "garage"]
    assert matcher.match(words, lambda e, a, b: is_value(e, a, b, words), None) is None
    words = ["turn", "off", "the", "kitchen"]
    assert matcher.match(words, lambda e, a, b: is_value(e, a, b, words), {"on"}) is None


def test_the_most_specific_template_of_an_intent_gives_the_slots() -> None:
    # "give @[what]" and "give this @[what]" both match "give this novel";
    # the answer used to depend on the process's string hash seed.
    ds = load_chatl("%[rate]\n  give @[what]\n  give this @[what]\n"
                    "@[what]\n  novel\n  this novel\n")
    matcher = DeterministicMatcher(ds)
    words = ["give", "this", "novel"]
    assert matcher.match(words, lambda e, a, b: tuple(words[a:b]) in {("novel",),
                                                                    ("this", "novel")},
                         None) == ("rate", [("what", "what", 2, 3)])
