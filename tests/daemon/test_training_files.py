"""Training data from the training_dir, for skills that bring none."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

from atlas.config import Config
from atlas.daemon.discovery import Discovery
from atlas.daemon.training_files import FROM_SKILL, TrainingFiles
from atlas.protocol import Pong

CHATL = "%[water]\n  water the plants\n  give the plants some water\n"
SNIPS = {"language": "fr", "entities": {}, "intents": {"water": {"utterances": [
    {"data": [{"text": "arrose les plantes"}]}, {"data": [{"text": "donne de l'eau"}]}]}}}
BARE = Pong("garden", intents={"water": [], "hello": []})


def files(tmp_path: Path) -> TrainingFiles:
    (tmp_path / "garden").mkdir()
    (tmp_path / "garden" / "en.chatl").write_text(CHATL)
    (tmp_path / "garden" / "fr.json").write_text(json.dumps(SNIPS))
    (tmp_path / "garden" / "notes.txt").write_text("not training")
    return TrainingFiles(tmp_path)


def test_a_skill_without_training_gets_the_files(tmp_path: Path) -> None:
    pong, source = files(tmp_path).apply(BARE)
    assert source == str(tmp_path / "garden")
    assert pong.training == {"en": CHATL, "fr": SNIPS}


def test_a_skill_with_training_keeps_its_own(tmp_path: Path) -> None:
    own = replace(BARE, training={"en": "%[water]\n  splash\n"})
    assert files(tmp_path).apply(own) == (own, FROM_SKILL)


def test_no_files_no_training(tmp_path: Path) -> None:
    assert TrainingFiles(tmp_path / "missing").apply(BARE) == (BARE, "")


def test_changes_are_seen_by_modification_time_and_size(tmp_path: Path) -> None:
    training = files(tmp_path)
    training.apply(BARE)
    assert not training.changed("garden")
    file = tmp_path / "garden" / "en.chatl"
    file.write_text(CHATL + "  the plants need water\n")
    assert training.changed("garden")
    assert "the plants need water" in str(training.apply(BARE)[0].training["en"])
    assert not training.changed("garden")
    stamp = file.stat()
    os.utime(file, ns=(stamp.st_atime_ns, stamp.st_mtime_ns + 10**9))
    assert training.changed("garden")


def test_an_unreadable_file_is_left_out(tmp_path: Path) -> None:
    training = files(tmp_path)
    (tmp_path / "garden" / "fr.json").write_text("{not json")
    assert set(training.apply(BARE)[0].training) == {"en"}


async def test_the_daemon_retrains_when_a_file_changes(tmp_path: Path) -> None:
    folder = tmp_path / "training"
    discovery = Discovery(Config(data_dir=tmp_path, training_dir=folder), "1.0.0", "now")
    discovery.heard(BARE, 0.0)
    assert discovery.sources["garden"] == ""
    skills = await discovery.retrain()
    assert skills is not None
    assert skills.skills[0].untrained == ["hello", "water"]

    (folder / "garden").mkdir(parents=True)
    (folder / "garden" / "en.chatl").write_text(CHATL)
    discovery.poll_training(1.0)
    assert discovery.changed.is_set()
    assert discovery.registry.skills["garden"].training == {"en": CHATL}
    skills = await discovery.retrain()
    assert skills is not None
    [summary] = skills.skills
    assert summary.training_from == str(folder / "garden")
    assert summary.untrained == ["hello"]
    assert discovery.understanding.parse("en", "water the plants",
                                         frozenset({"water", "hello"})).intent == "water"
    # The skill's next pong (still bare) changes nothing.
    discovery.changed.clear()
    discovery.heard(BARE, 2.0)
    discovery.poll_training(3.0)
    assert not discovery.changed.is_set()
