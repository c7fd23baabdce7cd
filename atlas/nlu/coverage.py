"""Out-of-domain rejection by vocabulary coverage.

A linear classifier over n-grams happily maps "what is the capital of France"
onto a clock skill's "what is the time": the function words match and nothing
else counts against it, and the intents it may choose from (a scope: the root
intents, or a context's) always include a nearest one. So the intent the
classifier picks must also be *covered* by its own training sentences: outside
the slots that hold known values, the utterance's content words (neither
function words nor vague verbs) are counted as *known* (their stem is in one
of that intent's sentences or entity values) or *foreign*.

- With more foreign words than known ones, it is out of domain ("lock the
  front door"); with as many too ("turn up the volume": "turn" is known to
  lights_on, "volume" is not), unless it ends with one of the intent's own
  words and no foreign word is another intent's ("affiche mes minuteurs").
- With no known content word at all ("hello", "how are you", a lone word the
  speller turned into a training word), one of the intent's sentences must be
  within the utterance ("so what can you do" holds "what can you do").

Paraphrases mostly add function words and fillers ("could you", "now",
"please", "exactly"), which count for nothing. A word the speller corrected
counts as half a known word: a slip within a known request passes ("set a
timr for 10 minutes"), a real word the speller bent to a training word ("who
made you" → "make") does not make a request on its own. A slot holding a
known value of the intent's entity (a room, a duration) counts as a known
word, a free value ("turn on the heating") or a number no slot took as a
foreign one; a word of another intent of the scope is half foreign.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from .normalize import fold_word, stemmer_for

# When the test applies (see Coverage): the training data's size, and the
# share of an intent's custom slot words that only one sentence uses (the
# Snips benchmark's intents: 0.22 to 0.91 with 10 to 70 sentences each; the
# bundled skills: 0 to 0.04).
MAX_SENTENCES = 5000
MAX_ONE_OFF = 0.15
# ... and the mean share of one-off words in the sentences outside slots (the
# bundled skills: 0.03 to 0.36, help alone the highest; names not marked as
# slots: 0.75).
MAX_ONE_OFF_WORDING = 0.5
SLIPPED_WEIGHT = 0.5  # a corrected word counts this much, known or foreign
NEARBY_WEIGHT = 0.5  # how foreign another intent's word is
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
    """One item of an utterance, in order: a folded word outside the slots
    (`slipped` when the speller corrected it), or a slot's value (`value`:
    True when it is a known value of the intent's entity, False for a free
    one)."""

    word: str = ""
    slipped: bool = False
    value: bool | None = None


@dataclass(frozen=True)
class Sentence:
    """One training sentence's folded words: all of them, those outside its
    slots, and those of its custom (not built-in) slot values."""

    words: Sequence[str]
    literal: Sequence[str] | None = None  # None: all words
    named: Sequence[str] = ()


class Coverage:
    """Each intent's vocabulary (as stems), and the test for foreign words.

    `intents` maps an intent to its training sentences, `values` an intent to
    the words of its entities' values. Whether the test applies to an intent
    is decided on its sentences: it does not where the undeclared values of
    its custom slots are mostly one-off words (names, titles: the Snips
    benchmark's "playlist" or "artist"), nor anywhere when the sentences are
    full of one-off words outside slots (names not marked as slots). There,
    an unseen name is what to expect, and the slot filler missing one would
    make an in-domain request foreign. Skills' templated sentences repeat
    their wording and a few declared values (rooms).
    """

    def __init__(self, lang: str, intents: Mapping[str, Sequence[Sentence]],
                 values: Mapping[str, Iterable[str]] | None = None) -> None:
        self.lang = lang
        self._function = function_words(lang)
        self._known: dict[str, frozenset[str]] = {}
        self._phrases: dict[str, list[frozenset[str]]] = {}
        self._scopes: dict[frozenset[str], frozenset[str]] = {}
        #: Every intent's own words and values, checked or not: the strict test's.
        self._own: dict[str, frozenset[str]] = {}
        self.enabled = False
        if sum(len(each) for each in intents.values()) > MAX_SENTENCES:
            return  # not skill-sized: stemming it all would cost seconds for nothing
        stem = stemmer_for(lang).stem
        for intent, each in intents.items():
            words = {w for s in each for w in s.words} | set((values or {}).get(intent, ()))
            self._own[intent] = frozenset(stem(w) for w in words if self._is_content(w))
        frequency = Counter(st for each in intents.values() for s in each
                            for st in {stem(w) for w in s.words if self._is_content(w)})
        if self._one_off_share([s for each in intents.values() for s in each],
                               frequency) > MAX_ONE_OFF_WORDING:
            return  # names not marked as slots: an unknown word is likely one
        for intent, each in intents.items():
            named = [stem(w) for s in each for w in s.named if self._is_content(w)]
            if named and sum(frequency[st] == 1 for st in named) / len(named) > MAX_ONE_OFF:
                continue  # open slots, where names are expected: not checked
            words = {w for s in each for w in s.words} | set((values or {}).get(intent, ()))
            self._known[intent] = frozenset(stem(w) for w in words if self._is_content(w))
            self._phrases[intent] = [frozenset(s.words if s.literal is None else s.literal)
                                     for s in each if s.words]
        # Mostly templated data: what the slip correction needs too (in
        # name-heavy data, an unknown word is more often a name than a slip).
        checked = sum(len(each) for intent, each in intents.items() if intent in self._known)
        self.enabled = checked > 0 and checked >= sum(len(each) for each in intents.values()) / 2

    def _one_off_share(self, sentences: Sequence[Sentence], frequency: Counter[str]) -> float:
        """The mean share of words outside slots that no other sentence uses."""
        stem = stemmer_for(self.lang).stem
        shares = [sum(frequency[st] == 1 for st in stems) / len(stems) for s in sentences
                  if (stems := {stem(w) for w in (s.words if s.literal is None else s.literal)
                                if self._is_content(w)})]
        return sum(shares) / len(shares) if shares else 0.0

    def checks(self, intent: str) -> bool:
        """Whether the test applies to `intent`."""
        return intent in self._known

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

    def margin(self, intent: str, said: Iterable[Said], scope: Collection[str] | None = None,
               confidence: float = 0.0) -> float | None:
        """How much better known than foreign what was `said` is to `intent`
        (known minus foreign words), or None when it is out of domain.
        `confidence`: the classifier's, for `intent` within `scope`."""
        if intent not in self._known:
            return 0.0  # not checked
        stem = stemmer_for(self.lang).stem
        vocabulary = self._known[intent]
        nearby = self._scope_words(scope)
        items = list(said)
        known = foreign = 0.0
        last_known = False  # the last thing said is one of the intent's own words
        others = False  # a foreign word is another intent's
        for each in items:
            if each.value is not None:  # a slot's value
                known, foreign = known + each.value, foreign + (not each.value)
                last_known = False
                continue
            content = self._is_content(each.word)
            if not content and not each.word[0].isdigit():
                continue  # a function word (perhaps corrected into one): it counts for nothing
            root = stem(each.word)
            if content and root in vocabulary:
                known += SLIPPED_WEIGHT if each.slipped else 1.0
                last_known = not each.slipped
                continue
            last_known = False
            if each.word[0].isdigit():
                foreign += 1.0  # a number no slot of the intent took
            elif each.slipped:
                foreign += SLIPPED_WEIGHT  # bent into another intent's word
            elif root in nearby:
                foreign += NEARBY_WEIGHT
                others = True
            else:
                foreign += 1.0
        if foreign:
            # A tie goes to what the command acts on, said last: "affiche
            # mes minuteurs" is about timers, "allume le ventilateur" is about
            # a fan. Not when the foreign word is another intent's ("liste
            # tous les minuteurs" is no request to cancel them).
            tie = foreign == known and last_known and not others
            return known - foreign if foreign < known or tie else None
        if known >= 1:
            return known
        # Nothing known to weigh: one of the intent's sentences must be said,
        # or the classifier be sure.
        present = {each.word for each in items}
        if confidence >= SURE or any(phrase <= present for phrase in self._phrases[intent]):
            return known
        return None

    def strange_to(self, intent: str, said: Iterable[Said]) -> bool:
        """Some content word said outside the slots is in none of the intent's own
        sentences: the strict test, for a context whose fallback should get what its
        intents do not cover (interactive fiction), applied whatever ``checks`` says."""
        own = self._own.get(intent)
        if own is None:
            return False    # data too large to be a skill's: not checked
        stem = stemmer_for(self.lang).stem
        return any(each.value is None and self._is_content(each.word)
                   and stem(each.word) not in own for each in said)

    def out_of_domain(self, intent: str, said: Iterable[Said],
                      scope: Collection[str] | None = None, confidence: float = 0.0) -> bool:
        return self.margin(intent, said, scope, confidence) is None
