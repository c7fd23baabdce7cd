"""Answers to a question with choices, and the built-in cancel intent.

Both are small table-driven matchers on folded text (lower case, no accents,
no punctuation), independent of any trained model: the daemon uses them while
a dialogue waits for an answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from rapidfuzz import fuzz, process

from .entities.numbers import parse_number, parse_ordinal
from .normalize import fold

# Words that may surround a positional answer: "the second one", "la deuxième".
_POSITION_FILLERS = {
    "en": {"the", "one", "option", "choice", "number", "no", "please", "item", "answer"},
    "fr": {"le", "la", "l", "celui", "celle", "ci", "choix", "option", "numero", "no",
           "s", "il", "te", "plait", "vous", "stp", "svp", "reponse"},
}
_LAST = {"last", "dernier", "derniere"}

# Canonical word -> ways of saying it; applied when a choice is that word.
_AGREEMENT = {
    "en": {
        "yes": {"yes", "yeah", "yep", "yup", "sure", "ok", "okay", "of course", "absolutely",
                "right", "correct", "affirmative", "please do", "yes please"},
        "no": {"no", "nope", "nah", "not at all", "no thanks", "negative", "no way"},
    },
    "fr": {
        "oui": {"oui", "ouais", "ouai", "ok", "d accord", "bien sur", "absolument", "exact",
                "carrement", "volontiers", "oui merci", "yes", "si"},
        "non": {"non", "nan", "pas du tout", "non merci", "surtout pas", "jamais"},
    },
}
FUZZY_CUTOFF = 80.0


def _position(answer: str, count: int, lang: str) -> int | None:
    words = answer.split()
    fillers = _POSITION_FILLERS.get(lang, set()) | _POSITION_FILLERS["en"]
    core = [w for w in words if w not in fillers]
    if len(core) != 1:
        return None
    word = core[0]
    if word in _LAST:
        return count - 1
    n = parse_ordinal(word, lang)
    if n is None and (len(words) == 1 or "number" in words or "numero" in words):
        number = parse_number(word, lang)
        n = int(number) if isinstance(number, int) else None
    if n is None or n == -1:
        return count - 1 if n == -1 else None
    return n - 1 if 1 <= n <= count else None


def _agreement(answer: str, folded_choices: list[str], lang: str) -> int | None:
    for canonical, ways in _AGREEMENT.get(lang, _AGREEMENT["en"]).items():
        if answer in ways and canonical in folded_choices:
            return folded_choices.index(canonical)
    return None


def match_choice(text: str, choices: Sequence[str], lang: str) -> str | None:
    """The choice `text` designates, or None when nothing matches well."""
    answer = fold(text)
    if not answer or not choices:
        return None
    folded = [fold(c) for c in choices]
    if answer in folded:
        return choices[folded.index(answer)]
    for finder in (_agreement,):
        index = finder(answer, folded, lang)
        if index is not None:
            return choices[index]
    index = _position(answer, len(choices), lang)
    if index is not None:
        return choices[index]
    contained = [i for i, c in enumerate(folded) if c and f" {c} " in f" {answer} "]
    if len(contained) == 1:
        return choices[contained[0]]
    best = process.extractOne(answer, folded, scorer=fuzz.WRatio, score_cutoff=FUZZY_CUTOFF)
    return choices[best[2]] if best is not None else None


_CANCEL = {
    "en": {"cancel", "stop", "never mind", "nevermind", "forget it", "forget about it",
           "abort", "quit", "exit", "enough", "shut up", "stop it", "cancel that",
           "cancel it", "leave it", "no stop", "drop it", "stop that"},
    "fr": {"annule", "annuler", "annulez", "laisse tomber", "laissez tomber", "arrete",
           "arreter", "arretez", "stop", "oublie", "oublie ca", "tais toi",
           "ca suffit", "c est bon", "rien", "abandonne", "abandonner", "quitter",
           "annule ca", "arrete ca", "laisse", "non laisse tomber", "annulation"},
}
_POLITE = {"please", "pls", "ok", "okay", "oh", "just", "actually", "hey", "s", "il", "te",
           "vous", "plait", "stp", "svp", "merci", "thanks", "bon", "bah", "euh", "non", "no"}
MAX_CANCEL_WORDS = 5
#: Each language's phrases with English's, which work in every language.
_CANCEL_WITH_EN = {lang: frozenset(phrases | _CANCEL["en"]) for lang, phrases in _CANCEL.items()}


def is_cancel(text: str, lang: str) -> bool:
    """The built-in cancel intent: short utterances that only ask to stop.

    "stop the music in the kitchen" is a command for a skill, not a cancel.
    """
    return is_cancel_in(text, (lang,))


@lru_cache(maxsize=1024)
def is_cancel_in(text: str, langs: tuple[str, ...]) -> bool:
    """:func:`is_cancel` in any of ``langs``, the text folded once for all of them.

    Every text the daemon reads is asked, even one it refuses (a cancel gets through
    a full queue): a flood repeating itself is answered from the cache. Texts are
    at most MAX_TEXT characters, so the cache holds a few megabytes at worst."""
    words = fold(text).split()
    if not words or len(words) > MAX_CANCEL_WORDS:
        return False
    core = " ".join(w for w in words if w not in _POLITE)
    whole = " ".join(words)
    for lang in langs:
        phrases = _CANCEL_WITH_EN.get(lang, _CANCEL["en"])
        if core in phrases or whole in phrases:
            return True
    return False
