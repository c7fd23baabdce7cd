"""Shared fixtures: real brokers (amqtt and Mosquitto), a data dir, a test configuration.

Integration tests take ``broker_url`` and run twice, once per broker. The brokers
live for the whole session; a test that needs a clean broker (no retained messages,
special settings) starts its own with :class:`brokers.Mosquitto` or
:class:`atlas.broker.EmbeddedBroker`.
"""

from __future__ import annotations

import os
import site
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from brokers import MOSQUITTO, Mosquitto, free_port
from redis_server import RedisServer

from atlas.broker import EmbeddedBroker
from atlas.config import Config, Discovery

BROKERS = ("amqtt", "mosquitto")


@pytest.fixture(scope="session", autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """HOME and the XDG folders in a temporary place, for this process and every
    process the tests start: no test reads the developer's ~/.config/atlas or writes
    to ~/.local/share/atlas. The cache (place names, built once per machine) stays
    where it is, so the suite does not rebuild it."""
    home = tmp_path_factory.mktemp("home")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))
        patch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
        patch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
        patch.setenv("XDG_CACHE_HOME", cache)
        # Packages installed with `pip install --user` stay importable in subprocesses.
        patch.setenv("PYTHONUSERBASE", os.environ.get("PYTHONUSERBASE") or site.getuserbase())
        patch.delenv("ATLAS_CONFIG", raising=False)
        yield


@pytest.fixture(scope="session", autouse=True)
def place_names() -> None:
    """Build the place-name cache once, before any test starts a daemon in a
    subprocess: on a fresh machine the first build takes seconds, and every
    process starting at once would build it."""
    from atlas.nlu.entities import places

    for lang in ("en", "fr"):
        places.places(lang)


@pytest.fixture(scope="session")
def amqtt_url() -> Iterator[str]:
    with EmbeddedBroker(port=0) as broker:
        yield broker.url


@pytest.fixture(scope="session")
def mosquitto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not os.access(MOSQUITTO, os.X_OK):
        # Never a skip: half the integration matrix silently missing is how
        # broker-specific bugs get shipped. CI installs it; so should you.
        where = "CI" if os.environ.get("CI") else "this machine"
        pytest.fail(f"mosquitto is required on {where}: apt-get install mosquitto", pytrace=False)
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as broker:
        yield broker.url


@pytest.fixture(params=BROKERS)
def broker_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def broker_url(request: pytest.FixtureRequest, broker_name: str) -> str:
    """The URL of a running broker: each test using it runs on amqtt and on Mosquitto."""
    return str(request.getfixturevalue(f"{broker_name}_url"))


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def test_config(broker: str, data_dir: Path, **changes: object) -> Config:
    """A configuration with timeouts short enough for tests."""
    config = Config(broker=broker, data_dir=data_dir,
                    discovery=Discovery(interval=0.5, timeout=3.0),
                    skill_timeout=2.0, ask_timeout=5.0)
    return replace(config, **changes)  # type: ignore[arg-type]


test_config.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


@pytest.fixture
def config(broker_url: str, data_dir: Path) -> Config:
    return test_config(broker_url, data_dir)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """Debian's redis-server on a free loopback port; tests empty what they use."""
    with RedisServer(tmp_path_factory.mktemp("redis")) as server:
        yield server
