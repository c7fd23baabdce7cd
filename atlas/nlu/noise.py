"""Examples of the None class: what "not understood" looks like.

Snips NLU trains its classifier with a None intent made of noise utterances.
We have no noise corpus, so noise is built from three sources: general words of
the language (out-of-domain talk), the training vocabulary shuffled (the right
words in no sensible order) and random letters (gibberish).
"""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

NONE_LABEL = ""  # the None class's label

_GENERAL_WORDS = {
    "en": (
        "the of and to in is you that it he was for on are as with his they I at be this "
        "have from or one had by word but not what all were we when your can said there use "
        "an each which she do how their if will up other about out many then them these so "
        "some her would make like him into time has look two more write go see number no way "
        "could people my than first water been call who oil its now find long down day did "
        "get come made may part over new sound take only little work know place year live me "
        "back give most very after thing our just name good sentence man think say great where "
        "help through much before line right too mean old any same tell boy follow came want "
        "show also around form three small set put end does another well large must big even "
        "such because turn here why ask went men read need land different home us move try "
        "kind hand picture again change off animal house point page letter mother answer found "
        "study still learn should america world banana philosophy capital president car"
    ),
    "fr": (
        "le de un être et à il avoir ne je son que se qui ce dans en du elle au pour pas que "
        "vous par sur faire plus dire me on mon lui nous comme mais pouvoir avec tout y aller "
        "voir en bien où sans tu ou leur homme si deux mari moi vouloir te femme venir quand "
        "grand celui notre devoir là jour prendre même votre rien petit encore aussi quelque "
        "dont tout mer trouver donner temps ça peu même falloir sous parler alors sa vie savoir "
        "rue aimer passer penser nouveau jamais chose cœur monde croire main pays enfant ville "
        "livre voiture maison chat chien président capitale philosophie banane histoire école "
        "travail argent question réponse pourquoi combien qui quoi lequel"
    ),
}


def noise_utterances(
    vocabulary: Sequence[str], lengths: Sequence[int], count: int, lang: str, rng: random.Random
) -> list[str]:
    general = _GENERAL_WORDS.get(lang, _GENERAL_WORDS["en"]).split()
    vocab = list(vocabulary) or general
    result = []
    for k in range(count):
        n = rng.choice(lengths) if lengths else rng.randint(2, 8)
        kind = k % 3
        if kind == 0:
            words = [rng.choice(general) for _ in range(n)]
        elif kind == 1:
            words = [rng.choice(vocab) for _ in range(n)]
        else:
            words = [
                "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(2, 9)))
                for _ in range(max(1, n // 2))
            ]
        result.append(" ".join(words))
    return result
