"""Out-of-domain rejection by vocabulary coverage.

A linear classifier over n-grams happily maps "what is the capital of France"
onto a clock skill's "what is the time": the function words match and nothing
else counts against it. Here an utterance is out of domain when, outside its
slots, it has at least as many *foreign* words (neither function words nor
words of any training sentence) as *known* content words. Paraphrases mostly
add function words ("could you", "now"), which this ignores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

from .normalize import fold_word, stemmer_for

# When the test applies (see Coverage): the training data's mean share of
# words that only one sentence uses, and its size.
MAX_MEAN_FOREIGN_SHARE = 0.2
MAX_SENTENCES = 5000

# Function words and the vaguest verbs: words any request may carry.
_FUNCTION_WORDS = {
    "en": """
        a an the this that these those it its i me my mine you your yours we us our he him his
        she her they them their what which who whom whose when where why how there here
        is am are was were be been being do does did doing have has had having will would
        shall should can could may might must not no yes and or but if then so than too very
        just also only now please of to in on at by for with from into onto about as up down
        out off over under again all any some each every both few many much more most other
        such own same
        know want wanna like need get got give let make go going see say tell think try use
        hey hi hello ok okay oh well right thanks thank one s t d ll re ve m don doesn didn
    """,
    "fr": """
        le la les l un une des du de d au aux ce cet cette ces c ça cela ceci je j me m moi tu
        t te toi il elle on nous vous ils elles lui leur leurs mon ma mes ton ta tes son sa ses
        notre nos votre vos qui que qu quoi quel quelle quels quelles où quand comment pourquoi
        combien est es suis sommes êtes sont être était ai as a avons avez ont avoir fait faire
        fais peux peut pouvoir veux veut vouloir voudrais aimerais dois doit va vais aller
        sais savoir dis dire donne donner mets mettre et ou mais si alors donc ne pas plus
        non oui très aussi juste maintenant stp plaît plait merci s y en dans sur sous pour par
        avec sans chez vers à tout tous toute toutes bien bon ok salut bonjour hé eh hein
    """,
}


def function_words(lang: str) -> frozenset[str]:
    """The language's function words and vaguest verbs, folded."""
    return frozenset(fold_word(w) for w in _FUNCTION_WORDS.get(lang, _FUNCTION_WORDS["en"]).split())


class Coverage:
    """The training vocabulary (as stems), and the test for foreign words.

    `sentences` are the training sentences' folded words, and `values` the
    words of entity values. Whether the test applies is decided on the
    training sentences themselves: a word that only one sentence uses would be
    foreign had that sentence been left out. Skills' templated sentences use
    their words many times; the Snips benchmark's are full of one-off names.
    """

    def __init__(self, lang: str, sentences: Sequence[Sequence[str]],
                 values: Iterable[str] = (), intents: Sequence[str] = ()) -> None:
        self.lang = lang
        stem = stemmer_for(lang).stem
        self._function = function_words(lang)
        self._known: frozenset[str] = frozenset()
        #: Per intent (``intents`` runs beside ``sentences``), the stems its sentences use.
        self._by_intent: dict[str, frozenset[str]] = {}
        self._values: frozenset[str] = frozenset()
        self.enabled = False
        if len(sentences) > MAX_SENTENCES:
            return  # not skill-sized: stemming it all would cost seconds for nothing
        stems = [{stem(w) for w in s if self._is_content(w)} for s in sentences]
        frequency = Counter(st for s in stems for st in s)
        self._values = frozenset(stem(w) for w in values)
        self._known = frozenset(frequency) | self._values
        by_intent: dict[str, set[str]] = {}
        for intent, sentence in zip(intents, stems, strict=False):
            by_intent.setdefault(intent, set()).update(sentence)
        self._by_intent = {intent: frozenset(known) for intent, known in by_intent.items()}
        shares = [sum(frequency[st] == 1 for st in s) / len(s) for s in stems if s]
        # Enabled for skill-sized, templated data only: where sentences are
        # full of one-off words (names the slot filler may miss), the test
        # would reject as much in-domain talk as out-of-domain.
        self.enabled = (len(sentences) <= MAX_SENTENCES and bool(shares)
                        and sum(shares) / len(shares) <= MAX_MEAN_FOREIGN_SHARE)

    def strange_to(self, intent: str, words: Iterable[str]) -> bool:
        """Some content word of `words` (outside the slots) appears in none of the
        intent's own sentences: the strict test, for a context whose fallback should
        get what its intents do not cover."""
        known = self._by_intent.get(intent)
        if known is None:
            return self.out_of_domain(words, force=True)
        stem = stemmer_for(self.lang).stem
        return any(self._is_content(w) and (s := stem(w)) not in known and s not in self._values
                   for w in words)

    def _is_content(self, word: str) -> bool:
        return bool(word) and word[0].isalpha() and word not in self._function

    def out_of_domain(self, words: Iterable[str], *, force: bool = False) -> bool:
        """`words` are folded words outside the utterance's slots; `force` applies the
        test even where it is not enabled (a caller that prefers rejecting)."""
        if not (self.enabled or force):
            return False
        stem = stemmer_for(self.lang).stem
        known = foreign = 0
        for w in words:
            if self._is_content(w):
                if stem(w) in self._known:
                    known += 1
                else:
                    foreign += 1
        return foreign > 0 and foreign >= known
