"""The bridges' per-sid records (atlas/store/sid_records.py) in a real redis-server,
and the hub keeping them: what a (re)joining socket is sent, whichever bridge it joins."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
import redis
from brokers import free_port

from atlas.bridge.link import Hub
from atlas.config import RedisAddress
from atlas.protocol import (
    ChannelAsk,
    ChannelContext,
    ChannelCreated,
    ChannelTerminate,
    ChannelWork,
    Reason,
)
from atlas.store.redis_state import Keys
from atlas.store.sid_records import (
    RECORD_TTL,
    MemorySidRecords,
    RecordsUnavailable,
    RedisSidRecords,
    SidRecord,
)

SID = "web-0123456789abcdef0123"


@pytest.fixture
async def records(redis_url: str) -> AsyncIterator[RedisSidRecords]:
    store = RedisSidRecords.at(RedisAddress.parse(redis_url))
    yield store
    await store.close()


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url, decode_responses=True)


# -- the adapter ----------------------------------------------------------------------


async def test_a_sid_without_a_record_has_neither_part(records: RedisSidRecords) -> None:
    assert await records.load(SID) == SidRecord()


async def test_views_and_data_are_stored_apart_as_json_and_expire(
        records: RedisSidRecords, client: redis.Redis) -> None:
    await records.put_data(SID, {"plan": "pro", "tags": []})
    await records.save_views({SID: {"lang": "fr", "pending_ask": {"text": "Sûr ?"}},
                              "web-other": {"lang": "en"}})
    await records.put_data(SID, {"seen": 2}, merge=True)
    assert await records.load(SID) == SidRecord({"lang": "fr", "pending_ask": {"text": "Sûr ?"}},
                                                {"plan": "pro", "tags": [], "seen": 2})
    assert (await records.load("web-other")).view == {"lang": "en"}
    key = records.key(SID)
    assert key == f"atlas:bridge:{SID}"
    assert client.hget(key, "view") == '{"lang":"fr","pending_ask":{"text":"Sûr ?"}}'
    assert 0 < client.pttl(key) <= RECORD_TTL * 1000
    assert 0 < client.pttl(records.key("web-other")) <= RECORD_TTL * 1000
    await records.put_data(SID, {"plan": "free"})   # replaced, not merged
    assert (await records.load(SID)).data == {"plan": "free"}


async def test_reading_a_record_renews_its_expiry(records: RedisSidRecords,
                                                  client: redis.Redis) -> None:
    await records.save_views({SID: {"context": "kitchen"}})
    client.pexpire(records.key(SID), 60_000)
    assert (await records.load(SID)).view == {"context": "kitchen"}
    assert client.pttl(records.key(SID)) > 60_000


async def test_a_prefix_keeps_deployments_apart(redis_url: str, records: RedisSidRecords) -> None:
    other = RedisSidRecords.at(RedisAddress.parse(redis_url), keys=Keys("staging"))
    try:
        await other.save_views({SID: {"lang": "de"}})
        assert await records.load(SID) == SidRecord()
        assert (await other.load(SID)).view == {"lang": "de"}
    finally:
        await other.close()


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"'])
async def test_a_part_that_is_not_a_json_object_is_logged_and_ignored(
        records: RedisSidRecords, client: redis.Redis, caplog: pytest.LogCaptureFixture,
        raw: str) -> None:
    client.hset(records.key(SID), mapping={"view": raw, "data": '{"plan": "pro"}'})
    with caplog.at_level(logging.WARNING, logger="atlas.store.sid_records"):
        assert await records.load(SID) == SidRecord(None, {"plan": "pro"})
    [logged] = [r.getMessage() for r in caplog.records]
    assert logged.startswith(f"bridge record of {SID}: view is not")


async def test_merging_into_unreadable_data_starts_from_nothing(
        records: RedisSidRecords, client: redis.Redis) -> None:
    client.hset(records.key(SID), "data", "{oops")
    await records.put_data(SID, {"plan": "pro"}, merge=True)
    assert (await records.load(SID)).data == {"plan": "pro"}


async def test_forgetting_a_sid_removes_both_parts(records: RedisSidRecords,
                                                   client: redis.Redis) -> None:
    await records.save_views({SID: {"lang": "en"}})
    await records.put_data(SID, {"plan": "pro"})
    await records.forget(SID)
    assert not client.exists(records.key(SID))


async def test_an_unreachable_redis_is_one_typed_error() -> None:
    nowhere = RedisSidRecords.at(RedisAddress.parse(f"redis://127.0.0.1:{free_port()}/0"))
    try:
        calls = (lambda: nowhere.load(SID), lambda: nowhere.save_views({SID: {}}),
                 lambda: nowhere.put_data(SID, {}), lambda: nowhere.forget(SID))
        for call in calls:
            with pytest.raises(RecordsUnavailable, match=r"^cannot (read|write|delete) "):
                await call()
    finally:
        await nowhere.close()


# -- the hub over shared records ------------------------------------------------------


async def ask(hub: Hub) -> None:
    for message in (ChannelCreated(SID, "fr"), ChannelContext(SID, "kitchen"), ChannelWork(SID),
                    ChannelAsk(SID, "Sure?", None, ("yes", "no"))):
        hub.deliver(message)
    await hub.flush()


@pytest.mark.parametrize("shared", ["memory", "redis"])
async def test_a_hub_that_enrolls_a_sid_resumes_what_another_hub_recorded(
        redis_url: str, shared: str) -> None:
    records = MemorySidRecords() if shared == "memory" else \
        RedisSidRecords.at(RedisAddress.parse(redis_url))
    try:
        first, second = Hub(records), Hub(records)
        await first.enroll(SID, "alice")
        await ask(first)
        _, pending = await second.join(SID, "alice")
        assert [m["type"] for m in pending] == ["context", "ask", "done"]
        assert pending[1]["data"]["choices"] == ["yes", "no"]
        session = second.session(SID)
        assert session is not None and session.lang == "fr"
        # Both now hear the sid and write the same record; the answer clears it for both.
        for hub in (first, second):
            hub.deliver(ChannelWork(SID))
            hub.deliver(ChannelTerminate(SID, Reason.NOMINAL))
            await hub.flush()
        _, pending = await Hub(records).join(SID, "alice")
        assert pending == [{"type": "context", "name": "kitchen"}]
    finally:
        await records.close()


async def test_bridges_hearing_the_same_messages_write_the_same_bytes(
        records: RedisSidRecords, client: redis.Redis) -> None:
    first, second = Hub(records), Hub(records)
    await first.enroll(SID, "alice")
    await second.enroll(SID, "alice")
    await ask(first)
    written = client.hget(records.key(SID), "view")
    await ask(second)
    assert client.hget(records.key(SID), "view") == written


async def test_what_is_heard_while_the_record_is_read_is_kept(records: RedisSidRecords) -> None:
    hub = Hub(records)
    enrolling = asyncio.create_task(hub.enroll(SID, "alice"))
    await asyncio.sleep(0)            # enrolling has begun: the sid is the hub's now
    hub.deliver(ChannelAsk(SID, "Heard while loading?", "answer"))
    await enrolling
    await hub.flush()
    _, pending = hub.attach(SID)
    assert pending[0]["data"]["text"] == "Heard while loading?"
    assert (await records.load(SID)).view is not None


async def test_an_unreadable_record_is_logged_and_the_sid_starts_afresh(
        records: RedisSidRecords, client: redis.Redis, caplog: pytest.LogCaptureFixture) -> None:
    client.hset(records.key(SID), "view", '{"working": "yes", "context": "kitchen"}')
    with caplog.at_level(logging.WARNING, logger="atlas.bridge.link"):
        _, pending = await Hub(records).join(SID, "alice")
    assert pending == []
    assert any(f"record of {SID} is unreadable" in r.getMessage() for r in caplog.records)


async def test_without_redis_sockets_still_hear_their_channel(
        caplog: pytest.LogCaptureFixture) -> None:
    nowhere = RedisSidRecords.at(RedisAddress.parse(f"redis://127.0.0.1:{free_port()}/0"))
    try:
        hub = Hub(nowhere)
        with caplog.at_level(logging.WARNING, logger="atlas.bridge.link"):
            listener, pending = await hub.join(SID, "alice")
            await ask(hub)
        assert pending == []
        sent = [listener.queue.get_nowait() for _ in range(4)]
        assert [m and m["type"] for m in sent] == ["context", "thinking", "ask", "done"]
        logged = [r.getMessage() for r in caplog.records]
        assert any("starts without its record" in line for line in logged), logged
        assert any("records not written" in line for line in logged), logged
    finally:
        await nowhere.close()
