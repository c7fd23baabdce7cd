"""CRF features: the words around, their stems and shapes, and entity matches.

Features are plain strings (python-crfsuite's fastest input form). Entity
matches come in as per-token tags such as "room:B" computed by the caller, so
that training can drop them at random and parsing computes them once.
"""

from __future__ import annotations

from collections.abc import Sequence

from .normalize import Stemmer, Token, shape

_OFFSETS = (-2, -1, 1, 2)


def sentence_features(
    tokens: Sequence[Token], stemmer: Stemmer, entity_tags: Sequence[Sequence[str]]
) -> list[list[str]]:
    words = [t.norm for t in tokens]
    stems = [stemmer.stem(w) for w in words]
    shapes = [shape(t.text) for t in tokens]
    n = len(tokens)
    out = []
    for i in range(n):
        w = words[i]
        f = [
            "b",
            "w=" + w,
            "s=" + stems[i],
            "sh=" + shapes[i],
            "x3=" + w[-3:],
            "p3=" + w[:3],
        ]
        for off in _OFFSETS:
            j = i + off
            if 0 <= j < n:
                f.append(f"w{off}={words[j]}")
                f.append(f"s{off}={stems[j]}")
            else:
                f.append(f"w{off}=<pad>")
        f.append("b-=" + (words[i - 1] if i else "<s>") + "|" + w)
        f.append("b+=" + w + "|" + (words[i + 1] if i + 1 < n else "</s>"))
        f.append("shb=" + (shapes[i - 1] if i else "<s>") + "|" + shapes[i])
        for tag in entity_tags[i]:
            f.append("e=" + tag)
        if i:
            for tag in entity_tags[i - 1]:
                f.append("e-1=" + tag)
        if i + 1 < n:
            for tag in entity_tags[i + 1]:
                f.append("e+1=" + tag)
        out.append(f)
    return out


def bio_tags(n: int, spans: Sequence[tuple[int, int, str]]) -> list[list[str]]:
    """Per-token entity tags ("room:B", "room:I") from (start, end, entity) spans."""
    tags: list[list[str]] = [[] for _ in range(n)]
    for start, end, name in spans:
        tags[start].append(name + ":B")
        for k in range(start + 1, end):
            tags[k].append(name + ":I")
    return tags
