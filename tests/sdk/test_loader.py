"""load_skill: what `atlas skill run PATH` imports."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.sdk import Skill, SkillLoadError, load_skill

SKILL_PY = """\
from atlas.sdk import Skill
from .words import GREETING

skill = Skill("greeter", version="0.1.0")
skill.training("en", "%[greet]\\n  hello\\n  hi\\n")


@skill.intent("greet")
async def greet(req):
    await req.show(GREETING)
"""


def test_loads_a_folder_as_a_package(tmp_path: Path) -> None:
    folder = tmp_path / "greeter"
    folder.mkdir()
    (folder / "skill.py").write_text(SKILL_PY)
    (folder / "words.py").write_text("GREETING = 'Hello!'\n")
    skill = load_skill(folder)
    assert isinstance(skill, Skill) and skill.name == "greeter"
    assert skill.intents == {"greet": []}
    # A second load is a fresh module and a fresh skill.
    assert load_skill(folder) is not skill


def test_loads_a_single_file(tmp_path: Path) -> None:
    file = tmp_path / "solo.py"
    file.write_text(SKILL_PY.replace("from .words import GREETING", "GREETING = 'hey'"))
    assert load_skill(file).name == "greeter"


@pytest.mark.parametrize(("files", "target", "message"), [
    ({}, "nowhere", "not a skill folder"),
    ({"x/readme.md": ""}, "x", "needs a skill.py"),
    ({"x/skill.py": "skill = 42\n"}, "x", "no module-level"),
    ({"x/skill.py": "def broken(:\n"}, "x", "SyntaxError"),
    ({"x/skill.py": "from atlas.sdk import Skill\nskill = Skill('s')\n"
                    "skill.training('en', '%[a]\\n  @[nope]\\n')\n"}, "x", "line 2"),
    ({"notes.txt": ""}, "notes.txt", "not a skill folder"),
])
def test_clear_errors(tmp_path: Path, files: dict[str, str], target: str, message: str) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    with pytest.raises(SkillLoadError, match=message):
        load_skill(tmp_path / target)
