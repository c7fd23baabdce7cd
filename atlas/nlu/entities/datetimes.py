"""snips/datetime: a date and/or a time resolved against `now`, as ISO-8601.

Covers what people say to an assistant: "tomorrow at 8", "demain à 8h30",
"at 7pm", "in 10 minutes" / "dans 10 minutes", "monday", "lundi prochain",
"tonight", "ce soir à neuf heures". Tokens are consumed left to right by small
table-driven readers; any token no reader accepts makes the span not a datetime.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..normalize import strip_accents
from .durations import parse_duration
from .numbers import digitize

_DAY_OFFSETS = {
    "today": 0, "tomorrow": 1, "yesterday": -1, "tonight": 0,
    "aujourd": 0, "hui": 0, "demain": 1, "hier": -1, "apres-demain": 2, "apresdemain": 2,
}
_WEEKDAYS = {
    name: i
    for i, names in enumerate([
        ("monday", "lundi"), ("tuesday", "mardi"), ("wednesday", "mercredi"),
        ("thursday", "jeudi"), ("friday", "vendredi"), ("saturday", "samedi"),
        ("sunday", "dimanche"),
    ])
    for name in names
}
# Parts of the day: a default hour, and whether "at 8" within them means pm.
_PARTS = {
    "morning": (8, False), "matin": (8, False), "noon": (12, False), "midi": (12, False),
    "afternoon": (14, True), "apres-midi": (14, True), "evening": (19, True),
    "soir": (19, True), "soiree": (19, True), "night": (22, True), "nuit": (22, True),
    "tonight": (20, True), "midnight": (0, False), "minuit": (0, False),
}
_FILLERS = {"at", "a", "on", "the", "this", "ce", "cette", "le", "la", "l", "'", "-", ",",
            "in", "of", "du", "de", "d", "et", "and", "around", "vers", "by", "pour", "for",
            "next", "prochain", "prochaine", "o", "clock", "oclock"}
_HOUR_WORDS = {"h", "heure", "heures", "hour", "hours"}
_TOKEN_RE = re.compile(r"\d+|[a-z]+(?:-[a-z]+)*|'|:|,")
_RELATIVE = {"in", "dans", "within"}


@dataclass
class _When:
    days: int | None = None
    weekday: int | None = None
    hour: int | None = None
    minute: int = 0
    pm: bool | None = None
    part_pm: bool = False
    part_hour: int | None = None


def _read_time(tokens: list[str], i: int, when: _When) -> int | None:
    """Read "8", "8:30", "8h30", "8 heures 30", "8 pm", "8 h et demie"; return next index."""
    hour = int(tokens[i])
    if hour > 24:
        return None
    minute, i = 0, i + 1
    if i < len(tokens) and (tokens[i] == ":" or tokens[i] in _HOUR_WORDS):
        i += 1
        if i < len(tokens) and tokens[i].isdigit():
            minute, i = int(tokens[i]), i + 1
        elif tokens[i : i + 2] in (["et", "demie"], ["et", "demi"], ["et", "quart"]):
            minute, i = (15 if tokens[i + 1] == "quart" else 30), i + 2
    if i < len(tokens) and tokens[i] in ("am", "pm"):
        when.pm, i = tokens[i] == "pm", i + 1
    if minute > 59:
        return None
    when.hour, when.minute = hour, minute
    return i


def _parse_absolute(tokens: list[str]) -> _When | None:
    when = _When()
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.isdigit():
            nxt = _read_time(tokens, i, when)
            if nxt is None:
                return None
            i = nxt
            continue
        if tok in _DAY_OFFSETS:
            when.days = _DAY_OFFSETS[tok]
        elif tok in _WEEKDAYS:
            when.weekday = _WEEKDAYS[tok]
        if tok in _PARTS:
            when.part_hour, when.part_pm = _PARTS[tok]
        elif tok not in _DAY_OFFSETS and tok not in _WEEKDAYS and tok not in _FILLERS:
            return None
        i += 1
    if when.days is None and when.weekday is None and when.hour is None and when.part_hour is None:
        return None
    return when


def _resolve(when: _When, now: datetime) -> datetime:
    base = now.replace(second=0, microsecond=0)
    explicit_day = when.days is not None or when.weekday is not None
    if when.weekday is not None:
        ahead = (when.weekday - now.weekday()) % 7 or 7
        base += timedelta(days=ahead)
    elif when.days:
        base += timedelta(days=when.days)
    hour = when.hour
    if hour is not None:
        if when.pm or (when.pm is None and when.part_pm):
            hour = hour + 12 if hour < 12 else hour
        elif when.pm is False and hour == 12:
            hour = 0
        result = base.replace(hour=hour % 24, minute=when.minute)
    elif when.part_hour is not None:
        result = base.replace(hour=when.part_hour, minute=0)
    else:
        return base.replace(hour=0, minute=0)
    if not explicit_day and result < now:
        result += timedelta(days=1)  # "at 8" said at 9 means tomorrow's 8
    return result


def parse_datetime(text: str, lang: str, now: datetime | None = None) -> str | None:
    now = now or datetime.now().astimezone()
    folded = strip_accents(digitize(text.lower(), lang))
    tokens = _TOKEN_RE.findall(folded)
    if not tokens:
        return None
    if tokens[0] in _RELATIVE:
        seconds = parse_duration(" ".join(tokens[1:]), lang)
        if seconds is None:
            return None
        return (now + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()
    when = _parse_absolute(tokens)
    if when is None:
        return None
    return _resolve(when, now).isoformat()


TRIGGERS = (
    set(_DAY_OFFSETS) | set(_WEEKDAYS) | set(_PARTS) | _RELATIVE
    | {"at", "a", "vers", "next", "this", "ce", "cette", "le"}
)
