from atlas.nlu.normalize import fold, shape, stemmer_for, tokenize


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
