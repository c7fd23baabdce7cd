"""The original atlas SDK (atlas-sdk 1.1.8 from PyPI) in a virtual environment of its own,
built once per machine in the cache directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.nlu.entities.places import cache_dir
from atlas.pytlas.venv import prepare

ATLAS_SDK = "atlas-sdk==1.1.8"


@pytest.fixture(scope="session")
def sdk_python() -> Path:
    return prepare(cache_dir() / "atlas-sdk-1.1.8", [ATLAS_SDK],
                   ["{python}", "-c", "import atlas_sdk"],
                   say=lambda line: print(line, flush=True))
