import threading

from atlas.nlu.normalize import (
    RECENT_TEXTS,
    Token,
    _recent,
    _strip_accents,
    fold,
    fold_word,
    remembering_tokens,
    shape,
    stemmer_for,
    tokenize,
)


def test_tokens_keep_offsets_and_split_punctuation() -> None:
    text = "Allume l'Éclairage, 3,5 fois!"
    tokens = tokenize(text)
    assert [t.text for t in tokens] == ["Allume", "l", "'", "Éclairage", ",", "3,5", "fois", "!"]
    assert all(text[t.start : t.end] == t.text for t in tokens)
    assert tokens[3].norm == "éclairage"


def test_fold_and_stems() -> None:
    assert fold("  La Deuxième, s'il te plaît! ") == "la deuxieme s il te plait"
    assert stemmer_for("fr").stem("lumières") == stemmer_for("fr").stem("lumière")
    assert stemmer_for("en").stem("lights") == "light"
    assert [shape(w) for w in ["12", "a1", "Paris", "NYC", "x", "?"]] == [
        "9", "9a", "Xx", "XX", "xx", "."]


def test_parsing_remembers_a_bounded_number_of_texts() -> None:
    for n in range(RECENT_TEXTS + 100):
        tokenize(f"weather in {n} days")
    info = _recent.cache_info()
    assert info.currsize == RECENT_TEXTS
    assert tokenize("weather in 3 days") == tokenize("weather in 3 days")


def test_word_caches_remember_words_but_not_numbers_or_ascii_sentences() -> None:
    # A daemon hears ever new numbers ("in 2345 days"): remembering them would
    # grow its memory for the whole of a long run.
    stems = stemmer_for("en")
    caches = [shape.cache_info, fold_word.cache_info, stems.stem.cache_info,  # type: ignore[attr-defined]
              _strip_accents.cache_info]
    sizes = [info().currsize for info in caches]
    for n in range(5000, 5500):
        word = str(n)
        assert (shape(word), fold_word(word), stems.stem(word)) == ("9", word, word)
        assert fold(f"what will the weather be like in {n} days") == \
            f"what will the weather be like in {n} days"
    assert [info().currsize for info in caches] == sizes
    assert shape("Gondolin") == "Xx" and fold_word("élan") == "elan"
    assert shape.cache_info().currsize == sizes[0] + 1  # type: ignore[attr-defined]
    assert _strip_accents.cache_info().currsize == sizes[3] + 1


def test_fitting_remembers_every_text_in_its_own_thread_only() -> None:
    _recent.cache_clear()
    seen: list[tuple[Token, ...]] = []
    again: list[tuple[Token, ...]] = []

    def fit() -> None:
        with remembering_tokens():
            seen.extend(tokenize(f"sentence number {n}") for n in range(RECENT_TEXTS + 10))
            again.append(tokenize("sentence number 0"))

    thread = threading.Thread(target=fit)
    thread.start()
    thread.join()
    assert len(seen) == RECENT_TEXTS + 10
    assert again[0] is seen[0]  # remembered past parsing's bound: not tokenized again
    assert _recent.cache_info().currsize == 0  # parsing's cache saw none of it
    tokenize("turn on the light")
    assert _recent.cache_info().currsize == 1
