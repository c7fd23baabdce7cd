from __future__ import annotations

import json
from pathlib import Path

import pytest

from atlas.nlu import TrainingDataError
from atlas.nlu.files import load_paths, read_text


def test_directories_mix_chatl_and_json(tmp_path: Path) -> None:
    (tmp_path / "a.chatl").write_text("%[hello]\n  hi\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text(json.dumps({"bye": [{"data": [{"text": "ciao"}]}]}))
    (tmp_path / "notes.txt").write_text("ignored")
    ds = load_paths([tmp_path], "en")
    assert sorted(ds.intents) == ["bye", "hello"] and ds.lang == "en"


def test_cesu8_surrogates_are_decoded(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_bytes(b'{"a": "\\xed\\xa0\\xbc\\xed\\xbd\\x95"}'.decode("unicode_escape")
                     .encode("latin-1"))
    assert read_text(path) == '{"a": "\U0001f355"}'


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{\n  "a": [\n}')
    with pytest.raises(TrainingDataError, match=r"bad.json' \(fr\), line 3: invalid JSON"):
        load_paths([path], "fr")
