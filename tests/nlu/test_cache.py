from __future__ import annotations

from pathlib import Path

import pytest

from atlas.nlu import SnipsLikeInterpreter, load_chatl, train_cached
from atlas.nlu.cache import model_dir

from .conftest import EN_LIGHTS


@pytest.fixture
def fits(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every real training."""
    calls: list[str] = []
    original = SnipsLikeInterpreter.fit

    def counting_fit(self: SnipsLikeInterpreter, dataset) -> None:  # type: ignore[no-untyped-def]
        calls.append(self.lang)
        original(self, dataset)

    monkeypatch.setattr(SnipsLikeInterpreter, "fit", counting_fit)
    return calls


def test_second_call_loads_from_cache(tmp_path: Path, fits: list[str]) -> None:
    dataset = load_chatl(EN_LIGHTS, lang="en")
    first = train_cached("en", dataset, tmp_path)
    stored = model_dir(tmp_path, "en", dataset) / "model.pkl"
    mtime = stored.stat().st_mtime_ns
    second = train_cached("en", load_chatl(EN_LIGHTS, lang="en"), tmp_path)
    assert fits == ["en"]
    assert stored.stat().st_mtime_ns == mtime
    text = "switch on the kitchen light"
    assert second.parse(text) == first.parse(text)


def test_changed_data_or_language_retrains(tmp_path: Path, fits: list[str]) -> None:
    dataset = load_chatl(EN_LIGHTS, lang="en")
    train_cached("en", dataset, tmp_path)
    train_cached("en", load_chatl(EN_LIGHTS + "\n%[new]\n  something new\n", lang="en"),
                 tmp_path)
    train_cached("fr", dataset, tmp_path)
    assert fits == ["en", "en", "fr"]


def test_corrupt_cache_entry_is_retrained(tmp_path: Path, fits: list[str]) -> None:
    dataset = load_chatl(EN_LIGHTS, lang="en")
    train_cached("en", dataset, tmp_path)
    (model_dir(tmp_path, "en", dataset) / "model.pkl").write_bytes(b"garbage")
    engine = train_cached("en", dataset, tmp_path)
    assert fits == ["en", "en"]
    assert engine.parse("turn off the light").intent == "lights_off"


def test_no_cache_dir_just_trains(fits: list[str]) -> None:
    train_cached("en", load_chatl(EN_LIGHTS, lang="en"), None)
    assert fits == ["en"]
