"""Intent classification: TF-IDF of stems and character n-grams, logistic regression.

The None class (label "") is trained on noise utterances (see noise.py); the
engine also applies a probability threshold, so that text far from every
intent is "not understood" rather than a random intent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import FeatureUnion

from .normalize import fold_word, stemmer_for, tokenize

NONE_LABEL = ""


def _identity(tokens: list[str]) -> list[str]:
    return tokens


class IntentClassifier:
    def __init__(self, lang: str, *, c: float = 10.0) -> None:
        self.lang = lang
        self.c = c
        self.labels: list[str] = []
        self._union: FeatureUnion | None = None
        self._model: LogisticRegression | None = None

    def _words(self, text: str) -> str:
        stem = stemmer_for(self.lang).stem
        return " ".join(stem(w) for t in tokenize(text) if (w := fold_word(t.norm)))

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> None:
        words = [self._words(t) for t in texts]
        self._union = FeatureUnion([
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                      token_pattern=r"\S+", min_df=1)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4),
                                      sublinear_tf=True, min_df=2)),
        ])
        x = self._union.fit_transform(words)
        self._model = LogisticRegression(C=self.c, max_iter=300, class_weight="balanced")
        self._model.fit(x, list(labels))
        self.labels = [str(label) for label in self._model.classes_]

    def probabilities(self, text: str) -> dict[str, float]:
        assert self._union is not None and self._model is not None, "not fitted"
        x = self._union.transform([self._words(text)])
        probs: np.ndarray = self._model.predict_proba(x)[0]
        return dict(zip(self.labels, probs.tolist(), strict=True))
