"""What the daemon itself says: localized, with English as the fallback."""

from __future__ import annotations

import pytest

from atlas.core.phrases import MAX_LISTED, PHRASES, listing, reask, say

KEYS = ["not_understood", "not_understood_help", "cancelled", "timeout", "ask_timeout",
        "skill_gone", "error", "not_a_choice", "not_an_answer", "say_cancel", "or",
        "question_dropped", "welcome", "restarted", "queue_full", "throttled"]


@pytest.mark.parametrize("lang", sorted(PHRASES))
def test_every_language_says_everything(lang: str) -> None:
    assert set(PHRASES[lang]) == set(KEYS)
    assert all(PHRASES[lang][key].strip() for key in KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_french_is_not_english(key: str) -> None:
    assert say(key, "fr") != say(key, "en")


@pytest.mark.parametrize(("lang", "table"), [
    ("fr", "fr"), ("fr_FR", "fr"), ("fr-CA", "fr"), ("FR", "fr"),
    ("en", "en"), ("en_GB", "en"), ("de", "en"), ("", "en"), ("zz-ZZ", "en"),
])
def test_regional_variants_and_unknown_languages(lang: str, table: str) -> None:
    assert say("not_understood", lang) == PHRASES[table]["not_understood"]


@pytest.mark.parametrize("lang", sorted(PHRASES))
def test_placeholders_are_the_same_in_every_language(lang: str) -> None:
    assert all(("{choices}" in PHRASES[lang][key]) == ("{choices}" in PHRASES["en"][key])
               for key in KEYS)


@pytest.mark.parametrize(("items", "lang", "text"), [
    ([], "en", ""), (["yes"], "en", "yes"), (["yes", "no"], "en", "yes or no"),
    (["a", "b", "c"], "fr", "a, b ou c"),
    ([str(n) for n in range(MAX_LISTED + 2)], "en",
     ", ".join(str(n) for n in range(MAX_LISTED)) + ", …"),
])
def test_listing(items: list[str], lang: str, text: str) -> None:
    assert listing(items, lang) == text


def test_a_reasked_question_says_why_then_asks_then_says_how_to_stop() -> None:
    assert reask("Which room?", "en", ["kitchen", "hall"]) == (
        "Sorry, that isn't one of the choices: kitchen or hall. Which room? "
        'Say "cancel" to stop.')
    assert reask("Combien de temps ?", "fr", None) == (
        "Désolé, je n'ai pas compris cette réponse. Combien de temps ? "
        "Dites « annuler » pour arrêter.")
