"""Hypothesis strategies for hostile input: what anyone on the broker could send."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

#: Keys the protocol and the Snips format read, so wrong types land where they hurt.
KEYS = (
    "name", "version", "author", "description", "intents", "env", "training", "skills",
    "conflicts", "started_at", "languages", "__cid", "__sid", "__uid", "__lang", "__env",
    "__slots", "__choice", "__text", "text", "slot", "choices", "reason", "context", "uid",
    "lang", "sid", "utterances", "data", "entity", "slot_name", "entities", "value",
    "synonyms", "automatically_extensible", "matching_strictness", "language", "en", "fr",
)

scalars = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
           | st.text(max_size=8) | st.sampled_from(["", "x" * 3000, "a/b", "#", "+", "\x00"]))
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=4), inner, max_size=3),
    max_leaves=6)
# A valid-looking object with a few keys wrong: where type checks are missed.
objects = st.dictionaries(st.sampled_from(KEYS), values, max_size=5)


def nested(depth: int) -> bytes:
    return ("[" * depth + "]" * depth).encode()


#: Raw payloads: JSON of wrong shapes, bytes that are not UTF-8, deep nesting, big strings.
payloads: st.SearchStrategy[bytes] = st.one_of(
    objects.map(lambda o: json.dumps(o).encode()),
    values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=64),
    st.sampled_from([b"\xff\xfe\xfa", b"{", b'{"name": "\xc3\x28"}', nested(100_000),
                     b'{"a":' * 5000, b"x" * 300_000, b"null", b"", b"   "]),
)
