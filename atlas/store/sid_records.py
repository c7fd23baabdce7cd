"""What a bridge keeps of each sid, where every bridge replica reads and writes it.

A sid's record has two parts, each a small JSON object that this module stores
and returns without looking inside:

- ``view``: what a socket (re)joining the sid is sent (the pending question, the
  context…), written by every bridge that hears the sid's channel messages;
- ``data``: the sid's session data, sent to the daemon when a channel is
  (re)created, written when a client sets it.

Two implementations of :class:`SidRecords`: :class:`MemorySidRecords`, one
bridge's own (the default, as before ``state``), and :class:`RedisSidRecords`,
shared by every bridge with the same ``state: redis://…``. Keys, under a prefix
(``atlas`` by default, as :mod:`atlas.store.redis_state`)::

    PREFIX:bridge:SID    hash: view -> JSON, data -> JSON

The two parts are fields of one hash, so writing one never overwrites the other
(the bridges write views, a client's bridge the data), and one expiry covers
both: :data:`RECORD_TTL` after the last write or read of the sid.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff

from ..config import RedisAddress
from .redis_state import Keys, client_options

log = logging.getLogger(__name__)

#: Seconds a sid's record lives after its last write or read. A record is there
#: to show a page that reloads or reconnects where its conversation stands; a
#: question is answered or times out within the daemon's ``ask_timeout`` (minutes),
#: and any join or channel message renews the day, so a day without either is a
#: page opened afresh rather than a reload: its record can go, and abandoned sids
#: (guests who never come back) do not pile up.
RECORD_TTL = 24 * 3600

#: Seconds a bridge waits on Redis for one command, and how it tries again: once,
#: soon. A channel's messages wait for their record's write, so a Redis that is
#: away must cost them little (redis-py's default tries three times over seconds).
TIMEOUT = 1.0
RETRIES = 1

JSONObject = dict[str, Any]


class RecordsUnavailable(RuntimeError):
    """The records' store cannot be reached or did not answer in time."""


@dataclass(frozen=True)
class SidRecord:
    """One sid's stored parts, ``None`` where there is none (or it was unreadable)."""

    view: JSONObject | None = None
    data: JSONObject | None = None


class SidRecords(Protocol):
    """Where the bridge keeps its per-sid records. Every call may raise
    :class:`RecordsUnavailable`; the records are plain JSON objects both ways."""

    async def load(self, sid: str) -> SidRecord: ...

    async def save_views(self, views: Mapping[str, JSONObject]) -> None:
        """Write the views of several sids (a batch of channel messages) at once."""

    async def put_data(self, sid: str, data: JSONObject, *, merge: bool = False) -> None:
        """Replace the sid's session data, or merge ``data``'s keys into it."""

    async def forget(self, sid: str) -> None: ...

    async def close(self) -> None: ...


def _copy(value: JSONObject) -> JSONObject:
    """A deep copy, through JSON: what the memory keeps is what Redis would give back."""
    copied = json.loads(json.dumps(value))
    assert isinstance(copied, dict)
    return copied


class MemorySidRecords:
    """The records in this process: one bridge, kept as long as it runs."""

    def __init__(self) -> None:
        self._records: dict[str, SidRecord] = {}

    async def load(self, sid: str) -> SidRecord:
        return self._records.get(sid, SidRecord())

    async def save_views(self, views: Mapping[str, JSONObject]) -> None:
        for sid, view in views.items():
            self._records[sid] = SidRecord(_copy(view), self._records.get(sid, SidRecord()).data)

    async def put_data(self, sid: str, data: JSONObject, *, merge: bool = False) -> None:
        record = self._records.get(sid, SidRecord())
        merged = {**(record.data or {}), **data} if merge else data
        self._records[sid] = SidRecord(record.view, _copy(merged))

    async def forget(self, sid: str) -> None:
        self._records.pop(sid, None)

    async def close(self) -> None:
        pass


def decode(sid: str, part: str, raw: str | bytes | None) -> JSONObject | None:
    """A stored part as an object; anything else is logged and read as none."""
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        log.warning("bridge record of %s: %s is not JSON (%s); ignored", sid, part, error)
        return None
    if not isinstance(value, dict):
        log.warning("bridge record of %s: %s is not a JSON object; ignored", sid, part)
        return None
    return value


def encode(value: JSONObject) -> str:
    # Sorted keys: bridges writing the same view write the same bytes.
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_FAILURES = (redis.RedisError, OSError, TimeoutError)


class RedisSidRecords:
    """The records in Redis, for every bridge with the same ``state``."""

    def __init__(self, client: aioredis.Redis, *, keys: Keys | None = None,
                 ttl: float = RECORD_TTL) -> None:
        self.client = client
        self.prefix = (keys or Keys()).prefix
        self.ttl_ms = int(ttl * 1000)

    @classmethod
    def at(cls, address: RedisAddress, **options: Any) -> RedisSidRecords:
        client = aioredis.Redis(**client_options(address, TIMEOUT),
                                retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.2),
                                            retries=RETRIES))
        return cls(client, **options)

    def key(self, sid: str) -> str:
        return f"{self.prefix}:bridge:{sid}"

    async def load(self, sid: str) -> SidRecord:
        key = self.key(sid)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.hmget(key, ["view", "data"])
                pipe.pexpire(key, self.ttl_ms)  # read is use: the record lives on
                (view, data), _ = await pipe.execute()
        except _FAILURES as error:
            raise RecordsUnavailable(f"cannot read the record of {sid}: {error}") from None
        return SidRecord(decode(sid, "view", view), decode(sid, "data", data))

    async def save_views(self, views: Mapping[str, JSONObject]) -> None:
        if not views:
            return
        try:
            # One round trip; MULTI so that no key is ever left without its expiry.
            async with self.client.pipeline(transaction=True) as pipe:
                for sid, view in views.items():
                    pipe.hset(self.key(sid), "view", encode(view))
                    pipe.pexpire(self.key(sid), self.ttl_ms)
                await pipe.execute()
        except _FAILURES as error:
            raise RecordsUnavailable(f"cannot write {len(views)} record(s): {error}") from None

    async def put_data(self, sid: str, data: JSONObject, *, merge: bool = False) -> None:
        key = self.key(sid)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                while True:  # optimistic: read, merge, write unless the record moved
                    try:
                        await pipe.watch(key)
                        stored = decode(sid, "data", await pipe.hget(key, "data")) \
                            if merge else None
                        pipe.multi()
                        pipe.hset(key, "data", encode({**(stored or {}), **data}))
                        pipe.pexpire(key, self.ttl_ms)
                        await pipe.execute()
                        return
                    except redis.WatchError:
                        continue
        except _FAILURES as error:
            raise RecordsUnavailable(f"cannot write the data of {sid}: {error}") from None

    async def forget(self, sid: str) -> None:
        try:
            await self.client.delete(self.key(sid))
        except _FAILURES as error:
            raise RecordsUnavailable(f"cannot delete the record of {sid}: {error}") from None

    async def close(self) -> None:
        await self.client.aclose()
