"""snips/datetime: a date and/or a time resolved against `now`, as ISO-8601.

Covers what people say to an assistant: "tomorrow at 8", "demain à 8h30",
"at 7pm", "in 10 minutes" / "dans 10 minutes", "monday", "lundi prochain",
"tonight", "ce soir à neuf heures", and calendar dates: "June 16th",
"the 16th of June 2027", "le 1er mai", "16 juin à 8h", "2027-06-16", "16/06"
(day first in French, month first in English). Tokens are consumed left to
right by small table-driven readers; any token no reader accepts makes the span
not a datetime. A date without a year is the next one to come.
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
_MONTHS = {
    name: i + 1
    for i, names in enumerate([
        ("january", "jan", "janvier", "janv"), ("february", "feb", "fevrier", "fev", "fevr"),
        ("march", "mar", "mars"), ("april", "apr", "avril", "avr"), ("may", "mai"),
        ("june", "jun", "juin"), ("july", "jul", "juillet", "juil"),
        ("august", "aug", "aout"), ("september", "sep", "sept", "septembre"),
        ("october", "oct", "octobre"), ("november", "nov", "novembre"),
        ("december", "dec", "decembre"),
    ])
    for name in names
}
# What may follow a day's number: "16th", "1st", "1er", "2e", "2eme".
_DAY_SUFFIXES = {"st", "nd", "rd", "th", "er", "e", "eme", "re"}
# 2027-06-16; 16/06/2027 or 06/16/2027; 16/06 or 06/16.
_ISO_DATE_RE = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_SLASH_DATE_RE = re.compile(r"\b(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?\b")
FILLERS = {"at", "a", "on", "the", "this", "ce", "cette", "le", "la", "l", "'", "-", ",",
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
    day: int | None = None  # a calendar date: day, month and perhaps year
    month: int | None = None
    year: int | None = None


def _read_year(tokens: list[str], i: int, when: _When) -> int:
    """An optional year after a date ("june 16, 2027", "16 juin 2027")."""
    j = i + 1 if i < len(tokens) and tokens[i] == "," else i
    if j < len(tokens) and len(tokens[j]) == 4 and tokens[j].isdigit():
        when.year = int(tokens[j])
        return j + 1
    return i


def _read_date(tokens: list[str], i: int, when: _When) -> int | None:
    """Read "16 june", "16th of june", "1er mai" (at a number) or "june 16th",
    "june 16, 2027" (at a month); return the next index, None if not a date."""
    n = len(tokens)
    if tokens[i].isdigit():
        j = i + 1
        if j < n and tokens[j] in _DAY_SUFFIXES:
            j += 1
        if j < n and tokens[j] in ("of", "de"):
            j += 1
        if j < n and tokens[j] in _MONTHS and 1 <= int(tokens[i]) <= 31:
            when.day, when.month = int(tokens[i]), _MONTHS[tokens[j]]
            return _read_year(tokens, j + 1, when)
        return None
    if tokens[i] in _MONTHS and i + 1 < n and tokens[i + 1].isdigit() \
            and 1 <= int(tokens[i + 1]) <= 31:
        when.day, when.month = int(tokens[i + 1]), _MONTHS[tokens[i]]
        j = i + 2
        if j < n and tokens[j] in _DAY_SUFFIXES:
            j += 1
        return _read_year(tokens, j, when)
    return None


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
        if (tok.isdigit() or tok in _MONTHS) and when.month is None:
            nxt = _read_date(tokens, i, when)
            if nxt is not None:
                i = nxt
                continue
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
        elif tok not in _DAY_OFFSETS and tok not in _WEEKDAYS and tok not in FILLERS:
            return None
        i += 1
    if (when.days is None and when.weekday is None and when.hour is None
            and when.part_hour is None and when.month is None):
        return None
    return when


def _date(when: _When, now: datetime) -> datetime | None:
    """The calendar date said, at midnight; without a year, the next one to come."""
    assert when.month is not None and when.day is not None
    year = when.year if when.year is not None else now.year
    if year < 100:
        year += 2000
    try:
        day = now.replace(year=year, month=when.month, day=when.day, hour=0, minute=0,
                          second=0, microsecond=0)
    except ValueError:  # February 30th
        return None
    if when.year is None and day.date() < now.date():
        try:
            day = day.replace(year=year + 1)
        except ValueError:  # February 29th
            return None
    return day


def _resolve(when: _When, now: datetime) -> datetime | None:
    base = now.replace(second=0, microsecond=0)
    explicit_day = when.days is not None or when.weekday is not None or when.month is not None
    if when.month is not None:
        date = _date(when, now)
        if date is None:
            return None
        base = date
    elif when.weekday is not None:
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
    words = _numeric_date(strip_accents(digitize(text.lower(), lang)), lang)
    if words is None:
        return None
    tokens = _TOKEN_RE.findall(words)
    if not tokens:
        return None
    if tokens[0] in _RELATIVE:
        seconds = parse_duration(" ".join(tokens[1:]), lang)
        if seconds is None:
            return None
        try:
            return (now + timedelta(seconds=seconds)).replace(microsecond=0).isoformat()
        except OverflowError:  # "in 1000000000 days": past the calendar, no date
            return None
    when = _parse_absolute(tokens)
    if when is None:
        return None
    resolved = _resolve(when, now)
    return resolved.isoformat() if resolved else None


def _numeric_date(text: str, lang: str) -> str | None:
    """`text` with a date written in figures rewritten in words for the readers:
    "2027-06-16" and "16/06/2027" (or "06/16/2027" in English) -> "16 june 2027";
    None when the figures are no date ("13/13")."""
    match = _ISO_DATE_RE.search(text)
    if match:
        year, month, day = match.groups()
    elif match := _SLASH_DATE_RE.search(text):
        first, second, year = match.groups()
        day, month = (second, first) if lang == "en" else (first, second)
    else:
        return text
    if not 1 <= int(month) <= 12:
        return None
    name = next(m for m, number in _MONTHS.items() if number == int(month))
    words = f"{int(day)} {name}" + (f" {2000 + int(year) if len(year) == 2 else year}"
                                      if year else "")
    return text[: match.start()] + words + text[match.end():]


TRIGGERS = (
    set(_DAY_OFFSETS) | set(_WEEKDAYS) | set(_PARTS) | set(_MONTHS) | _RELATIVE
    | {"at", "a", "vers", "next", "this", "ce", "cette", "le"}
)
# Every word this reader accepts, numbers aside (durations after "in" included).
WORDS = (TRIGGERS | FILLERS | _HOUR_WORDS | _DAY_SUFFIXES
         | {"am", "pm", "et", "demie", "demi", "quart", "apres", "midi", "aujourd", "hui"})
