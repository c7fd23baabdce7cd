from __future__ import annotations

from atlas.nlu.intent_classifier import NONE_LABEL, IntentClassifier


def test_probabilities_match_scikit_learn_features() -> None:
    texts = ["turn on the light", "switch the lamp on", "what time is it", "tell me the time",
             "blah foo", "qwerty zzz"]
    labels = ["on", "on", "time", "time", NONE_LABEL, NONE_LABEL]
    clf = IntentClassifier("en")
    clf.fit(texts, labels)
    probs = clf.probabilities("could you turn the lights on")
    assert set(probs) == {"on", "time", NONE_LABEL}
    assert abs(sum(probs.values()) - 1.0) < 1e-9
    assert max(probs, key=probs.__getitem__) == "on"


def test_two_classes() -> None:
    clf = IntentClassifier("fr")
    clf.fit(["allume la lumière", "quelle heure est-il"], ["on", "time"])
    probs = clf.probabilities("quelle heure il est")
    assert probs["time"] > probs["on"]
