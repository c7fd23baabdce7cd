"""pytlas's environment and how atlas recognises a pytlas skill."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from atlas.pytlas import is_pytlas_skill
from atlas.pytlas.host import PYTLAS_VERSION
from atlas.pytlas.venv import HOST

from .conftest import SKILLS


def test_the_host_checks_the_exact_pytlas_version(pytlas_python: Path) -> None:
    done = subprocess.run([str(pytlas_python), str(HOST), "--check"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pytlas {PYTLAS_VERSION}" == "pytlas 5.1.3"


def test_without_the_shim_pytlas_does_not_import(pytlas_python: Path) -> None:
    # Why the shim exists: pychatl 2.0.4 imports collections.Mapping (gone in 3.10).
    done = subprocess.run([str(pytlas_python), "-c", "import pytlas"], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode != 0 and "Mapping" in done.stderr


def test_atlas_itself_is_not_in_the_environment(pytlas_python: Path) -> None:
    done = subprocess.run([str(pytlas_python), "-c", "import click; print(click.__version__)"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert done.stdout.startswith("7."), "pytlas pins click 7, atlas needs 8: kept apart"


def test_recognising_pytlas_skills(tmp_path: Path) -> None:
    assert is_pytlas_skill(SKILLS / "kitchen")
    script = tmp_path / "one.py"
    script.write_text("import os\nfrom pytlas.handling import intent\n")
    assert is_pytlas_skill(script)
    script.write_text("from atlas.sdk import Skill\n# pytlas is mentioned, not imported\n")
    assert not is_pytlas_skill(script)
    assert not is_pytlas_skill(tmp_path)
    (tmp_path / "notes.txt").write_text("import pytlas")
    assert not is_pytlas_skill(tmp_path / "notes.txt")


def declaration(python: Path, skill: Path) -> dict[str, Any]:
    done = subprocess.run([str(python), str(HOST), str(skill)], input="", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout.splitlines()[0])
    return data


def test_a_folder_of_modules_without_init_is_imported_module_by_module(
        pytlas_python: Path) -> None:
    declared = declaration(pytlas_python, SKILLS / "fiction")
    assert declared["kind"] == "declare" and declared["name"] == "fiction"
    assert declared["intents"] == ["start_story", "story/__fallback__", "story/quit"]
    assert declared["env"] == {"FICTION_STORY_DIR": "string"}
    assert "%[start_story]" in declared["training"]["en"]
