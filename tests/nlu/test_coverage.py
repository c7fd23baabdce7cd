"""Out-of-domain rejection in small skill sets (the lights / timer / clock
skills of conftest.py), without losing the skills' own paraphrases."""

from __future__ import annotations

import pytest

from atlas.nlu import SnipsLikeInterpreter
from atlas.nlu.coverage import Coverage

OUT_OF_DOMAIN_EN = [
    "what is the capital of France",
    "who won the football match yesterday",
    "tell me a joke",
    "what's your favourite colour",
    "order a pizza",
    "how do I cook rice",
    "what is the meaning of life",
    "book a flight to rome",
    "what's the population of china",
    "play a game with me",
    "send an email to john",
]
OUT_OF_DOMAIN_FR = [
    "quelle est la capitale de la france",
    "raconte-moi une blague",
    "commande une pizza",
    "quel âge as-tu",
    "quelle est ta couleur préférée",
    "réserve un vol pour rome",
]
IN_DOMAIN_EN = [
    ("hey atlas switch on the kitchen light", "lights_on"),
    ("I'd like the lights on in the living room please", "lights_on"),
    ("could you switch off the bathroom light please", "lights_off"),
    ("start a 20 minutes timer", "set_timer"),
    ("remind me in ten minutes", "set_timer"),
    ("what's the time now", "get_time"),
    ("do you know what time it is", "get_time"),
    ("wake me up tomorrow morning", "set_alarm"),
]
IN_DOMAIN_FR = [
    ("allume la lumière du salon s'il te plaît", "lights_on"),
    ("lance un minuteur de 20 minutes", "set_timer"),
    ("quelle heure il est", "get_time"),
    ("éteins la lumière dans la cuisine", "lights_off"),
    ("réveille-moi demain à 7h", "set_alarm"),
]


@pytest.mark.parametrize("text", OUT_OF_DOMAIN_EN)
def test_out_of_domain_english(en_engine: SnipsLikeInterpreter, text: str) -> None:
    parse = en_engine.parse(text)
    assert (parse.intent, parse.slots) == (None, {})


@pytest.mark.parametrize("text", OUT_OF_DOMAIN_FR)
def test_out_of_domain_french(fr_engine: SnipsLikeInterpreter, text: str) -> None:
    assert fr_engine.parse(text).intent is None


@pytest.mark.parametrize(("text", "intent"), IN_DOMAIN_EN)
def test_paraphrases_stay_understood(en_engine: SnipsLikeInterpreter, text: str,
                                     intent: str) -> None:
    assert en_engine.parse(text).intent == intent


@pytest.mark.parametrize(("text", "intent"), IN_DOMAIN_FR)
def test_french_paraphrases_stay_understood(fr_engine: SnipsLikeInterpreter, text: str,
                                            intent: str) -> None:
    assert fr_engine.parse(text).intent == intent


def test_an_expected_answer_is_not_checked(en_engine: SnipsLikeInterpreter) -> None:
    # Within a scope the classifier alone decides: "absolutely" is no skill's word.
    assert en_engine.parse("yes absolutely", scope=["ctx/confirm"]).intent == "ctx/confirm"


def test_foreign_words_against_known_content_words() -> None:
    cov = Coverage("en", [["turn", "on", "the", "light"], ["turn", "off", "the", "light"]],
                   ["kitchen"])
    assert cov.enabled
    assert cov.out_of_domain(["what", "is", "the", "capital", "of", "france"])
    assert not cov.out_of_domain(["could", "you", "turn", "the", "lights", "on", "now"])
    assert not cov.out_of_domain(["kitchen", "light", "please"])
    assert cov.out_of_domain(["turn", "the", "banana"])  # one known, one foreign
    assert not cov.out_of_domain(["please"])  # function words only: the classifier decides


def test_disabled_when_the_training_sentences_are_full_of_one_off_words() -> None:
    # As in the Snips benchmark: every sentence names a title of its own.
    sentences = [["find", "the", "movie", f"title{k}", f"name{k}"] for k in range(50)]
    assert not Coverage("en", sentences).enabled
    assert not Coverage("en", sentences).out_of_domain(["capital", "france"])
