"""A compact chatl parser (the pytlas training DSL), producing a Dataset.

It follows pychatl 2.0.4 (parser + snips adapter) so that existing skills train
the same: blocks start with `%[intent]`, `@[entity](props)` or `~[synonym]` at
the start of a line and hold indented data lines; `#` starts a comment.
In intent sentences `~[syn]` expands to every value of the synonym (`~[syn?]`
also to nothing), `@[entity]` / `@[entity#variant]` become slot chunks whose
example text cycles through the entity's values, like pychatl's value provider.
Where pychatl silently drops a sentence or crashes (an undeclared synonym or
entity, an entity without values) we raise a TrainingDataError naming the line.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .dataset import BUILTIN_PREFIX, Chunk, Dataset, Entity, EntityValue, Utterance
from .entities.examples import builtin_examples
from .errors import TrainingDataError
from .limits import MAX_CHATL, MAX_INTENTS, MAX_UTTERANCES

_HEADER_RE = re.compile(r"^([%@~])\[([^\]]*)\](?:\((.*)\))?\s*$")
_PROP_RE = re.compile(r"\s*([^=,]+?)\s*=\s*(`[^`]*`|[^,]*?)\s*(?:,|$)")
# One element of an intent sentence: a slot, a synonym, a comment, or text.
_ELEMENT_RE = re.compile(r"@\[([^\]]*)\]|~\[([^\]]*)\]|(#.*)$|([^@~#]+|[@~])")


@dataclass
class _Block:
    kind: str  # "%", "@" or "~"
    name: str
    props: dict[str, str]
    line: int
    lines: list[tuple[int, str]] = field(default_factory=list)


@dataclass
class _Part:
    kind: str  # "text", "entity", "synonym"
    value: str
    variant: str | None = None
    optional: bool = False


def _parse_props(raw: str, line: int, fail: _Fail) -> dict[str, str]:
    props: dict[str, str] = {}
    pos = 0
    while pos < len(raw):
        m = _PROP_RE.match(raw, pos)
        if not m or m.end() == pos:
            raise fail(f"bad property list ({raw})", line)
        value = m.group(2)
        props[m.group(1)] = value[1:-1] if value.startswith("`") else value
        pos = m.end()
    return props


class _Fail:
    def __init__(self, source: str, lang: str) -> None:
        self.source, self.lang = source, lang

    def __call__(self, message: str, line: int | None) -> TrainingDataError:
        return TrainingDataError(message, source=self.source, lang=self.lang, line=line)


def _blocks(text: str, fail: _Fail) -> list[_Block]:
    blocks: list[_Block] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        content = raw.strip()
        if not content or content.startswith("#"):
            continue
        header = _HEADER_RE.match(raw) if raw[:1] in "%@~" else None
        if raw[:1] in "%@" and header is None:
            raise fail(f"syntax error: cannot read the definition {content!r}", number)
        if header and not (header.group(1) == "~" and blocks and raw[:1] != "~"):
            kind, name, props = header.group(1), header.group(2).strip(), header.group(3)
            if not name:
                raise fail("syntax error: empty name", number)
            parsed = _parse_props(props, number, fail) if props else {}
            blocks.append(_Block(kind, name, parsed, number))
            continue
        if not blocks:
            raise fail(f"syntax error: {content!r} is outside any definition", number)
        blocks[-1].lines.append((number, raw.lstrip(" \t").rstrip("\r\n")))
    return blocks


def _sentence_parts(text: str, line: int, fail: _Fail) -> list[_Part]:
    parts: list[_Part] = []
    for m in _ELEMENT_RE.finditer(text):
        entity, synonym, comment, plain = m.groups()
        if comment is not None:
            break
        if entity is not None:
            name, _, variant = entity.partition("#")
            parts.append(_Part("entity", name, variant or None))
        elif synonym is not None:
            optional = synonym.endswith("?")
            parts.append(_Part("synonym", synonym.rstrip("?"), optional=optional))
        elif plain is not None:
            if parts and parts[-1].kind == "text":
                parts[-1].value += plain
            else:
                parts.append(_Part("text", plain))
    if not parts:
        raise fail("syntax error: empty sentence", line)
    return parts


def _data_value(text: str) -> str:
    # A data line ends at a comment, as in pychatl's grammar.
    return text.split("#", 1)[0].rstrip()


class _ValueProvider:
    """Cycles through an entity's values per variant, like pychatl's provider."""

    def __init__(self, values: dict[str | None, list[str]]) -> None:
        self.values = values
        self.index: dict[str | None, int] = {}

    def next(self, variant: str | None) -> str | None:
        values = self.values.get(variant) or []
        if not values:
            return None
        i = (self.index.get(variant, -1) + 1) % len(values)
        self.index[variant] = i
        return values[i]


def _strip_optional_spaces(parts: list[_Part]) -> list[_Part]:
    # pychatl's clean-up after expanding synonyms: trim the first part, and any
    # part followed by one starting with a space; drop what becomes empty.
    kept: list[_Part] = []
    for i, part in enumerate(parts):
        value = part.value
        if part.kind == "text":
            if i == 0:
                value = value.lstrip()
            if i == len(parts) - 1 or parts[i + 1].value[:1] == " ":
                value = value.rstrip()
            if not value:
                continue
        kept.append(_Part(part.kind, value, part.variant))
    return kept


def load_chatl(text: str, *, source: str = "", lang: str = "") -> Dataset:
    """Parse chatl text into a Dataset; raises TrainingDataError."""
    fail = _Fail(source, lang)
    if not isinstance(text, str):
        raise fail("chatl training data must be text", None)
    if len(text) > MAX_CHATL:
        raise fail(f"chatl text longer than {MAX_CHATL} characters", None)
    blocks = _blocks(text, fail)
    if sum(b.kind == "%" for b in blocks) > MAX_INTENTS:
        raise fail(f"more than {MAX_INTENTS} intents", None)

    synonyms: dict[str, list[str]] = {}
    for b in blocks:
        if b.kind == "~":
            synonyms[b.name] = [v for _, raw in b.lines if (v := _data_value(raw))]

    # Entities, with their variants folded into the parent as pychatl does.
    entity_blocks: dict[str, _Block] = {}
    variant_values: dict[str, dict[str | None, list[str]]] = {}
    for b in blocks:
        if b.kind != "@":
            continue
        name, _, variant = b.name.partition("#")
        values = [
            m.group(1) if (m := re.fullmatch(r"~\[([^\]]*)\]", v)) else v
            for _, raw in b.lines
            if (v := _data_value(raw))
        ]
        variant_values.setdefault(name, {})[variant or None] = values
        if name in entity_blocks:
            entity_blocks[name].props.update(b.props)
        else:
            entity_blocks[name] = _Block("@", name, dict(b.props), b.line)

    def entity_type(name: str) -> str | None:
        props = entity_blocks[name].props
        etype = props.get("type") or props.get("snips:type")
        if etype and etype not in entity_blocks and BUILTIN_PREFIX not in etype:
            etype = BUILTIN_PREFIX + etype
        return etype

    dataset = Dataset(lang=lang)
    for name, block in entity_blocks.items():
        if entity_type(name):
            continue  # a built-in, or a slot re-using another declared entity
        all_values = [v for vs in variant_values[name].values() for v in vs]
        dataset.entities[name] = Entity(
            name=name,
            values=[EntityValue(v, tuple(synonyms.get(v, ()))) for v in all_values],
            extensible=block.props.get("extensible", "true") == "true",
            strictness=_strictness(block, fail),
        )

    providers: dict[str, _ValueProvider] = {}
    # A built-in entity declared without values takes the language's examples.
    for name, by_variant in variant_values.items():
        etype = entity_type(name)
        if etype and not by_variant.get(None) and (examples := builtin_examples(etype, lang)):
            by_variant[None] = list(examples)

    budget = [MAX_UTTERANCES]   # sentences left to expand, for the whole text
    for b in blocks:
        if b.kind != "%":
            continue
        utterances: list[Utterance] = []
        for number, raw in b.lines:
            expanded = _expand(_sentence_parts(raw, number, fail), synonyms, number, fail, budget)
            for parts in expanded:
                utterances.append(_utterance(parts, entity_type, providers, variant_values,
                                             entity_blocks, number, fail))
        if not utterances:
            raise fail(f"intent %[{b.name}] has no training sentences", b.line)
        dataset.intents.setdefault(b.name, []).extend(utterances)
    return dataset


def _strictness(block: _Block, fail: _Fail) -> float:
    try:
        value = float(block.props.get("strictness", "1"))
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise fail("strictness must be a number from 0 to 1", block.line)
    return value


def _expand(
    parts: list[_Part], synonyms: dict[str, list[str]], line: int, fail: _Fail,
    budget: list[int],
) -> list[list[_Part]]:
    """Every sentence the synonyms make; ``budget[0]`` counts down the sentences allowed.

    Synonyms multiply: a few in one sentence make millions of sentences, so the
    count is checked before anything is expanded.
    """
    slots = [p for p in parts if p.kind == "synonym"]
    count = 1
    choices = []
    for p in slots:
        if p.value not in synonyms:
            raise fail(f"synonym ~[{p.value}] is not declared", line)
        choices.append(([""] if p.optional else []) + synonyms[p.value])
        count *= len(choices[-1])
        if count > budget[0]:
            break
    budget[0] -= count
    if budget[0] < 0:
        raise fail(f"more than {MAX_UTTERANCES} training sentences once synonyms are expanded",
                   line)
    if not slots:
        return [parts]
    expanded = []
    for combo in itertools.product(*choices):
        values = iter(combo)
        filled = []
        for p in parts:
            if p.kind != "synonym":
                filled.append(p)
            elif value := next(values):
                filled.append(_Part("text", value))
        expanded.append(_strip_optional_spaces(filled))
    return expanded


def _utterance(
    parts: list[_Part],
    entity_type: Callable[[str], str | None],
    providers: dict[str, _ValueProvider],
    variant_values: dict[str, dict[str | None, list[str]]],
    entity_blocks: dict[str, _Block],
    line: int,
    fail: _Fail,
) -> Utterance:
    chunks: list[Chunk] = []
    for p in parts:
        if p.kind == "text":
            if chunks and chunks[-1].slot is None:
                chunks[-1] = Chunk(chunks[-1].text + p.value)
            else:
                chunks.append(Chunk(p.value))
            continue
        if p.value not in entity_blocks:
            raise fail(f"entity @[{p.value}] is not declared", line)
        etype = entity_type(p.value) or p.value
        source = etype if etype in entity_blocks else p.value
        provider = providers.setdefault(source, _ValueProvider(variant_values[source]))
        example = provider.next(p.variant)
        if example is None:
            what = f"@[{source}#{p.variant}]" if p.variant else f"@[{source}]"
            raise fail(f"entity {what} has no values to build examples from", line)
        chunks.append(Chunk(example, slot=p.value, entity=etype))
    return Utterance(tuple(chunks))
