"""pytlas skills, unchanged, on atlas: detection, pytlas's own environment, the host.

``atlas skill run PATH`` and ``atlas up`` call :func:`is_pytlas_skill`, then
:func:`atlas.pytlas.bridge.run`. See ``docs/skills.md``.
"""

from __future__ import annotations

import re
from pathlib import Path

_IMPORTS_PYTLAS = re.compile(r"^\s*(?:from\s+pytlas[\s.]|import\s+pytlas\b)", re.MULTILINE)


def is_pytlas_skill(path: Path) -> bool:
    """A ``.py`` file, or a folder with a ``.py`` file at its top, that imports pytlas."""
    if path.is_dir():
        files = sorted(path.glob("*.py"))
    elif path.suffix == ".py":
        files = [path]
    else:
        return False
    for file in files:
        try:
            if _IMPORTS_PYTLAS.search(file.read_text(encoding="utf-8", errors="replace")):
                return True
        except OSError:
            continue
    return False


__all__ = ["is_pytlas_skill"]
