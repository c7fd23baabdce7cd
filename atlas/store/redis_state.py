"""Conversations in Redis, and what several daemons sharing them need.

:class:`RedisConversationState` is the second :class:`~atlas.store.ConversationState`:
the same records (a channel as JSON, see :mod:`atlas.core.records`, and the sid's
armed deadline), kept in Redis instead of the daemon's SQLite file, so that any
daemon with the same ``state: redis://…`` can take a conversation over.

Around it, the primitives that make taking over safe (docs/architecture.md,
"Scaling out"), each one Lua script, so each is atomic on the Redis server:

- :class:`Leases`: a daemon handles a sid only while it holds the sid's lease, a
  key with an expiry. Each grant comes with a fencing token from one counter that
  only grows; a write carries its token and is refused if the sid was granted to
  someone since. A daemon that stalled past its lease (a long pause, a partition)
  therefore cannot overwrite what the daemon that took over wrote.
- :class:`Deadlines`: the armed deadlines of every sid in one sorted set by due
  time; :meth:`Deadlines.claim` hands each due one to exactly one claimer, and
  hides it for a while rather than deleting it, so a claimer that dies before
  handling it does not lose it.
- :class:`OncePerChange`: of several daemons that computed the same content (the
  retained skills list), only the first publishes it.

Keys, under a prefix (``atlas`` by default)::

    PREFIX:sids              set: every stored sid
    PREFIX:conv:SID          string: the channel record, JSON
    PREFIX:deadlines         sorted set: sid by due time (epoch seconds)
    PREFIX:deadline-gen      hash: sid -> generation of its armed deadline
    PREFIX:lease:SID         string OWNER|TOKEN, with the lease's expiry
    PREFIX:fence:SID         string: the last token granted for SID
    PREFIX:fence             the counter tokens come from
    PREFIX:once:NAME         string: hash of the content last published
    PREFIX:sent:SID          string: the number of the last write of SID whose
                             messages its writer published
    PREFIX:unsent            sorted set: sids whose last write's messages are not
                             said to be published yet, by the time of that write

The scripts touch several keys, so they need one Redis (with replicas and
Sentinel for fail-over), not a Redis Cluster, which would want the keys of a
script in one slot.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from ..config import RedisAddress
from .conversations import Armed, Batch, Outbox, Stored

log = logging.getLogger(__name__)

#: How long a lease lasts unless renewed (ms). A turn renews it; a daemon that
#: dies loses its sids to another after at most this.
LEASE_MS = 10_000
#: How long the last token of a sid is remembered after its last grant or write
#: (ms). A holder stalled longer than this could write once more: a week.
FENCE_MS = 7 * 24 * 3600 * 1000
#: How long what was handled of a sid without a channel is kept (ms): longer than any
#: daemon keeps what it heard of a sid another daemon holds.
TOMBSTONE_MS = 3600 * 1000
#: How long a claimed deadline stays hidden from other claimers (seconds): the
#: claimer fires it well within this, or it is handed out again.
CLAIM_HOLD = 30.0


class Fenced(RuntimeError):
    """A write refused: the sid was granted to another daemon since our token."""

    def __init__(self, sid: str, token: int) -> None:
        super().__init__(f"sid {sid}: token {token} is stale, another daemon took it over")
        self.sid = sid
        self.token = token


class NotLeased(RuntimeError):
    """A fenced write for a sid this daemon holds no lease for."""


def client_options(address: RedisAddress, timeout: float = 5.0) -> dict[str, Any]:
    """How a client (waiting or awaited) reaches ``address``: text replies, a bound
    on every command."""
    return {"host": address.host, "port": address.port, "db": address.db,
            "username": address.username, "password": address.password,
            "ssl": address.tls, "decode_responses": True, "socket_timeout": timeout,
            "socket_connect_timeout": timeout, "health_check_interval": 30}


def connect(address: RedisAddress, *, timeout: float = 5.0) -> redis.Redis:
    return redis.Redis(**client_options(address, timeout))


def new_owner() -> str:
    """A name for this daemon in leases: readable in Redis, unique per process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Keys:
    """Key names under one prefix."""

    def __init__(self, prefix: str = "atlas") -> None:
        if "|" in prefix:
            raise ValueError("a key prefix may not contain '|'")
        self.prefix = prefix
        self.sids = f"{prefix}:sids"
        self.deadlines = f"{prefix}:deadlines"
        self.deadline_gen = f"{prefix}:deadline-gen"
        self.counter = f"{prefix}:fence"

    def conv(self, sid: str) -> str:
        return f"{self.prefix}:conv:{sid}"

    def lease(self, sid: str) -> str:
        return f"{self.prefix}:lease:{sid}"

    def fence(self, sid: str) -> str:
        return f"{self.prefix}:fence:{sid}"

    def once(self, name: str) -> str:
        return f"{self.prefix}:once:{name}"

    def sent(self, sid: str) -> str:
        return f"{self.prefix}:sent:{sid}"

    @property
    def unsent(self) -> str:
        return f"{self.prefix}:unsent"


# -- leases ---------------------------------------------------------------------------

# KEYS: lease, fence(sid), counter. ARGV: owner, lease ms, fence ms.
# Returns {token, 0} when granted, {0, ms left} when another holds it.
ACQUIRE_LUA = """
local held = redis.call('GET', KEYS[1])
if held then
    return {0, redis.call('PTTL', KEYS[1])}
end
local token = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
redis.call('SET', KEYS[2], token, 'PX', ARGV[3])
return {token, 0}
"""

# KEYS: lease. ARGV: owner|token, lease ms. 1 if renewed, 0 if not ours any more.
RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

# KEYS: lease. ARGV: owner|token. 1 if released, 0 if it was not ours.
RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


# Takes a sid for a daemon about to handle it, and reads it, in one round trip.
# KEYS: lease, fence(sid), counter, conv, deadlines, deadline-gen, sent. ARGV: owner,
# lease ms, fence ms, sid, the lease value the daemon believes it holds ('' if none).
# Returns {-1} when that lease is still the daemon's (renewed: what it has in memory
# is the sid's state); {0, ms left, record} while another daemon holds it (the
# record says what that daemon handled so far, and the sent mark what it published);
# else a new token with the stored record, deadline time, deadline generation and
# sent mark (each false if none).
GRAB_LUA = """
local held = redis.call('GET', KEYS[1])
if held and held == ARGV[5] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return {-1}
end
local mine = ARGV[1] .. '|'
if held and string.sub(held, 1, #mine) ~= mine then
    return {0, redis.call('PTTL', KEYS[1]), redis.call('GET', KEYS[4]) or false,
            redis.call('GET', KEYS[7]) or false}
end
local token = redis.call('INCR', KEYS[3])
redis.call('SET', KEYS[1], mine .. token, 'PX', ARGV[2])
redis.call('SET', KEYS[2], token, 'PX', ARGV[3])
return {token, redis.call('GET', KEYS[4]) or false,
        redis.call('ZSCORE', KEYS[5], ARGV[4]) or false,
        redis.call('HGET', KEYS[6], ARGV[4]) or false, redis.call('GET', KEYS[7]) or false}
"""


@dataclass(frozen=True)
class Lease:
    """The right to handle ``sid``, with the fencing token its writes carry."""

    sid: str
    owner: str
    token: int

    @property
    def value(self) -> str:
        return f"{self.owner}|{self.token}"


@dataclass(frozen=True)
class Kept:
    """The lease was still this daemon's, and is renewed: its copy of the sid is current."""

    lease: Lease


@dataclass(frozen=True)
class Granted:
    """A new lease on the sid, and the sid as stored (``None``: a sid nobody stored).

    ``unsent`` is the stored outbox when its writer never said it was published.
    """

    lease: Lease
    stored: Stored | None
    unsent: Outbox | None = None


@dataclass(frozen=True)
class Busy:
    """Another daemon holds the sid, for ``left`` more seconds unless it renews;
    ``handled`` is what its record says it handled (:attr:`Stored.handled`), and
    ``unsent`` its outbox if not said to be published yet."""

    left: float
    handled: dict[str, list[str]] | None = None
    unsent: Outbox | None = None


def _unsent(stored: Stored | None, sent: str | None) -> Outbox | None:
    outbox = stored.outbox if stored is not None else None
    if outbox is None or not outbox.messages or (sent is not None and int(sent) >= outbox.seq):
        return None
    return outbox


Grab = Kept | Granted | Busy


def grab_call(keys: Keys, holder: _Holder, sid: str) -> tuple[list[str], list[Any]]:
    """The keys and arguments of the grab script for ``sid``."""
    held = holder.held.get(sid)
    return ([keys.lease(sid), keys.fence(sid), keys.counter, keys.conv(sid),
             keys.deadlines, keys.deadline_gen, keys.sent(sid)],
            [holder.owner, holder.lease_ms, holder.fence_ms, sid,
             held.value if held is not None else ""])


def grabbed(holder: _Holder, sid: str, reply: list[Any]) -> Grab:
    """Read the grab script's reply, and note the lease in ``holder.held``."""
    token = int(reply[0])
    if token == -1:
        return Kept(holder.held[sid])
    if token == 0:
        holder.held.pop(sid, None)
        stored = _stored(reply[2], None) if reply[2] is not None else None
        return Busy(max(0, int(reply[1])) / 1000, stored.handled if stored else None,
                    _unsent(stored, reply[3]))
    lease = Lease(sid, holder.owner, token)
    holder.held[sid] = lease
    text, at, generation, sent = reply[1:5]
    stored = loaded_one(text, at, generation)
    return Granted(lease, stored, _unsent(stored, sent))


class LeaseBook:
    """What a daemon's leases are, whether its Redis client waits or is awaited: its
    name, the leases it believes it holds (a write tells if it still does), and the
    scripts, registered on that client."""

    def __init__(self, client: Any, owner: str | None = None, *,
                 keys: Keys | None = None, lease_ms: int = LEASE_MS,
                 fence_ms: int = FENCE_MS) -> None:
        self.client = client
        self.owner = owner or new_owner()
        if "|" in self.owner:
            raise ValueError("an owner may not contain '|'")
        self.keys = keys or Keys()
        self.lease_ms = lease_ms
        self.fence_ms = fence_ms
        self.held: dict[str, Lease] = {}
        self._acquire = client.register_script(ACQUIRE_LUA)
        self._renew = client.register_script(RENEW_LUA)
        self._release = client.register_script(RELEASE_LUA)
        self._grab = client.register_script(GRAB_LUA)

    def _forget(self, lease: Lease) -> None:
        if self.held.get(lease.sid) == lease:
            del self.held[lease.sid]


class Leases(LeaseBook):
    """Per-sid leases for one daemon (``owner``), with fencing tokens.

    A lease is a key set only if absent and with an expiry (SET NX PX, in a script
    that also takes the next token from the counter), so at most one daemon holds
    a sid at a time and a dead daemon's sids are free after ``lease_ms``.
    """

    client: redis.Redis

    def acquire(self, sid: str) -> Lease | None:
        """The sid's lease with a new token, or ``None`` while another daemon holds it.

        A lease this daemon already holds is renewed and returned as it is.
        """
        if (lease := self.held.get(sid)) is not None and self.renew(lease):
            return lease
        token, _left = self._acquire(
            keys=[self.keys.lease(sid), self.keys.fence(sid), self.keys.counter],
            args=[self.owner, self.lease_ms, self.fence_ms])
        if not token:
            return None
        lease = Lease(sid, self.owner, int(token))
        self.held[sid] = lease
        return lease

    def renew(self, lease: Lease) -> bool:
        """Extend ``lease``; False (and forgotten) if it lapsed and is not ours any more."""
        if lease.owner == self.owner and self._renew(keys=[self.keys.lease(lease.sid)],
                                                     args=[lease.value, self.lease_ms]):
            return True
        self._forget(lease)
        return False

    def release(self, lease: Lease) -> bool:
        """Give the sid up at once (say, on a clean stop); False if it was not ours."""
        if lease.owner != self.owner:
            return False
        self._forget(lease)
        return bool(self._release(keys=[self.keys.lease(lease.sid)], args=[lease.value]))


# -- conversations --------------------------------------------------------------------

# Writes one batch, all or nothing. KEYS: sids, deadlines, deadline-gen, then for
# each of the N sids: conv, fence, lease. ARGV: N, lease ms, fence ms, then for each
# sid: sid, token ('0': unfenced), lease value ('' for none), op ('put', 'del' or
# 'tomb': a record of what was handled, expiring, for a sid without a channel),
# record, deadline generation and time as GEN|AT ('' for none), deadline time (for
# 'tomb': its expiry, ms).
# Returns {} when written, {sid, newer token} when a token is stale (nothing written).
WRITE_LUA = """
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
    local token = tonumber(ARGV[4 + i * 7 + 1])
    if token > 0 then
        local newest = tonumber(redis.call('GET', KEYS[3 + i * 3 + 2]))
        if newest and newest > token then
            return {ARGV[4 + i * 7], newest}
        end
    end
end
for i = 0, n - 1 do
    local a = 4 + i * 7
    local sid, token, lease, op = ARGV[a], tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
    local conv, fence, leasekey = KEYS[3 + i * 3 + 1], KEYS[3 + i * 3 + 2], KEYS[3 + i * 3 + 3]
    if op == 'del' or op == 'tomb' then
        if op == 'del' then
            redis.call('DEL', conv)
        else
            redis.call('SET', conv, ARGV[a + 4], 'PX', ARGV[a + 6])
        end
        redis.call('SREM', KEYS[1], sid)
        redis.call('ZREM', KEYS[2], sid)
        redis.call('HDEL', KEYS[3], sid)
    else
        redis.call('SET', conv, ARGV[a + 4])
        redis.call('SADD', KEYS[1], sid)
        if ARGV[a + 5] == '' then
            redis.call('ZREM', KEYS[2], sid)
            redis.call('HDEL', KEYS[3], sid)
        else
            redis.call('ZADD', KEYS[2], ARGV[a + 6], sid)
            redis.call('HSET', KEYS[3], sid, ARGV[a + 5])
        end
    end
    if token > 0 then
        -- A turn's write also keeps the lease and the token's memory alive: one
        -- round trip per turn.
        redis.call('SET', fence, token, 'PX', ARGV[3])
        if lease ~= '' and redis.call('GET', leasekey) == lease then
            redis.call('PEXPIRE', leasekey, ARGV[2])
        end
    end
end
return {}
"""


#: Keys of a stored record that hold :attr:`Stored.handled` and :attr:`Stored.outbox`
#: (not channel fields).
HANDLED, OUTBOX = "__handled", "__outbox"


def _encode(stored: Stored) -> str:
    record: dict[str, Any] | None = stored.record
    extra: dict[str, Any] = {}
    if stored.handled is not None:
        extra[HANDLED] = stored.handled
    if stored.outbox is not None:
        extra[OUTBOX] = {"seq": stored.outbox.seq, "at": stored.outbox.at,
                         "messages": [list(pair) for pair in stored.outbox.messages]}
    if extra:
        # Without a record, a tombstone: the sid has no channel, but what was
        # handled and sent of it is still told (see TOMBSTONE_MS).
        record = {**(record or {}), **extra}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _decode(text: str | None) -> tuple[dict[str, Any] | None, dict[str, list[str]] | None,
                                       Outbox | None]:
    """The record, what it says was handled, and its outbox; ``None`` for what is
    missing or unreadable."""
    if text is None:
        return None, None, None
    try:
        data = json.loads(text)
    except ValueError:
        return None, None, None     # from_record reports it
    if not isinstance(data, dict):
        return None, None, None
    handled = data.pop(HANDLED, None)
    if not (isinstance(handled, dict) and all(
            isinstance(tail, list) and all(isinstance(d, str) for d in tail)
            for tail in handled.values())):
        handled = None
    outbox = _read_outbox(data.pop(OUTBOX, None))
    if not data and (handled is not None or outbox is not None):
        return None, handled, outbox     # a tombstone
    return data, handled, outbox


def _read_outbox(raw: Any) -> Outbox | None:
    try:
        return Outbox(int(raw["seq"]), tuple((str(topic), str(payload))
                                             for topic, payload in raw["messages"]),
                      float(raw.get("at", 0.0)))
    except (TypeError, KeyError, ValueError):
        return None


def _stored(text: str | None, armed: Armed | None) -> Stored:
    record, handled, outbox = _decode(text)
    return Stored(record, armed, handled, outbox)


class RedisConversationState:
    """Channels in Redis: :class:`~atlas.store.ConversationState` for several daemons.

    Without ``leases`` every write is unfenced: one daemon, or a tool. With them,
    :meth:`save` writes a sid only with the token of the lease this daemon holds
    for it, and raises :class:`Fenced` (writing nothing of the batch) when another
    daemon was granted the sid since; :class:`NotLeased` if it holds none.

    :meth:`save` waits for Redis (one round trip, which also renews the leases
    concerned): the daemon publishes what an event decided only after its state is
    written, so that a daemon taking over knows what was already sent.
    """

    def __init__(self, client: redis.Redis, *, keys: Keys | None = None,
                 leases: Leases | None = None) -> None:
        self.client = client
        self.keys = keys or (leases.keys if leases is not None else Keys())
        self.leases = leases
        self._write = client.register_script(WRITE_LUA)

    @classmethod
    def at(cls, address: RedisAddress, **options: Any) -> RedisConversationState:
        return cls(connect(address), **options)

    def load(self) -> dict[str, Stored]:
        sids = sorted(str(sid) for sid in self.client.smembers(self.keys.sids))
        if not sids:
            return {}
        with self.client.pipeline(transaction=True) as pipe:
            load_all(pipe, self.keys, sids)
            return loaded(sids, *pipe.execute())

    def load_sid(self, sid: str) -> Stored | None:
        """One sid as stored (for a daemon taking it over), ``None`` if unknown."""
        with self.client.pipeline(transaction=True) as pipe:
            load_one(pipe, self.keys, sid)
            return loaded_one(*pipe.execute())

    def save(self, batch: Batch) -> None:
        if not batch:
            return
        keys, args = write_call(self.keys, batch, self.leases)
        check_written(self._write(keys=keys, args=args), self.leases)

    def close(self) -> None:
        self.client.close()


# The steps of each call that need no connection, shared with the asyncio
# classes of redis_async.py.


def load_all(pipe: Any, keys: Keys, sids: list[str]) -> None:
    """Queue on ``pipe`` what :func:`loaded` reads."""
    pipe.mget([keys.conv(sid) for sid in sids])
    pipe.zrange(keys.deadlines, 0, -1, withscores=True)
    pipe.hgetall(keys.deadline_gen)


def _armed(generation: str | None, score: Any) -> Armed | None:
    """The armed deadline from the generation hash's value (``GEN|AT``: the due time
    as written) and the sorted set's score (which a claim moves, to hide it)."""
    if generation is None or score is None:
        return None
    number, _, at = str(generation).partition("|")
    return Armed(int(number), float(at) if at else float(score))


def loaded(sids: list[str], records: list[str | None], due: list[tuple[str, float]],
           generations: dict[str, str]) -> dict[str, Stored]:
    at = dict(due)
    return {sid: _stored(text, _armed(generations.get(sid), at.get(sid)))
            for sid, text in zip(sids, records, strict=True)}


def load_one(pipe: Any, keys: Keys, sid: str) -> None:
    """Queue on ``pipe`` what :func:`loaded_one` reads."""
    pipe.get(keys.conv(sid))
    pipe.zscore(keys.deadlines, sid)
    pipe.hget(keys.deadline_gen, sid)


def loaded_one(text: str | None, at: float | None, generation: str | None) -> Stored | None:
    if text is None:
        return None
    return _stored(text, _armed(generation, at))


class _Holder(Protocol):
    """What a write needs of the daemon's leases (sync or asyncio)."""

    owner: str
    lease_ms: int
    fence_ms: int
    held: dict[str, Lease]


def write_call(keys: Keys, batch: Batch, leases: _Holder | None
               ) -> tuple[list[str], list[Any]]:
    """The keys and arguments of the write script for ``batch``.

    With ``leases``, each sid is written with the token of the lease held for it
    (:class:`NotLeased` if none).
    """
    names = [keys.sids, keys.deadlines, keys.deadline_gen]
    args: list[Any] = [len(batch), leases.lease_ms if leases else LEASE_MS,
                       leases.fence_ms if leases else FENCE_MS]
    for sid, stored in batch.items():
        lease = None
        if leases is not None:
            lease = leases.held.get(sid)
            if lease is None:
                raise NotLeased(f"sid {sid}: no lease held by {leases.owner}")
        names += [keys.conv(sid), keys.fence(sid), keys.lease(sid)]
        deadline = stored.deadline if stored is not None else None
        tomb = stored is not None and stored.record is None   # written only with extras
        args += [sid, lease.token if lease else 0, lease.value if lease else "",
                 "del" if stored is None else "tomb" if tomb else "put",
                 "" if stored is None else _encode(stored),
                 "" if deadline is None else f"{deadline.generation}|{deadline.at!r}",
                 TOMBSTONE_MS if tomb else "" if deadline is None else repr(deadline.at)]
    return names, args


def check_written(reply: list[Any], leases: _Holder | None) -> None:
    """Raise :class:`Fenced` if the write script refused the batch (and forget the lease)."""
    if not reply:
        return
    sid = str(reply[0])
    stale = leases.held.pop(sid, None) if leases is not None else None
    raise Fenced(sid, stale.token if stale else 0)


# -- deadlines ------------------------------------------------------------------------

# KEYS: deadlines, deadline-gen. ARGV: now, at most, hold (seconds), the prefix of
# lease keys, the claimer ('' for anyone). With a claimer, a deadline whose sid is
# leased to another daemon is left to that daemon (it is the one that should fire it).
# Returns sid, generation, due time, … for each claimed deadline.
CLAIM_LUA = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'WITHSCORES',
                       'LIMIT', 0, 4 * tonumber(ARGV[2]))
local claimed = {}
local mine = ARGV[5] .. '|'
for i = 1, #due, 2 do
    local sid = due[i]
    local lease = ARGV[5] ~= '' and redis.call('GET', ARGV[4] .. sid)
    if not lease or string.sub(lease, 1, #mine) == mine then
        -- Hidden, not removed: the write that handles it removes or re-arms it; if
        -- the claimer dies first, it is due again once the hold is over.
        redis.call('ZADD', KEYS[1], 'XX', tonumber(ARGV[1]) + tonumber(ARGV[3]), sid)
        table.insert(claimed, sid)
        table.insert(claimed, redis.call('HGET', KEYS[2], sid) or '')
        table.insert(claimed, due[i + 1])
        if #claimed >= 3 * tonumber(ARGV[2]) then
            break
        end
    end
end
return claimed
"""


@dataclass(frozen=True)
class Claim:
    """A due deadline handed to this claimer: fire it (if still armed) for ``sid``.

    ``at`` is when it fell due, as written (a deadline armed later is another one).
    """

    sid: str
    generation: int
    at: float


def claim_args(keys: Keys, now: float | None, limit: int, hold: float,
               owner: str = "") -> list[Any]:
    return [repr(time.time() if now is None else now), limit, repr(hold),
            keys.lease(""), owner]


def claimed(flat: list[Any]) -> tuple[list[Claim], list[str]]:
    """The claims in the script's reply, and the sids whose deadline had no
    generation (never written so; dropped rather than fired blind)."""
    claims: list[Claim] = []
    broken: list[str] = []
    for i in range(0, len(flat), 3):
        sid, generation, score = flat[i:i + 3]
        armed = _armed(generation, score) if generation != "" else None
        if armed is None:
            log.warning("deadline of %s had no generation: dropped", sid)
            broken.append(str(sid))
        else:
            claims.append(Claim(str(sid), armed.generation, armed.at))
    return claims, broken


class Deadlines:
    """Every sid's armed deadline, in one sorted set, claimed by the live daemons.

    :meth:`RedisConversationState.save` arms and disarms them with the channel;
    any daemon polls :meth:`claim`, and each due deadline goes to one of them.
    """

    def __init__(self, client: redis.Redis, *, keys: Keys | None = None,
                 hold: float = CLAIM_HOLD) -> None:
        self.client = client
        self.keys = keys or Keys()
        self.hold = hold
        self._claim = client.register_script(CLAIM_LUA)

    def claim(self, now: float | None = None, limit: int = 100, *,
              owner: str = "") -> list[Claim]:
        """The deadlines due at ``now`` (default: the clock), at most ``limit``,
        each handed to this caller only (until ``hold`` passes unhandled).

        With ``owner``, those of sids leased to another owner are left alone.
        """
        flat = self._claim(keys=[self.keys.deadlines, self.keys.deadline_gen],
                           args=claim_args(self.keys, now, limit, self.hold, owner))
        claims, broken = claimed(flat)
        if broken:
            self.client.zrem(self.keys.deadlines, *broken)
        return claims

    def next_due(self) -> float | None:
        """When the earliest deadline falls due (to sleep until then), if any."""
        first = self.client.zrange(self.keys.deadlines, 0, 0, withscores=True)
        return float(first[0][1]) if first else None


# -- once per change ------------------------------------------------------------------

# KEYS: once. ARGV: digest. 1 if this caller is the first with this digest.
ONCE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1
"""


def digest(content: bytes | str) -> str:
    return hashlib.sha256(content.encode() if isinstance(content, str) else content).hexdigest()


class OncePerChange:
    """Of the daemons holding the same content, the first to ask publishes it.

    Each daemon computes the retained skills list from the pongs it heard; all of
    them hear the same pongs, so they compute the same list. :meth:`first` compares
    the content's hash with the last one published and sets it in one step: the
    daemon that gets True publishes, the others do not. (A daemon that dies
    between True and its publish leaves that change unpublished until the next.)
    """

    def __init__(self, client: redis.Redis, name: str, *, keys: Keys | None = None) -> None:
        self.client = client
        self.key = (keys or Keys()).once(name)
        self._once = client.register_script(ONCE_LUA)

    def first(self, content: bytes | str) -> bool:
        return bool(self._once(keys=[self.key], args=[digest(content)]))

    def forget(self) -> None:
        """Publish the next content whatever it is (say, after the broker lost it)."""
        self.client.delete(self.key)

