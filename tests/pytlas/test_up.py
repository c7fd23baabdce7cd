"""`atlas up` runs a pytlas skill folder dropped in skills/, like any other skill."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path
from urllib.parse import quote

import yaml
from brokers import free_port

from tests.test_cli import atlas, atlas_env, gone

from .conftest import SKILLS


async def test_up_runs_a_pytlas_skill_folder(pytlas_python: Path, tmp_path: Path) -> None:
    shutil.copytree(SKILLS / "kitchen", tmp_path / "skills" / "kitchen")
    (tmp_path / "atlas.yml").write_text(
        f"broker: embedded\ndata_dir: {tmp_path / 'data'}\nskills_dir: {tmp_path / 'skills'}\n"
        f"discovery: {{interval: 1, timeout: 5}}\nbridge: {{port: {free_port()}}}\n")
    # The same pytlas environment as the rest of the tests.
    env = atlas_env(**{k: v for k, v in os.environ.items() if k == "ATLAS_CACHE_DIR"})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atlas", "up", "--config", str(tmp_path / "atlas.yml"),
        "--broker-port", "0", "--no-bridge", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        text = ""
        while "  skill" not in text:
            line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
            assert line, text
            text += line
        url = re.search(r"broker  (mqtt://\S+)", text)
        assert url is not None, text
        [skill_pid] = [int(pid) for pid in re.findall(r"skill .*\(pid (\d+)\)", text)]
        # atlas up gave each component a login: the operator's is in the data dir.
        logins = yaml.safe_load((tmp_path / "data" / "broker" / "logins.yml").read_text())
        operator = url.group(1).replace(
            "mqtt://", f"mqtt://operator:{quote(str(logins['operator']), safe='')}@")
        for _ in range(60):
            code, out, err = await atlas("skills", "--json", "--broker", operator, env=env)
            assert code == 0, err
            listed = {skill["name"]: skill for skill in json.loads(out)}
            if listed.get("kitchen", {}).get("training_from"):
                break
            await asyncio.sleep(0.5)
        assert listed["kitchen"]["training_from"] == "skill"
        assert listed["kitchen"]["languages"] == ["en", "fr"]
        # @meta's description, in each language through the skill's translations.
        assert listed["kitchen"]["description"] == "Soups and a pantry"
        assert listed["kitchen"]["descriptions"] == {"fr": "Des soupes et un garde-manger"}
        host = [int(pid) for pid in
                Path(f"/proc/{skill_pid}/task/{skill_pid}/children").read_text().split()]
        assert len(host) == 1
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 60) == 0
        assert gone(skill_pid) and gone(host[0])
    finally:
        if process.returncode is None:
            # SIGTERM first: `atlas up` then stops its children (each in its own
            # process group, which a kill of `atlas up` alone would leave running).
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 30)
            except TimeoutError:
                process.kill()
                await process.wait()
