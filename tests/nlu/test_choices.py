from __future__ import annotations

import pytest

from atlas.nlu import is_cancel, match_choice

COLOURS = ["red", "green", "blue"]
COULEURS = ["rouge", "vert", "bleu"]


@pytest.mark.parametrize(
    ("text", "choices", "lang", "expected"),
    [
        ("Green", COLOURS, "en", "green"),
        ("grean", COLOURS, "en", "green"),
        ("the first one", COLOURS, "en", "red"),
        ("2", COLOURS, "en", "green"),
        ("number three", COLOURS, "en", "blue"),
        ("the last one", COLOURS, "en", "blue"),
        ("la deuxième", COULEURS, "fr", "vert"),
        ("Vért", COULEURS, "fr", "vert"),
        ("le bleu s'il te plaît", COULEURS, "fr", "bleu"),
        ("yeah", ["yes", "no"], "en", "yes"),
        ("nope", ["yes", "no"], "en", "no"),
        ("ouais", ["oui", "non"], "fr", "oui"),
        ("banana", COLOURS, "en", None),
        ("the fifth one", COLOURS, "en", None),
        ("", COLOURS, "en", None),
    ],
)
def test_match_choice(text: str, choices: list[str], lang: str, expected: str | None) -> None:
    assert match_choice(text, choices, lang) == expected


@pytest.mark.parametrize(
    ("text", "lang"),
    [("cancel", "en"), ("Stop!", "en"), ("never mind", "en"), ("forget it", "en"),
     ("please cancel", "en"), ("annule", "fr"), ("Annuler", "fr"), ("laisse tomber", "fr"),
     ("arrête", "fr"), ("non, laisse tomber", "fr")],
)
def test_cancel(text: str, lang: str) -> None:
    assert is_cancel(text, lang)


@pytest.mark.parametrize(
    ("text", "lang"),
    [("stop the music in the kitchen", "en"), ("turn on the light", "en"),
     ("arrête la musique dans la cuisine", "fr"), ("", "fr")],
)
def test_not_cancel(text: str, lang: str) -> None:
    assert not is_cancel(text, lang)
