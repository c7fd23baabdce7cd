"""What the daemon itself says: localized, with English as the fallback."""

from __future__ import annotations

import pytest

from atlas.core.phrases import PHRASES, say

KEYS = ["not_understood", "not_understood_help", "cancelled", "timeout", "ask_timeout",
        "skill_gone", "error"]


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
