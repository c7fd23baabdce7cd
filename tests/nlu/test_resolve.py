from __future__ import annotations

from atlas.nlu import Entity, EntityValue
from atlas.nlu.gazetteer import Gazetteer
from atlas.nlu.resolve import EntityResolver, resolve_value


def test_resolution() -> None:
    room = Entity("room", [EntityValue("living room", ("lounge",))], extensible=False)
    resolver = EntityResolver(room, Gazetteer())
    assert resolver.resolve("Lounge") == "living room"
    assert resolver.resolve("livng room") == "living room"
    ok, _ = resolve_value("room", "attic", "en", {"room": resolver}, None)
    assert not ok
    assert resolve_value("snips/number", "seven", "en", {}, None) == (True, 7)
    assert resolve_value("snips/number", "lots", "en", {}, None)[0] is False
    assert resolve_value("snips/musicAlbum", "abbey road", "en", {}, None) == (True, "abbey road")
