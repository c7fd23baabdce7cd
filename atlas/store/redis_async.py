"""The Redis primitives of :mod:`atlas.store.redis_state` for an asyncio loop.

The same scripts, keys and records, through ``redis.asyncio``: while one sid's
write is on the wire, the daemon's loop serves other sids (each sid still waits
for its own write before publishing what it decided). What each call sends and
how its reply is read is shared with the synchronous classes; only the waiting
differs.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from ..config import RedisAddress
from .conversations import Batch, Stored
from .redis_state import (
    CLAIM_HOLD,
    CLAIM_LUA,
    FENCE_MS,
    ONCE_LUA,
    WRITE_LUA,
    Claim,
    Grab,
    Keys,
    Lease,
    LeaseBook,
    check_written,
    claim_args,
    claimed,
    client_options,
    digest,
    grab_call,
    grabbed,
    load_all,
    load_one,
    loaded,
    loaded_one,
    write_call,
)


def connect(address: RedisAddress, *, timeout: float = 5.0) -> aioredis.Redis:
    return aioredis.Redis(**client_options(address, timeout))


class AsyncLeases(LeaseBook):
    """:class:`~atlas.store.redis_state.Leases`, awaited."""

    client: aioredis.Redis

    async def grab(self, sids: list[str]) -> dict[str, Grab]:
        """Take each sid (or keep it, if still ours) and read those newly taken, in one
        round trip for them all: see :data:`~atlas.store.redis_state.GRAB_LUA`."""
        if not sids:
            return {}
        async with self.client.pipeline(transaction=False) as pipe:
            for sid in sids:
                keys, args = grab_call(self.keys, self, sid)
                await self._grab(keys=keys, args=args, client=pipe)
            replies = await pipe.execute()
        return {sid: grabbed(self, sid, reply) for sid, reply in zip(sids, replies, strict=True)}

    async def acquire(self, sid: str) -> Lease | None:
        if (lease := self.held.get(sid)) is not None and await self.renew(lease):
            return lease
        token, _left = await self._acquire(
            keys=[self.keys.lease(sid), self.keys.fence(sid), self.keys.counter],
            args=[self.owner, self.lease_ms, self.fence_ms])
        if not token:
            return None
        lease = Lease(sid, self.owner, int(token))
        self.held[sid] = lease
        return lease

    async def renew(self, lease: Lease) -> bool:
        if lease.owner == self.owner and await self._renew(
                keys=[self.keys.lease(lease.sid)], args=[lease.value, self.lease_ms]):
            return True
        self._forget(lease)
        return False

    async def release(self, lease: Lease) -> bool:
        if lease.owner != self.owner:
            return False
        self._forget(lease)
        return bool(await self._release(keys=[self.keys.lease(lease.sid)], args=[lease.value]))


class AsyncRedisState:
    """:class:`~atlas.store.redis_state.RedisConversationState`, awaited."""

    def __init__(self, client: aioredis.Redis, *, keys: Keys | None = None,
                 leases: AsyncLeases | None = None) -> None:
        self.client = client
        self.keys = keys or (leases.keys if leases is not None else Keys())
        self.leases = leases
        self._write = client.register_script(WRITE_LUA)

    async def load(self) -> dict[str, Stored]:
        sids = sorted(str(sid) for sid in await self.client.smembers(self.keys.sids))
        if not sids:
            return {}
        async with self.client.pipeline(transaction=True) as pipe:
            load_all(pipe, self.keys, sids)
            return loaded(sids, *await pipe.execute())

    async def load_sid(self, sid: str) -> Stored | None:
        async with self.client.pipeline(transaction=True) as pipe:
            load_one(pipe, self.keys, sid)
            return loaded_one(*await pipe.execute())

    async def save(self, batch: Batch, *, sent: dict[str, int] | None = None) -> None:
        """Write ``batch``; with ``sent``, also mark those sids' writes as published
        (:class:`~atlas.store.Outbox`), in the same round trip.

        The sids whose new outbox has messages go in the ``unsent`` index until
        marked: a daemon finding one there long after its write takes the sid over
        (its writer died before publishing, or before saying so).
        """
        unsent = {sid: stored.outbox.at for sid, stored in batch.items()
                  if stored is not None and stored.outbox is not None
                  and stored.outbox.messages}
        if not sent and not unsent:
            if batch:
                keys, args = write_call(self.keys, batch, self.leases)
                check_written(await self._write(keys=keys, args=args), self.leases)
            return
        fence_ms = self.leases.fence_ms if self.leases is not None else FENCE_MS
        async with self.client.pipeline(transaction=False) as pipe:
            for sid, seq in (sent or {}).items():
                pipe.set(self.keys.sent(sid), seq, px=fence_ms)
            if sent:
                pipe.zrem(self.keys.unsent, *sent)
            if batch:
                keys, args = write_call(self.keys, batch, self.leases)
                await self._write(keys=keys, args=args, client=pipe)
            if unsent:
                pipe.zadd(self.keys.unsent, unsent)
            replies = await pipe.execute()
        if batch:
            check_written(replies[-2 if unsent else -1], self.leases)

    async def unsent_since(self, before: float, limit: int = 100) -> list[str]:
        """Sids whose messages written before ``before`` (epoch seconds) are still not
        said to be published."""
        found = await self.client.zrangebyscore(self.keys.unsent, "-inf", before,
                                                start=0, num=limit)
        return [str(sid) for sid in found]

    async def close(self) -> None:
        await self.client.aclose()


class AsyncDeadlines:
    """:class:`~atlas.store.redis_state.Deadlines`, awaited."""

    def __init__(self, client: aioredis.Redis, *, keys: Keys | None = None,
                 hold: float = CLAIM_HOLD) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.hold = hold
        self._claim = client.register_script(CLAIM_LUA)

    async def claim(self, now: float | None = None, limit: int = 100, *,
                    owner: str = "") -> list[Claim]:
        flat = await self._claim(keys=[self.keys.deadlines, self.keys.deadline_gen],
                                 args=claim_args(self.keys, now, limit, self.hold, owner))
        claims, broken = claimed(flat)
        if broken:
            await self.client.zrem(self.keys.deadlines, *broken)
        return claims

    async def next_due(self) -> float | None:
        first: list[Any] = await self.client.zrange(self.keys.deadlines, 0, 0, withscores=True)
        return float(first[0][1]) if first else None


class AsyncOncePerChange:
    """:class:`~atlas.store.redis_state.OncePerChange`, awaited."""

    def __init__(self, client: aioredis.Redis, name: str, *, keys: Keys | None = None) -> None:
        self.client = client
        self.key = (keys or Keys()).once(name)
        self._once = client.register_script(ONCE_LUA)

    async def first(self, content: bytes | str) -> bool:
        return bool(await self._once(keys=[self.key], args=[digest(content)]))

    async def forget(self) -> None:
        await self.client.delete(self.key)
