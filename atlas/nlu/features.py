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
    tokens: Sequence[Token], stemmer: Stemmer, entity_tags: Sequence[Sequence[str]],
    capitals: bool = True,
) -> list[list[str]]:
    words = [t.norm for t in tokens]
    stems = [stemmer.stem(w) for w in words]
    shapes = [shape(t.text) for t in tokens]
    n = len(tokens)
    caps = _capital_runs(shapes, words) if capitals else [""] * n
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
        if caps[i]:
            f.append("cap=" + caps[i])
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


# Words and marks that titles and names carry between capitalised words.
_GLUE = {"of", "the", "a", "an", "and", "in", "on", "to", "for", "de", "la", "le", "les", "du",
         "des", "&", ":", "-", "'", ",", "!", "?", "."}


def _capital_runs(shapes: Sequence[str], words: Sequence[str]) -> list[str]:
    """B/I/E/S of runs of capitalised words (glue words allowed inside), as in
    titles and names: "The Lion Sleeps Tonight", "Heroes of Might & Magic"."""
    n = len(shapes)
    tags = [""] * n
    i = 1  # the first word of a sentence is capitalised anyway
    while i < n:
        if shapes[i] not in ("Xx", "XX"):
            i += 1
            continue
        j = i + 1
        end = i + 1
        while j < n and (shapes[j] in ("Xx", "XX", "9") or words[j] in _GLUE):
            if shapes[j] in ("Xx", "XX", "9"):
                end = j + 1
            j += 1
        if end - i == 1:
            tags[i] = "S"
        else:
            tags[i] = "B"
            for k in range(i + 1, end - 1):
                tags[k] = "I"
            tags[end - 1] = "E"
        i = end
    return tags


def bio_tags(n: int, spans: Sequence[tuple[int, int, str]]) -> list[list[str]]:
    """Per-token entity tags ("room:B", "room:I") from (start, end, entity) spans."""
    tags: list[list[str]] = [[] for _ in range(n)]
    for start, end, name in spans:
        tags[start].append(name + ":B")
        for k in range(start + 1, end):
            tags[k].append(name + ":I")
    return tags
