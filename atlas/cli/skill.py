"""``atlas skill run PATH``: one skill against the broker."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import click

from ..pytlas import is_pytlas_skill
from ..sdk import SkillError, SkillLoadError, load_skill
from .common import BadUsage, Failure, broker_address, config_option, load_config

#: Where ``broker: embedded`` lives when the skill runs on its own.


@click.group()
def skill() -> None:
    """Run skills."""


@skill.command("run")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--broker", help="Broker URL (default: ATLAS_BROKER, then the configuration).")
@config_option
def run(path: Path, broker: str | None, config_path: Path | None) -> None:
    """Run the skill in PATH: a folder with skill.py (or __main__.py), or a .py file.

    A pytlas skill (its code imports pytlas) runs unchanged in pytlas's own
    environment, prepared on first use.
    """
    config = load_config(config_path, broker=broker)
    url = config.broker_url
    broker_address(url)
    if is_pytlas_skill(path):
        from ..nlu import TrainingDataError
        from ..pytlas.bridge import HostGone, run_pytlas
        from ..pytlas.venv import PytlasEnvError

        try:
            run_pytlas(path, url)
        except (HostGone, PytlasEnvError, SkillError, TrainingDataError) as error:
            raise Failure(str(error)) from None
        return
    if path.is_dir() and not (path / "skill.py").exists() and (path / "__main__.py").exists():
        # A skill that runs itself: hand it the broker the way the SDK reads it.
        os.environ["ATLAS_BROKER"] = url
        runpy.run_path(str(path), run_name="__main__")
        return
    try:
        loaded = load_skill(path)
        loaded.check()
    except (SkillLoadError, SkillError) as error:
        raise BadUsage(str(error)) from None
    loaded.run(url)  # stops cleanly (with a bye) on SIGINT and SIGTERM
