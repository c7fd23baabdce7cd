"""atlas/transport is the only part of atlas that talks to an MQTT library."""

from __future__ import annotations

import ast
from pathlib import Path

ATLAS = Path(__file__).resolve().parents[2] / "atlas"
MQTT_LIBRARIES = {"paho", "aiomqtt"}


def imported(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_transport_imports_an_mqtt_library() -> None:
    offenders = sorted(str(path.relative_to(ATLAS)) for path in ATLAS.rglob("*.py")
                       if "transport" not in path.relative_to(ATLAS).parts
                       and imported(path) & MQTT_LIBRARIES)
    assert offenders == []
    assert imported(ATLAS / "transport" / "session.py") & MQTT_LIBRARIES == {"paho"}
