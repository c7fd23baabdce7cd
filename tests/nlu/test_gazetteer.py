from __future__ import annotations

from atlas.nlu.gazetteer import Gazetteer, value_key


def test_values_compare_folded() -> None:
    gaz = Gazetteer([("Salle de Bain", "bathroom"), ("lounge", "living room")])
    assert value_key("  Salle-de-Bain! ") == ("salle", "de", "bain")
    assert gaz.lookup("salle de bain") == "bathroom"
    assert gaz.lookup("LOUNGE") == "living room"
    assert gaz.lookup("attic") is None
    gaz.add("lounge", "other")  # the first declaration wins
    assert gaz.lookup("lounge") == "living room"
