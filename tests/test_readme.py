"""The README's examples, as written: copied into a fresh project and run there."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from atlas.cli import main

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.S | re.M)


def installed_plugins(site: Path) -> None:
    """Make pytest find our ``pytest11`` entry points as an installed atlas would:
    a distribution's metadata, written from pyproject.toml, on the path."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    points = project["project"]["entry-points"]["pytest11"]
    info = site / "atlas_readme_check-0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: atlas-readme-check\nVersion: 0\n")
    (info / "entry_points.txt").write_text(
        "[pytest11]\n" + "".join(f"{name} = {target}\n" for name, target in points.items()))


def pytest_in(folder: Path, *options: str) -> subprocess.CompletedProcess[str]:
    """pytest in ``folder`` as its own project: its own rootdir, none of our settings."""
    site = folder.parent / "site"
    if not site.exists():
        installed_plugins(site)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "PYTEST_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(site)])
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *options],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The README's skill and its test, in a new folder, under the names it uses."""
    python = blocks("python")
    (skill,) = [block for block in python if "Skill(" in block and "SkillTester" not in block]
    (test,) = [block for block in python if "SkillTester" in block]
    tested = re.search(r'SkillTester\("([^"]+)"', test)
    assert tested is not None and f"atlas skill run {tested.group(1)}" in README
    folder = tmp_path / "hello"
    folder.mkdir()
    (folder / tested.group(1)).write_text(skill)
    (folder / "test_hello.py").write_text(test)
    return folder


def test_the_skill_and_its_test_pass_as_written(project: Path) -> None:
    result = pytest_in(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    # It is the plugin that makes the example work: without it pytest refuses it.
    result = pytest_in(project, "-p", "no:atlas")
    assert result.returncode != 0
    assert "async def functions are not natively supported" in result.stdout


def test_the_plugin_leaves_asyncio_mode_auto_alone(tmp_path: Path) -> None:
    """A project whose async tests pytest-asyncio runs sees no change: same loop as its
    async fixtures, in auto mode and with the marker in strict mode."""
    folder = tmp_path / "auto"
    folder.mkdir()
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_mode = auto\n"
                                       "asyncio_default_fixture_loop_scope = function\n")
    (folder / "test_loops.py").write_text(
        "import asyncio\nimport pytest\n\n"
        "@pytest.fixture\nasync def loop_of_fixture():\n    return asyncio.get_running_loop()\n\n"
        "async def test_same_loop(loop_of_fixture):\n"
        "    assert asyncio.get_running_loop() is loop_of_fixture\n")
    result = pytest_in(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    (folder / "pytest.ini").write_text("[pytest]\nasyncio_mode = strict\n"
                                       "asyncio_default_fixture_loop_scope = function\n")
    (folder / "test_loops.py").write_text(
        "import asyncio\nimport pytest\nimport pytest_asyncio\n\n"
        "@pytest_asyncio.fixture\n"
        "async def loop_of_fixture():\n    return asyncio.get_running_loop()\n\n"
        "@pytest.mark.asyncio\nasync def test_same_loop(loop_of_fixture):\n"
        "    assert asyncio.get_running_loop() is loop_of_fixture\n\n"
        "async def test_unmarked_runs_too():\n    await asyncio.sleep(0)\n")
    result = pytest_in(folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_shell_examples_name_real_commands_and_options() -> None:
    """Every ``atlas …`` line of the README's shell blocks and table names a command
    that exists, with options it takes (checked against its --help)."""
    lines = [line.split("#")[0].strip() for block in blocks("sh") for line in block.splitlines()]
    lines += [cell.strip("`").replace("…", "").strip()
              for row in re.findall(r"^\| `(atlas [^|]*)` \|", README, re.M)
              for cell in row.split("`, `")]
    checked = 0
    for line in lines:
        line = line if line.startswith(("atlas ", "users ")) else ""
        words = line.removeprefix("atlas ").split()
        if not words:
            continue
        # The command is the longest run of leading words atlas knows (`skill run`).
        for size in (2, 1):
            command = words[:size]
            if all(re.fullmatch(r"[a-z][a-z-]*", word) for word in command):
                shown = CliRunner().invoke(main, [*command, "--help"])
                if shown.exit_code == 0:
                    break
        assert shown.exit_code == 0, f"{line}: {shown.output}"
        for option in re.findall(r"(--[a-z-]+)", line):
            assert option in shown.output, f"{line}: no {option} in `atlas {' '.join(command)}`"
        checked += 1
    assert checked >= 10


def test_users_from_the_readme(tmp_path: Path) -> None:
    """``atlas users add alice --lang fr``, as typed in the README (no terminal: no password)."""
    (line,) = [line for block in blocks("sh") for line in block.splitlines()
               if line.startswith("atlas users add")]
    arguments = line.split("#")[0].split()[1:]
    runner = CliRunner(env={"XDG_DATA_HOME": str(tmp_path), "ATLAS_DATA_DIR": None})
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    with runner.isolated_filesystem(folder):
        assert runner.invoke(main, arguments).exit_code == 0
    listed = runner.invoke(main, ["users", "list", "--json"]).output
    assert '"uid": "alice"' in listed and '"lang": "fr"' in listed
