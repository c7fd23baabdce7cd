"""pytlas's own virtual environment, prepared on first use and reused afterwards.

pytlas 5.1.3 pins ``click~=7`` (atlas needs click 8) and its chatl parser fails to
import on Python 3.10+ without a shim (see :func:`atlas.pytlas.host.shim`), so it
cannot live in atlas's environment. Its environment sits in the cache directory
(``ATLAS_CACHE_DIR``, else ``$XDG_CACHE_HOME/atlas``, else ``~/.cache/atlas``), in
``pytlas-5.1.3/``, built with ``python -m venv`` and pip from the package index.
It is built in a temporary folder and renamed into place, under a lock, so that
several skills started at once (``atlas up``) build it once and never see half
of it.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..nlu.entities.places import cache_dir
from .host import PYTLAS_VERSION

#: What pip installs in the environment: pytlas alone brings what it needs.
REQUIREMENTS = (f"pytlas=={PYTLAS_VERSION}",)
HOST = Path(__file__).with_name("host.py")
READY = ".ready"


class PytlasEnvError(RuntimeError):
    """The environment could not be built (no network, pip failed…)."""


def env_dir(root: Path | None = None) -> Path:
    return (root or cache_dir()) / f"pytlas-{PYTLAS_VERSION}"


def python_of(folder: Path) -> Path:
    return folder / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(arguments: list[str], what: str) -> None:
    done = subprocess.run(arguments, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise PytlasEnvError(f"{what} failed (exit {done.returncode}):\n{tail}")


def _pip(python: Path, *arguments: str) -> list[str]:
    return [str(python), "-m", "pip", "install", "--disable-pip-version-check",
            "--no-input", "-q", *arguments]


def ensure(root: Path | None = None, *, requirements: Path | None = None,
           say: Callable[[str], None] = print) -> Path:
    """The environment's Python, built first if need be; ``requirements`` is a skill's
    ``requirements.txt``, installed once per content."""
    folder = env_dir(root)
    python = prepare(folder, REQUIREMENTS, ["{python}", str(HOST), "--check"], say)
    with _locked(_lock_of(folder)):
        if requirements is not None and requirements.is_file():
            digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
            mark = folder / f".requirements-{digest}"
            if not mark.is_file():
                say(f"atlas: installing {requirements} into the pytlas environment")
                _run(_pip(python, "-r", str(requirements)), f"pip install -r {requirements}")
                mark.write_text(str(requirements) + "\n")
    return python


def _lock_of(folder: Path) -> Path:
    return folder.with_name(f".{folder.name}.lock")


def prepare(folder: Path, requirements: Sequence[str], check: Sequence[str] | None = None,
            say: Callable[[str], None] = print) -> Path:
    """A virtual environment in ``folder`` with ``requirements``, built once; its Python.

    ``check`` is a command run in the new environment before it is kept (``{python}``
    stands for its interpreter).
    """
    with _locked(_lock_of(folder)):
        if not (folder / READY).is_file():
            build(folder, requirements, check, say)
    return python_of(folder)


def build(folder: Path, requirements: Sequence[str], check: Sequence[str] | None = None,
          say: Callable[[str], None] = print) -> float:
    """Create the environment (about 40 s for pytlas with a warm pip cache); its seconds."""
    what = " ".join(requirements)
    say(f"atlas: preparing {what} in {folder} (first use only, needs the package index)…")
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    tmp = folder.with_name(f".{folder.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        _run([sys.executable, "-m", "venv", str(tmp)], "python -m venv")
        _run(_pip(python_of(tmp), *requirements), f"pip install {what}")
        if check:
            python = str(python_of(tmp))
            _run([part.replace("{python}", python) for part in check], "checking " + what)
        os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    seconds = time.perf_counter() - started
    (folder / READY).write_text(f"{what}, built in {seconds:.1f} s\n")
    say(f"atlas: {what} ready in {seconds:.1f} s (reused from now on)")
    return seconds
