from __future__ import annotations

from atlas.nlu import Dataset, load_chatl, merge

A = """%[lights_on]
  turn on the @[room]
@[room](extensible=true)
  kitchen
"""
B = """%[lights_on]
  switch on the @[room]
%[lights_off]
  turn off the @[room]
@[room](extensible=false)
  kitchen
  bedroom
"""


def test_merge_concatenates_intents_and_unites_entities() -> None:
    merged = merge([load_chatl(A, lang="en"), load_chatl(B, lang="en")])
    assert merged.lang == "en"
    assert len(merged.intents["lights_on"]) == 2
    assert [v.value for v in merged.entities["room"].values] == ["kitchen", "bedroom"]
    assert merged.entities["room"].extensible is False  # the stricter skill wins


def test_checksum_and_dict_roundtrip() -> None:
    ds = load_chatl(B, lang="en")
    again = Dataset.from_dict(ds.to_dict())
    assert again == ds
    assert again.checksum() == ds.checksum()
    assert load_chatl(A, lang="en").checksum() != ds.checksum()
    assert ds.slot_entities("lights_off") == {"room": "room"}
