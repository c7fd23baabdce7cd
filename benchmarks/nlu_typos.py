"""Typing slips on the bundled skills: how often is a slipped request still understood?

Run from the repository root:  python benchmarks/nlu_typos.py [--variants 5]

The bundled skills (clock, timer, lights, help) are trained in English and in
French. Each request below is parsed clean, then with one slip in one of its
words of four letters or more (a neighbour swap, a letter dropped, doubled or
replaced by a keyboard neighbour), several times with a fixed seed. A slipped
request counts as understood when it gets the clean request's intent and slot
values. The same is done with the spelling correction switched off, and on
out-of-domain requests (which should stay not understood).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from atlas.nlu import SnipsLikeInterpreter
from atlas.nlu.files import load_paths

SKILLS = Path(__file__).resolve().parent.parent / "skills"

REQUESTS = {
    "en": [
        "what time is it", "could you tell me the time", "what's the date today",
        "which day of the week is it", "what time is it in Tokyo", "set a timer for 10 minutes",
        "please start a timer for 3 minutes", "how many timers do I have",
        "delete my timer", "turn on the kitchen light", "switch the bedroom lights off",
        "dim the lights in the kitchen to 40%", "turn off the living room light",
        "what can you do", "show me your skills",
    ],
    "fr": [
        "quelle heure est-il", "tu peux me dire l'heure", "quelle est la date",
        "quel jour sommes-nous", "quelle heure est-il à Londres",
        "mets un minuteur de 10 minutes", "lance un minuteur de trois minutes",
        "combien de minuteurs j'ai", "allume la lumière de la cuisine",
        "éteins la lumière de la chambre", "baisse la lumière de la cuisine à 40 %",
        "que peux-tu faire",
    ],
}
OUT_OF_DOMAIN = {
    "en": ["what is the capital of France", "who won the football match yesterday",
           "tell me a joke", "order a pizza", "how do I cook rice", "send an email to john",
           "what is the meaning of life", "book a flight to rome"],
    "fr": ["quelle est la capitale de la france", "raconte-moi une blague",
           "commande une pizza", "réserve un vol pour rome", "quel âge as-tu"],
}
KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def neighbours(letter: str) -> str:
    for row in KEYBOARD:
        if letter in row:
            i = row.index(letter)
            return row[max(0, i - 1):i] + row[i + 1:i + 2]
    return letter


def slip(sentence: str, rng: random.Random) -> str:
    words = sentence.split(" ")
    choices = [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]
    if not choices:
        return sentence
    i = rng.choice(choices)
    word = words[i]
    k = rng.randrange(1, len(word) - 1)  # not the first letter: see atlas/nlu/spelling.py
    kind = rng.choice(["swap", "drop", "double", "neighbour"])
    if kind == "swap":
        word = word[:k] + word[k + 1] + word[k] + word[k + 2:]
    elif kind == "drop":
        word = word[:k] + word[k + 1:]
    elif kind == "double":
        word = word[:k] + word[k] + word[k:]
    else:
        word = word[:k] + rng.choice(neighbours(word[k])) + word[k + 1:]
    words[i] = word
    return " ".join(words)


def reading(engine: SnipsLikeInterpreter, text: str) -> tuple[str | None, object]:
    parse = engine.parse(text, root(engine))
    return parse.intent, sorted((k, [v.value for v in vs]) for k, vs in parse.slots.items())


def root(engine: SnipsLikeInterpreter) -> frozenset[str]:
    """The scope the daemon parses a free request with: the root intents."""
    return frozenset(i for i in engine.intents if "/" not in i)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--variants", type=int, default=5, help="slips per request")
    args = parser.parse_args()
    for lang in ("en", "fr"):
        data = load_paths(sorted(SKILLS.glob(f"*/training/{lang}.chatl")), lang)
        engine = SnipsLikeInterpreter(lang)
        engine.fit(data)
        model = engine.model
        assert model is not None
        rng = random.Random(0)
        slipped = [(text, slip(text, rng)) for text in REQUESTS[lang]
                   for _ in range(args.variants)]
        slipped = [(clean, s) for clean, s in slipped if s != clean]
        foreign = [slip(text, rng) for text in OUT_OF_DOMAIN[lang] for _ in range(args.variants)]
        for label, on in (("without correction", None), ("with correction", model.speller)):
            engine.model = dataclasses.replace(model, speller=on)
            expected = {clean: reading(engine, clean) for clean, _ in slipped}
            timings, right = [], 0
            for clean, text in slipped:
                t0 = time.perf_counter()
                got = reading(engine, text)
                timings.append((time.perf_counter() - t0) * 1000)
                right += got == expected[clean]
            clean_right = sum(reading(engine, c)[0] is not None for c in REQUESTS[lang])
            accepted = sum(engine.parse(text, root(engine)).intent is not None
                           for text in foreign + OUT_OF_DOMAIN[lang])
            print(f"{lang} {label:20s} clean understood {clean_right}/{len(REQUESTS[lang])}  "
                  f"slipped understood {right}/{len(slipped)} ({right / len(slipped):.0%})  "
                  f"out-of-domain accepted {accepted}/{len(foreign) + len(OUT_OF_DOMAIN[lang])}  "
                  f"parse p50 {statistics.median(timings):.2f} ms")


if __name__ == "__main__":
    main()
