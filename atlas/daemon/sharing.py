"""Who handles which sid, and the write before publishing: one daemon, or several.

The daemon's loop takes a batch of events from its inbox, asks its keeping which
of them to handle (:meth:`admit`), hands those to the core, then asks it to write
what changed (:meth:`commit`) before it publishes the batch's messages.

- :class:`LocalKeeping`: one daemon. Every sid is its own; changes go to the
  :class:`~atlas.store.ConversationState` (SQLite) and are never refused.
- :class:`SharedKeeping`: several daemons on one Redis (``state: redis://…``),
  as docs/architecture.md "Scaling out" describes. Every daemon hears every
  message; the one holding a sid's lease handles it. A sid not held is grabbed
  (lease and record in one round trip); a sid another daemon holds is only heard,
  and its messages kept (:mod:`atlas.daemon.hearing`) until that daemon's lease
  runs out, so that, if it died, what it did not handle is handled here. Writes
  carry the lease's fencing token: a daemon that lost a sid has its write refused
  and publishes nothing about it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import redis

from ..config import RedisAddress
from ..core import Publish
from ..protocol import DaemonSent, Message
from ..store import Outbox, Stored
from ..store.redis_async import (
    AsyncDeadlines,
    AsyncLeases,
    AsyncOncePerChange,
    AsyncRedisState,
    connect,
)
from ..store.redis_state import Busy, Claim, Fenced, Grab, Granted, Keys, NotLeased
from .conversations import Conversations
from .hearing import Hearing, digest, handled_tail, kind_of
from .inbox import FairInbox

log = logging.getLogger("atlas.daemon")

#: Seconds of a lease this daemon does not count on (the time a round trip takes,
#: and the clocks of two machines measuring the same lease).
MARGIN = 1.0
#: Seconds a sid stays in memory once its lease is no longer counted on.
EVICT_AFTER = 60.0
#: Seconds between two claims of due deadlines.
CLAIM_EVERY = 0.1
#: Seconds a published write may wait for a batch to tell Redis about it.
CONFIRM_EVERY = 0.1
#: Seconds between two looks for sids whose writer died before publishing.
ORPHANS_EVERY = 1.0
#: Seconds a daemon just started leaves sids with unsent messages it cannot judge
#: (it was not listening when they were written) to daemons that were.
GRACE = 15.0
#: Seconds the sent marks of other daemons are remembered.
MARKS_KEPT = 60.0
#: Seconds between two attempts to reach Redis when it is away.
REDIS_RETRY = 0.5


class Keeping(Protocol):
    async def admit(self, items: list[Any]) -> list[Any]:
        """Of a batch taken from the inbox, what this daemon is to handle, in order."""
        ...

    async def commit(self, publishes: list[Publish]) -> set[str]:
        """Write what the handled events changed, and what they publish; the sids
        refused (publish nothing about them)."""
        ...

    def unsent(self) -> list[tuple[str, str]]:
        """Messages of sids taken over that their last holder may not have published:
        to publish now, before the batch's own."""
        ...

    def published(self) -> Message | None:
        """The batch's messages (and the unsent ones) are published: what to publish
        after them, in the same flush, to say so."""
        ...

    def flushed(self) -> None:
        """Everything published so far is with the kernel (it reaches the broker even
        if this process dies now)."""
        ...

    async def first_to_publish(self, message: Message) -> bool:
        """Whether this daemon publishes ``message`` (a retained list all compute)."""
        ...


class LocalKeeping:
    """One daemon: it handles everything, and its writes are never refused."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations

    async def admit(self, items: list[Any]) -> list[Any]:
        return items

    async def commit(self, publishes: list[Publish]) -> set[str]:
        self.conversations.save(self.conversations.take_dirty())
        return set()

    def unsent(self) -> list[tuple[str, str]]:
        return []

    def published(self) -> Message | None:
        return None

    def flushed(self) -> None:
        pass

    async def first_to_publish(self, message: Message) -> bool:
        return True


@dataclass(frozen=True)
class Retry:
    """Try to take ``sid`` again: the lease of the daemon that held it ran out."""

    sid: str


def sid_of(item: Any) -> str | None:
    sid = getattr(item, "sid", None)
    return sid if isinstance(sid, str) and sid else None


class SharedKeeping:
    """Several daemons sharing the sids through leases in Redis (see the module)."""

    def __init__(self, conversations: Conversations, inbox: FairInbox[Any],
                 leases: AsyncLeases, state: AsyncRedisState, deadlines: AsyncDeadlines,
                 skills_list: AsyncOncePerChange) -> None:
        self.conversations = conversations
        self.inbox = inbox
        self.leases = leases
        self.state = state
        self.deadlines = deadlines
        self.skills_list = skills_list
        self.hearing = Hearing()
        #: Held sids: until when (monotonic) this daemon counts on its lease.
        self.until: dict[str, float] = {}
        #: Held sids' handled digests, per kind (written with their records).
        self.handled: dict[str, dict[str, list[str]]] = {}
        #: Sids another daemon holds: until when (monotonic), and a retry armed then.
        self.busy: dict[str, float] = {}
        self._retries: dict[str, asyncio.TimerHandle] = {}
        self._touched: set[str] = set()
        #: Per held sid, the number of its last write (see Outbox).
        self.seq: dict[str, int] = {}
        #: Writes whose messages are about to leave, and messages taken over unsent.
        self._sending: dict[str, int] = {}
        self._unsent: list[tuple[str, str]] = []
        #: Published writes not yet with the kernel; with it but not told to Redis,
        #: and since when (monotonic).
        self._flushing: dict[str, int] = {}
        self._sent: dict[str, int] = {}
        self._sent_since = 0.0
        #: The last write each sid's holder said it published (DaemonSent), and when
        #: that was heard (monotonic).
        self.marks: dict[str, tuple[int, float]] = {}
        #: Since when this daemon hears every message (set once subscribed).
        self.listening_since = time.time()
        #: The start time every daemon sharing the sids tells in its pings (the
        #: first one's): bridges re-create their channels when it changes.
        self.started_at = ""
        self.taken_over = 0
        self.replayed = 0

    @property
    def owner(self) -> str:
        return self.leases.owner

    async def admit(self, items: list[Any]) -> list[Any]:
        now = time.monotonic()
        heard = [self._hear(item, now) for item in items]
        # A sid another daemon holds is not asked for again before its lease ends (a
        # retry comes then); a claimed deadline or a retry always asks.
        wanted = list(dict.fromkeys(
            sid for _, sid, note in heard
            if sid is not None and self.until.get(sid, 0.0) <= now
            and (note is None or self.busy.get(sid, 0.0) <= now)))
        grabs = await self._redis(lambda: self.leases.grab(wanted), "take sids")
        taken, busy = await self._sort(grabs, now)
        self._keep(heard, taken, busy, now)
        return self._admitted(heard, taken)

    def _hear(self, item: Any, now: float) -> tuple[Any, str | None, tuple[str, int, str] | None]:
        """``item``, its sid, and for a message its kind, position and digest."""
        sid = sid_of(item)
        note = self.hearing.note(sid, item, now) \
            if sid is not None and isinstance(item, Message) else None
        return item, sid, note

    async def _sort(self, grabs: dict[str, Grab], now: float
                    ) -> tuple[set[str], dict[str, Busy]]:
        """Take in what Redis answered: the sids newly taken, and those held elsewhere."""
        taken: set[str] = set()
        busy: dict[str, Busy] = {}
        for sid, grab in grabs.items():
            if isinstance(grab, Busy):
                self._forget(sid)
                busy[sid] = grab
                self.busy[sid] = now + grab.left
                log.debug("%s is busy for %.2fs", sid, grab.left)
            elif isinstance(grab, Granted) and not self._judge(grab):
                # Another daemon can tell whether these were sent: let it take the sid.
                await self._redis(lambda lease=grab.lease: self.leases.release(lease),
                                  "give a sid up")
                self._forget(sid)
                busy[sid] = Busy(1.0, None, grab.unsent)
            else:
                self.until[sid] = now + self.leases.lease_ms / 1000 - MARGIN
                if isinstance(grab, Granted):
                    self._take(sid, grab)
                    taken.add(sid)
        return taken, busy

    def _keep(self, heard: list[tuple[Any, str | None, tuple[str, int, str] | None]],
              taken: set[str], busy: dict[str, Busy], now: float) -> None:
        """Keep the messages of sids held elsewhere (and of those just taken, to line
        them up with the record), and look again when each holder's lease ends."""
        for item, sid, note in heard:
            if note is not None and sid is not None and (sid not in self.until or sid in taken):
                self.hearing.keep(sid, note[0], note[1], item)
        for sid, grab in busy.items():
            # What the holder already handled need not wait for its lease to end.
            self.hearing.prune(sid, grab.handled)
            if self.hearing.keeping(sid) or grab.unsent is not None:
                self._retry(sid, grab.left)
        for _, sid, note in heard:
            if note is not None and sid is not None and sid not in self.until \
                    and sid not in busy:
                self._retry(sid, max(0.0, self.busy.get(sid, now) - now))

    def _admitted(self, heard: list[tuple[Any, str | None, tuple[str, int, str] | None]],
                  taken: set[str]) -> list[Any]:
        admitted: list[Any] = []
        replayed: set[str] = set()
        for item, sid, note in heard:
            if sid is None:
                admitted.append(item)   # a skill gone: the core ends what this daemon holds
            elif sid not in self.until:
                continue                # kept
            elif sid in taken:
                if sid not in replayed:   # this batch's items of the sid come with it
                    replayed.add(sid)
                    admitted += self._replay(sid)
                if note is None and not isinstance(item, Retry):
                    admitted.append(item)       # a deadline claimed
            elif not isinstance(item, Retry):
                if note is not None:
                    self._handled(sid, note[0], note[2])
                admitted.append(item)
        return admitted

    def _take(self, sid: str, grab: Granted) -> None:
        stored = grab.stored
        log.debug("took %s (token %d), deadline %s", sid, grab.lease.token,
                  stored.deadline if stored is not None else None)
        self.conversations.load(sid, stored)
        self.handled[sid] = dict(stored.handled or {}) if stored is not None else {}
        self.seq[sid] = stored.outbox.seq if stored is not None and stored.outbox else 0
        unsent = grab.unsent
        if unsent is not None and self.marks.get(sid, (0, 0.0))[0] < unsent.seq:
            # Its holder wrote them and died before saying they left, to Redis or to
            # this daemon: they did not reach the broker. They leave now, and the
            # deadline they armed counts from now (a skill cannot answer a request
            # before it has it).
            log.info("publishing %d message(s) of %s its last holder had not sent",
                     len(unsent.messages), sid)
            self._unsent += unsent.messages
            self._sending[sid] = unsent.seq
            self.conversations.postpone(sid, time.time() - unsent.at)
        elif stored is not None and stored.outbox is not None and stored.outbox.messages:
            self._sent[sid] = stored.outbox.seq     # they did leave: say so, for good
            self._sent_since = self._sent_since or time.monotonic()
        self.busy.pop(sid, None)
        retry = self._retries.pop(sid, None)
        if retry is not None:
            retry.cancel()

    def _judge(self, grab: Granted) -> bool:
        """Whether this daemon can tell if ``grab``'s unsent messages left: it heard
        every sent mark since they were written, or no better-placed daemon came."""
        unsent = grab.unsent
        return (unsent is None or unsent.at > self.listening_since + MARGIN
                or self.marks.get(grab.lease.sid, (0, 0.0))[0] >= unsent.seq
                or time.time() - self.listening_since > GRACE)

    def heard_sent(self, sent: DaemonSent) -> None:
        now = time.monotonic()
        for sid, seq in sent.sids.items():
            if seq > self.marks.get(sid, (0, 0.0))[0]:
                self.marks[sid] = (seq, now)

    def _replay(self, sid: str) -> list[Any]:
        """What the last holder of ``sid`` did not handle, now this daemon's to handle."""
        kept = self.hearing.keeping(sid)
        items = self.hearing.take_over(sid, self.handled.get(sid))
        if kept:
            self.taken_over += 1
            log.debug("took %s over: replaying %s", sid, items)
        for item in items:
            if isinstance(item, Message):
                self._handled(sid, kind_of(item), digest(item))
        self.replayed += len(items)
        return items

    def _handled(self, sid: str, kind: str, mark: str) -> None:
        tails = self.handled.setdefault(sid, {})
        tails[kind] = handled_tail(tails.get(kind), mark)
        self._touched.add(sid)

    def _retry(self, sid: str, after: float) -> None:
        if sid in self._retries:
            return
        loop = asyncio.get_running_loop()

        def due() -> None:
            self._retries.pop(sid, None)
            self.inbox.put(sid, Retry(sid))

        self._retries[sid] = loop.call_later(after + 0.05, due)

    def _forget(self, sid: str) -> None:
        self.until.pop(sid, None)
        self.handled.pop(sid, None)
        self.seq.pop(sid, None)
        self.leases.held.pop(sid, None)
        self.conversations.forget(sid)

    async def commit(self, publishes: list[Publish]) -> set[str]:
        outboxes: dict[str, list[tuple[str, str]]] = {}
        for effect in publishes:
            if (sid := sid_of(effect.message)) is not None:
                try:
                    pair = (effect.message.topic(), effect.message.to_payload().decode())
                except Exception:  # publishing reports it
                    continue
                outboxes.setdefault(sid, []).append(pair)
        sids = ((self.conversations.take_dirty() | self._touched | outboxes.keys())
                & self.until.keys())
        self._touched.clear()
        refused: set[str] = set()
        while sids:
            batch = {}
            for sid in sids:
                stored = self.conversations.stored(sid)
                handled = self.handled.get(sid) or None
                # A write that publishes nothing keeps the number, so that numbers
                # only grow across holders (the sent marks compare them).
                outbox = Outbox(self.seq.get(sid, 0) + 1, tuple(outboxes[sid]), time.time()) \
                    if sid in outboxes else Outbox(self.seq[sid]) if self.seq.get(sid) else None
                batch[sid] = (Stored(stored.record, stored.deadline, handled, outbox)
                              if stored is not None else self._tombstone(handled, outbox))
            started = time.monotonic()
            sent, self._sent, self._sent_since = self._sent, {}, 0.0
            try:
                await self._redis(lambda batch=batch, sent=sent: self.state.save(batch, sent=sent),
                                  "write the sids")
            except (Fenced, NotLeased) as error:
                self._sent.update(sent)     # not written: said with the next attempt
                stale = error.sid if isinstance(error, Fenced) else next(
                    (s for s in sids if s not in self.leases.held), None)
                if stale is None:
                    raise
                log.info("sid %s was taken over by another daemon: its last event "
                         "here is dropped", stale)
                self._forget(stale)
                refused.add(stale)
                sids.discard(stale)
                continue
            until = started + self.leases.lease_ms / 1000 - MARGIN
            for sid, stored_now in batch.items():
                self.until[sid] = until
                if stored_now is not None and stored_now.outbox is not None \
                        and stored_now.outbox.messages:
                    self.seq[sid] = stored_now.outbox.seq
                    self._sending[sid] = stored_now.outbox.seq
            break
        return refused

    def unsent(self) -> list[tuple[str, str]]:
        unsent, self._unsent = self._unsent, []
        return unsent

    def published(self) -> Message | None:
        if not self._sending:
            return None
        sending, self._sending = self._sending, {}
        # Said to the other daemons in the flush that carries the messages, so one
        # that hears it knows they reached the broker; said to Redis (for a daemon
        # that was not listening) once the flush is whole, with the next write or
        # within CONFIRM_EVERY.
        self._flushing.update(sending)
        return DaemonSent(self.owner, sending)

    def flushed(self) -> None:
        if self._flushing:
            self._sent.update(self._flushing)
            self._flushing.clear()
            self._sent_since = self._sent_since or time.monotonic()

    async def confirm(self, now: float) -> None:
        """Tell Redis about published writes no batch has carried for a while."""
        if self._sent and now - self._sent_since >= CONFIRM_EVERY:
            sent, self._sent, self._sent_since = self._sent, {}, 0.0
            await self._redis(lambda: self.state.save({}, sent=sent), "note what was sent")

    @staticmethod
    def _tombstone(handled: dict[str, list[str]] | None, outbox: Outbox | None
                   ) -> Stored | None:
        # A sid without a channel (destroyed, or never created): what was handled and
        # sent is still written, so that a daemon taking it over does neither again.
        return Stored(None, None, handled, outbox) if handled or outbox else None

    async def first_to_publish(self, message: Message) -> bool:
        return bool(await self._redis(lambda: self.skills_list.first(repr(message)),
                                      "compare the skills list"))

    async def orphans(self) -> list[str]:
        """Sids whose last write's messages are still not said to be published a lease
        after it: their writer died before publishing them, or before saying so.
        Whoever takes them finds out which (:meth:`_take`)."""
        before = time.time() - self.leases.lease_ms / 1000 - MARGIN
        sids = await self._redis(lambda: self.state.unsent_since(before), "look for orphans")
        return [sid for sid in sids if sid not in self.until]

    async def claim(self) -> list[Claim]:
        """The due deadlines this daemon is to fire (held here, or held by no one)."""
        return await self._redis(lambda: self.deadlines.claim(owner=self.owner),
                                 "claim deadlines")

    def sweep(self, now: float) -> None:
        """Forget sids whose lease has not been counted on for a while, and idle ears."""
        for sid, until in list(self.until.items()):
            if until + EVICT_AFTER < now:
                self._forget(sid)
        for sid, (_, heard) in list(self.marks.items()):
            if heard + MARKS_KEPT < now:
                del self.marks[sid]
        for sid, until in list(self.busy.items()):
            if until < now:
                del self.busy[sid]
        self.hearing.forget_idle(now - EVICT_AFTER)

    async def _redis(self, call: Any, what: str) -> Any:
        """Run ``call`` until Redis answers: while it is away nothing is handled here,
        and the events wait in the inbox (and at the broker)."""
        logged = False
        while True:
            try:
                return await call()
            except (redis.ConnectionError, redis.TimeoutError) as error:
                if not logged:
                    log.error("Redis is unreachable (%s): waiting to %s", error, what)
                    logged = True
                await asyncio.sleep(REDIS_RETRY)


@contextlib.asynccontextmanager
async def shared(address: RedisAddress, conversations: Conversations, inbox: FairInbox[Any],
                 *, keys: Keys | None = None) -> AsyncIterator[SharedKeeping]:
    """A :class:`SharedKeeping` on the Redis at ``address``; on the way out, this
    daemon's leases are given up, so that other daemons take its sids at once."""
    keys = keys or Keys()
    client = connect(address)
    leases = AsyncLeases(client, keys=keys)
    keeping = SharedKeeping(conversations, inbox, leases,
                            AsyncRedisState(client, leases=leases),
                            AsyncDeadlines(client, keys=keys),
                            AsyncOncePerChange(client, "skills", keys=keys))
    try:
        keeping.started_at = await keeping._redis(lambda: _started_at(client, keys),
                                                  "read the start time")
        yield keeping
    finally:
        with contextlib.suppress(redis.RedisError, OSError, TimeoutError):
            async with asyncio.timeout(2):
                for lease in list(leases.held.values()):
                    await leases.release(lease)
        await client.aclose()


async def _started_at(client: Any, keys: Keys) -> str:
    key = f"{keys.prefix}:started-at"
    now = datetime.now(UTC).replace(tzinfo=None).isoformat()
    await client.set(key, now, nx=True)
    return str(await client.get(key))
