"""Loading a skill from disk, for ``atlas skill run PATH`` and ``atlas up``."""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from .skill import Skill


class SkillLoadError(Exception):
    """A skill that cannot be loaded; the message says which file and why."""


def load_skill(path: str | Path) -> Skill:
    """Import a skill: a folder with ``skill.py``, or a ``.py`` file, defining ``skill``.

    A folder is imported as a package, so its ``skill.py`` may import sibling modules
    relatively (``from .helpers import …``). Loading the same path twice gives a fresh
    module, hence a fresh :class:`Skill`.
    """
    skill: Skill = load_skill_module(path).skill
    return skill


def load_skill_module(path: str | Path) -> ModuleType:
    """Like :func:`load_skill`, returning the module (its helpers are then testable)."""
    path = Path(path)
    if path.is_dir():
        folder, file = path, path / "skill.py"
        if not file.is_file():
            raise SkillLoadError(f"{path}: a skill folder needs a skill.py")
    elif path.suffix == ".py" and path.is_file():
        folder, file = path.parent, path
    else:
        raise SkillLoadError(f"{path}: not a skill folder or a .py file")

    # A unique, importable module name per path, so two skills never collide.
    digest = hashlib.sha1(str(file.resolve()).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", folder.name if path.is_dir() else file.stem)
    name = f"atlas_skill_{stem}_{digest}"
    locations = [str(folder)] if path.is_dir() else None
    spec = importlib.util.spec_from_file_location(name, file,
                                                  submodule_search_locations=locations)
    if spec is None or spec.loader is None:
        raise SkillLoadError(f"{file}: cannot be imported")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        raise SkillLoadError(f"{file}: {type(error).__name__}: {error}") from error
    skill = getattr(module, "skill", None)
    if not isinstance(skill, Skill):
        del sys.modules[name]
        raise SkillLoadError(f"{file}: defines no module-level `skill = Skill(...)`")
    return module
