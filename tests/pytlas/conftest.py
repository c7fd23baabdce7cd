"""pytlas's environment, built once per machine (in the cache dir) and checked per session."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from atlas.pytlas.venv import ensure

SKILLS = Path(__file__).with_name("skills")

# The skills are pytlas code run by the host, with tests of their own: not ours.
collect_ignore_glob = ["skills/*"]


@pytest.fixture(scope="session")
def pytlas_python() -> Path:
    """The pytlas environment's Python; the first run on a machine builds it (~40 s)."""
    started = time.perf_counter()
    python = ensure(say=lambda line: print(line, flush=True))
    print(f"pytlas environment available after {time.perf_counter() - started:.1f} s")
    return python
