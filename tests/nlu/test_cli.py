from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from atlas.cli.nlu import nlu

from .conftest import EN_LIGHTS, EN_TIMER


def _write_skills(tmp_path: Path) -> Path:
    skills = tmp_path / "skills"
    skills.mkdir()
    (skills / "lights.chatl").write_text(EN_LIGHTS)
    (skills / "timer.chatl").write_text(EN_TIMER)
    return skills


def test_train_then_parse(tmp_path: Path) -> None:
    skills = _write_skills(tmp_path)
    runner = CliRunner()
    result = runner.invoke(nlu, ["train", "--lang", "en", "--data", str(skills),
                                 "--out", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(nlu, ["parse", "--model", str(tmp_path / "model")],
                           input="set a timer for 10 minutes\n\nblorf\n")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines[0] == {
        "text": "set a timer for 10 minutes", "intent": "set_timer", "confidence": 1.0,
        "slots": {"duration": [{"value": 600, "raw": "10 minutes",
                                "entity": "snips/duration"}]},
    }
    assert lines[1]["intent"] is None and len(lines) == 2


def test_eval_json(tmp_path: Path) -> None:
    skills = _write_skills(tmp_path)
    test = tmp_path / "test.json"
    test.write_text(json.dumps({"get_time": [{"data": [{"text": "what time is it please"}]}],
                                "set_timer": [{"data": [
                                    {"text": "set a timer for "},
                                    {"text": "5 minutes", "entity": "duration"}]}]}))
    result = CliRunner().invoke(nlu, ["eval", "--lang", "en", "--train", str(skills),
                                      "--test", str(test), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["queries"] == 2
    assert report["intent_accuracy"] == 1.0
    assert report["slot_f1"] == 1.0
    assert report["train_seconds"] > 0


def test_eval_text_and_training_errors(tmp_path: Path) -> None:
    skills = _write_skills(tmp_path)
    result = CliRunner().invoke(nlu, ["eval", "--lang", "en", "--train", str(skills),
                                      "--test", str(skills / "timer.chatl")])
    assert result.exit_code == 0, result.output
    assert "intent accuracy" in result.output and "parse p99" in result.output
    bad = tmp_path / "bad.chatl"
    bad.write_text("%[a]\n  turn on @[room]\n")
    result = CliRunner().invoke(nlu, ["train", "--lang", "fr", "--data", str(bad),
                                      "--out", str(tmp_path / "m")])
    assert result.exit_code != 0
    assert "(fr), line 2: entity @[room] is not declared" in result.output
