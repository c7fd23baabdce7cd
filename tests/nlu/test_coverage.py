"""Out-of-domain rejection in small skill sets (the lights / timer / clock
skills of conftest.py), on the path the daemon takes: within a scope (the
root intents) or a context, without losing the skills' own paraphrases."""

from __future__ import annotations

import pytest

from atlas.nlu import SnipsLikeInterpreter, load_chatl, merge
from atlas.nlu.coverage import Coverage, Said, Sentence

from .conftest import EN_LIGHTS, EN_TIMER, FR_LIGHTS, FR_TIMER

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
    # near misses: a skill's words, applied to something else
    "turn up the volume",
    "turn on the heating",
    "open the garage door",
    "lock the front door",
    "hello",
]
OUT_OF_DOMAIN_FR = [
    "quelle est la capitale de la france",
    "raconte-moi une blague",
    "commande une pizza",
    "quel âge as-tu",
    "quelle est ta couleur préférée",
    "réserve un vol pour rome",
    "monte le volume",
    "allume le chauffage",
    "ouvre la porte du garage",
    "bonjour",
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

#: A skill that sets a context: its intents are only heard within it.
EN_CONTEXT = """
%[recipe/next_step]
  next step
  what's the next step
  go on with the recipe
  and then
  what do I do next

%[recipe/repeat]
  repeat that
  say it again
  repeat the step
  can you repeat
"""
FR_CONTEXT = """
%[recette/suivante]
  étape suivante
  quelle est la prochaine étape
  continue la recette
  et après
  je fais quoi ensuite

%[recette/répéter]
  répète
  redis-le
  répète l'étape
  tu peux répéter
"""


def _root(engine: SnipsLikeInterpreter) -> frozenset[str]:
    """The scope the daemon parses free requests with: intents outside contexts."""
    return frozenset(i for i in engine.intents if "/" not in i)


@pytest.fixture(scope="module")
def with_contexts() -> dict[str, SnipsLikeInterpreter]:
    engines = {}
    for lang, sources in (("en", (EN_LIGHTS, EN_TIMER, EN_CONTEXT)),
                          ("fr", (FR_LIGHTS, FR_TIMER, FR_CONTEXT))):
        engine = SnipsLikeInterpreter(lang)
        engine.fit(merge([load_chatl(text, source=f"s{k}", lang=lang)
                          for k, text in enumerate(sources)]))
        engines[lang] = engine
    return engines


@pytest.mark.parametrize("text", OUT_OF_DOMAIN_EN)
def test_out_of_domain_english(en_engine: SnipsLikeInterpreter, text: str) -> None:
    for scope in (None, _root(en_engine)):
        parse = en_engine.parse(text, scope)
        assert (parse.intent, parse.slots) == (None, {}), scope


@pytest.mark.parametrize("text", OUT_OF_DOMAIN_FR)
def test_out_of_domain_french(fr_engine: SnipsLikeInterpreter, text: str) -> None:
    for scope in (None, _root(fr_engine)):
        assert fr_engine.parse(text, scope).intent is None, scope


@pytest.mark.parametrize(("text", "intent"), IN_DOMAIN_EN)
def test_paraphrases_stay_understood(en_engine: SnipsLikeInterpreter, text: str,
                                     intent: str) -> None:
    assert en_engine.parse(text).intent == intent
    assert en_engine.parse(text, _root(en_engine)).intent == intent


@pytest.mark.parametrize(("text", "intent"), IN_DOMAIN_FR)
def test_french_paraphrases_stay_understood(fr_engine: SnipsLikeInterpreter, text: str,
                                            intent: str) -> None:
    assert fr_engine.parse(text).intent == intent
    assert fr_engine.parse(text, _root(fr_engine)).intent == intent


@pytest.mark.parametrize(("lang", "context", "said", "intent"), [
    ("en", "recipe", "ok what's the next step", "recipe/next_step"),
    ("en", "recipe", "could you repeat that please", "recipe/repeat"),
    ("fr", "recette", "c'est quoi l'étape suivante", "recette/suivante"),
    ("fr", "recette", "tu peux répéter s'il te plaît", "recette/répéter"),
])
def test_within_a_context_its_requests_are_understood(
        with_contexts: dict[str, SnipsLikeInterpreter], lang: str, context: str, said: str,
        intent: str) -> None:
    engine = with_contexts[lang]
    scope = [i for i in engine.intents if i.startswith(context + "/")]
    assert engine.parse(said, scope).intent == intent


@pytest.mark.parametrize(("lang", "context", "said"), [
    ("en", "recipe", "what is the capital of France"),
    ("en", "recipe", "tell me a joke"),
    ("en", "recipe", "turn on the kitchen light"),  # another skill's, not the context's
    ("en", "recipe", "set a timer for ten minutes"),
    ("en", "recipe", "next, open the garage door"),
    ("fr", "recette", "quelle est la capitale de la france"),
    ("fr", "recette", "raconte-moi une blague"),
    ("fr", "recette", "allume la lumière de la cuisine"),
    ("fr", "recette", "répète après moi les paroles de la chanson"),
])
def test_within_a_context_off_topic_is_rejected(
        with_contexts: dict[str, SnipsLikeInterpreter], lang: str, context: str,
        said: str) -> None:
    engine = with_contexts[lang]
    scope = [i for i in engine.intents if i.startswith(context + "/")]
    assert engine.parse(said, scope).intent is None


def test_an_expected_answer_in_a_context(en_engine: SnipsLikeInterpreter) -> None:
    # Fillers ("absolutely") count for nothing: what is left is the intent's own word.
    assert en_engine.parse("yes absolutely", scope=["ctx/confirm"]).intent == "ctx/confirm"
    assert en_engine.parse("what is the capital of France", scope=["ctx/confirm"]).intent is None


def _coverage() -> Coverage:
    return Coverage("en", {
        "lights_on": [Sentence(["turn", "on", "the", "light"]),
                      Sentence(["turn", "on", "the", "kitchen", "light"],
                               ["turn", "on", "the", "light"])],
        "lights_off": [Sentence(["turn", "off", "the", "light"])],
        "help": [Sentence(["what", "can", "you", "do"])],
    }, {"lights_on": ["kitchen"]})


def words(text: str, *slipped: str) -> list[Said]:
    return [Said(w, w in slipped) for w in text.split()]


def test_foreign_words_against_the_intent_s_own_words() -> None:
    cov = _coverage()
    assert cov.enabled
    assert cov.out_of_domain("lights_on", words("what is the capital of france"))
    assert not cov.out_of_domain("lights_on", words("could you turn the lights on now"))
    assert not cov.out_of_domain("lights_on", words("kitchen light please"))
    assert cov.out_of_domain("lights_on", words("turn the banana"))  # one known, one foreign
    assert cov.out_of_domain("lights_on", words("turn on the 7"))  # a number no slot took
    # a free value of a slot counts as a foreign word, a known one as a known word
    assert cov.out_of_domain("lights_on", [*words("turn on the"), Said(value=False)])
    assert not cov.out_of_domain("lights_on", [*words("turn on the"), Said(value=True)])


def test_another_intent_s_word_is_half_foreign() -> None:
    cov = _coverage()
    assert not cov.out_of_domain("lights_off", words("turn off the kitchen light"))
    assert cov.out_of_domain("help", words("what can you do with the light"))


def test_a_corrected_word_counts_half() -> None:
    cov = _coverage()
    # "tunr" corrected: half known, with "light" enough; alone, not enough
    assert not cov.out_of_domain("lights_on", words("turn the light", "turn"))
    assert cov.out_of_domain("lights_on", words("turn it", "turn"))
    # bent into another intent's word, it is half foreign
    assert cov.out_of_domain("help", words("what can you do turn", "turn"))
    # bent into a function word ("que peux-tu fsire"), it is one
    assert not cov.out_of_domain("help", words("so what can you do", "do"))


def test_function_words_alone_need_a_sentence_of_the_intent() -> None:
    cov = _coverage()
    assert not cov.out_of_domain("help", words("so what can you do"))
    assert cov.out_of_domain("help", words("how are you"))
    assert cov.out_of_domain("help", words("hello"))
    assert not cov.out_of_domain("help", words("how are you"), confidence=0.95)  # sure


def test_not_checked_where_slots_hold_names() -> None:
    # As in the Snips benchmark: every sentence names a title of its own.
    sentences = [Sentence(["find", "the", "movie", f"title{k}"], ["find", "the", "movie"],
                          [f"title{k}"]) for k in range(50)]
    cov = Coverage("en", {"find": sentences})
    assert not cov.checks("find") and not cov.enabled
    assert not cov.out_of_domain("find", words("capital france"))
