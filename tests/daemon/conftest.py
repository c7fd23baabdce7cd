from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from brokers import running_task

from atlas.config import Config
from atlas.daemon import serve
from atlas.store import Store

from .helpers import ChannelFactory, RawSkill, channels, wait_skills


@pytest.fixture
def store(config: Config) -> Store:
    return Store.in_data_dir(config.data_dir)


@pytest.fixture
async def daemon(config: Config, store: Store) -> AsyncIterator[Config]:
    async with running_task(serve(config, store)):
        yield config


@pytest.fixture
async def skill(daemon: Config) -> AsyncIterator[RawSkill]:
    """A raw-MQTT skill, live and trained for, with a name unique to the test."""
    raw = RawSkill(daemon.broker, name=f"raw-{uuid.uuid4().hex[:6]}")
    async with raw.running():
        await wait_skills(daemon.broker, {raw.name})
        yield raw


@pytest.fixture
async def devices(daemon: Config) -> AsyncIterator[ChannelFactory]:
    async with channels(daemon.broker) as factory:
        yield factory


@pytest.fixture
def sid() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"
