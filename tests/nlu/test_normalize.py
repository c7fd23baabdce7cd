import threading

from atlas.nlu.normalize import (
    RECENT_TEXTS,
    Token,
    _recent,
    fold,
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
