"""Out-of-domain rejection by vocabulary coverage.

A linear classifier over n-grams happily maps "what is the capital of France"
onto a clock skill's "what is the time": the function words match and nothing
else counts against it, and the intents it may choose from (a scope: the root
intents, or a context's) always include a nearest one. So the intent the
classifier picks must also be *covered* by its own training sentences: outside
the slots that hold known values, the utterance's content words (neither
function words nor vague verbs) are counted as *known* (their stem is in one
of that intent's sentences or entity values) or *foreign*.

- With at least as many foreign words as known ones, it is out of domain
  ("turn up the volume": "turn" is known to lights_on, "volume" is not).
- With no known content word at all ("hello", "how are you", a lone word the
  speller turned into a training word), one of the intent's sentences must be
  within the utterance ("so what can you do" holds "what can you do").

Paraphrases mostly add function words and fillers ("could you", "now",
"please", "exactly"), which count for nothing. A word the speller corrected
counts as half a known word: a slip within a known request passes ("set a
timr for 10 minutes"), a real word the speller bent to a training word ("who
made you" → "make") does not make a request on its own. A slot holding a
known value of the intent's entity (a room, a duration) counts as a known word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .normalize import fold_word, stemmer_for

# When the test applies (see Coverage): the training data's mean share of
# words that only one sentence uses, and its size.
MAX_MEAN_FOREIGN_SHARE = 0.2
MAX_SENTENCES = 5000
SLIPPED_WEIGHT = 0.5  # a corrected word counts this much, known or foreign
NEARBY_WEIGHT = 1.0  # how foreign another intent's word is
SURE = 0.9  # a classifier's confidence that stands for itself
MAX_CACHED_SCOPES = 256

# Function words, the vaguest verbs and fillers: words any request may carry.
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
        actually really exactly currently moment still already anymore maybe perhaps quickly
        absolutely definitely certainly sure bit little thing things kind
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
        connais connait connaître actuellement vraiment exactement encore déjà moment peu
        peut-être vite absolument carrément sûr chose choses truc
    """,
}


def function_words(lang: str) -> frozenset[str]:
    """The language's function words, vaguest verbs and fillers, folded."""
    return frozenset(fold_word(w) for w in _FUNCTION_WORDS.get(lang, _FUNCTION_WORDS["en"]).split())


@dataclass(frozen=True)
class Said:
    """One folded word of an utterance outside its known slot values."""

    word: str
    slipped: bool = False  # the speller corrected it


class Coverage:
    """Each intent's vocabulary (as stems), and the test for foreign words.

    `intents` maps an intent to its training sentences' folded words,
    `values` an intent to the words of its entities' values, and `phrases` an
    intent to its sentences' words outside slots (all words when not given).
    Whether the test
    applies is decided on the training sentences themselves: a word that only
    one sentence uses would be foreign had that sentence been left out.
    Skills' templated sentences use their words many times; the Snips
    benchmark's are full of one-off names.
    """

    def __init__(self, lang: str, intents: Mapping[str, Sequence[Sequence[str]]],
                 values: Mapping[str, Iterable[str]] | None = None,
                 phrases: Mapping[str, Sequence[Sequence[str]]] | None = None) -> None:
        self.lang = lang
        self._function = function_words(lang)
        self._known: dict[str, frozenset[str]] = {}
        self._phrases: dict[str, list[frozenset[str]]] = {}
        self._scopes: dict[frozenset[str], frozenset[str]] = {}
        self.enabled = False
        sentences = [s for each in intents.values() for s in each]
        if len(sentences) > MAX_SENTENCES:
            return  # not skill-sized: stemming it all would cost seconds for nothing
        stem = stemmer_for(lang).stem
        stems = [{stem(w) for w in s if self._is_content(w)} for s in sentences]
        frequency = Counter(st for s in stems for st in s)
        shares = [sum(frequency[st] == 1 for st in s) / len(s) for s in stems if s]
        # Enabled for skill-sized, templated data only: where sentences are
        # full of one-off words (names the slot filler may miss), the test
        # would reject as much in-domain talk as out-of-domain.
        self.enabled = bool(shares) and sum(shares) / len(shares) <= MAX_MEAN_FOREIGN_SHARE
        for intent, each in intents.items():
            words = {w for s in each for w in s} | set((values or {}).get(intent, ()))
            self._known[intent] = frozenset(stem(w) for w in words if self._is_content(w))
            literal = each if phrases is None else phrases.get(intent, ())
            self._phrases[intent] = [frozenset(s) for s in literal if s]

    def _is_content(self, word: str) -> bool:
        return bool(word) and word[0].isalpha() and word not in self._function

    def _scope_words(self, scope: Collection[str] | None) -> frozenset[str]:
        key = frozenset(self._known) if scope is None else frozenset(scope)
        cached = self._scopes.get(key)
        if cached is None:
            cached = frozenset().union(*(self._known.get(i, frozenset()) for i in key))
            if len(self._scopes) < MAX_CACHED_SCOPES:
                self._scopes[key] = cached
        return cached

    def out_of_domain(self, intent: str, said: Iterable[Said], slots: int = 0, free: int = 0,
                      scope: Collection[str] | None = None, confidence: float = 0.0) -> bool:
        """`said`: the utterance's words outside its known slot values;
        `slots`: how many slots hold a known value of the intent's entity,
        `free`: how many an unknown value (each counts as a foreign word);
        `confidence`: the classifier's, for `intent` within `scope`."""
        if not self.enabled or intent not in self._known:
            return False
        stem = stemmer_for(self.lang).stem
        vocabulary = self._known[intent]
        nearby = self._scope_words(scope)
        words = list(said)
        known, foreign = float(slots), float(free)
        for each in words:
            if each.word[0].isdigit():
                foreign += 1.0  # a number no slot of the intent took
                continue
            content = self._is_content(each.word)
            root = stem(each.word) if content else ""
            if content and root in vocabulary:
                known += SLIPPED_WEIGHT if each.slipped else 1.0
            elif each.slipped:
                foreign += SLIPPED_WEIGHT  # bent into a function word or another intent's
            elif content:
                foreign += 1.0 if root not in nearby else NEARBY_WEIGHT
        self.last = (known, foreign)
        if foreign:
            return foreign >= known
        if known >= 1:
            return False
        # Nothing known to weigh: one of the intent's sentences must be said,
        # or the classifier be sure.
        present = {each.word for each in words}
        return confidence < SURE and not any(phrase <= present
                                             for phrase in self._phrases[intent])
