from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace

import pytest
from redis_server import RedisServer

from atlas.config import Bridge as BridgeConfig
from atlas.config import Config
from atlas.store import Store

from .helpers import Bridge, demo_skill, skill_stack
from .helpers import wait_for_skill as wait_for_skill


@dataclass(frozen=True)
class Person:
    name: str
    password: str


@pytest.fixture
def store(config: Config) -> Store:
    return Store.in_data_dir(config.data_dir)


@pytest.fixture
def alice(store: Store) -> Person:
    # Names unique to the test: the brokers are shared by the whole session.
    person = Person(f"alice-{uuid.uuid4().hex[:6]}", "correct horse")
    store.add_user(person.name, "en", person.password)
    return person


@pytest.fixture
def bob(store: Store) -> Person:
    person = Person(f"bob-{uuid.uuid4().hex[:6]}", "battery staple")
    store.add_user(person.name, "fr", person.password)
    return person


@pytest.fixture
def origins() -> tuple[str, ...]:
    """The allowed browser origins; tests parametrize it."""
    return ()


@pytest.fixture
def access_ttl() -> int:
    """Seconds an access token lives; tests parametrize it."""
    return BridgeConfig().access_ttl


@pytest.fixture
def bridge_config(config: Config, origins: tuple[str, ...], access_ttl: int) -> Config:
    return replace(config, bridge=BridgeConfig(host="127.0.0.1", port=0, origins=origins,
                                               access_ttl=access_ttl))


@pytest.fixture
def skill_name() -> str:
    return f"demo-{uuid.uuid4().hex[:6]}"


@pytest.fixture
async def stack(bridge_config: Config, store: Store, skill_name: str) -> AsyncIterator[Bridge]:
    """Daemon, demo skill and bridge on the test's broker, the skill live and trained."""
    async with skill_stack(bridge_config, store, demo_skill(skill_name)) as bridge:
        yield bridge




@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The Redis of a test, emptied first."""
    with redis_server.client() as client:
        client.flushdb()
    return redis_server.url
