"""Skills import atlas.nlu to validate their chatl: that must stay cheap."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sklearn", "scipy", "numpy", "pycrfsuite")


def _loaded_after(code: str) -> list[str]:
    check = f"{code}; import sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                         check=True)
    return out.stdout.split()


def test_importing_the_package_loads_no_machine_learning_library() -> None:
    code = ("import atlas.nlu; from atlas.nlu import load_training, merge, is_cancel; "
            "load_training('%[hi]\\n  hello there\\n', source='greet', lang='en')")
    assert _loaded_after(code) == []


def test_training_loads_them() -> None:
    # The check above could pass vacuously if the names were wrong.
    chatl = "%[hi]\\n  hello @[name]\\n@[name]\\n  bob\\n"
    code = ("from atlas.nlu import SnipsLikeInterpreter, load_training; "
            f"SnipsLikeInterpreter('en').fit(load_training('{chatl}'))")
    assert set(_loaded_after(code)) == {"sklearn", "scipy", "numpy", "pycrfsuite"}
