"""What a skill's messages may cost the daemon: per sid and per skill, in messages and bytes.

Token buckets, checked as messages are read, before they take a turn in the inbox:
a burst goes through, a sustained flood past a rate is dropped there. Four budgets
hold together (:data:`LIMITS`): messages and payload bytes per second on one sid,
and the same summed over every sid of one skill, so that a skill flooding a
thousand users at once is held to what one skill may cost, not to a thousand times
what one sid may.

A message is the skill's when its ``__cid`` is the one of the conversation that
skill is running on that sid. The first of a conversation's messages refused
becomes :class:`~atlas.core.OverBudget`: the core ends that conversation (reason
``throttled``) and the operator is told (log, ``atlas skills``). Messages no
conversation claims (notifications, stale or forged cids) share one pool of the
per-skill size, under the name ``""``: they are dropped past it, and end nothing.

Users' own messages are not rate-limited here (a channel driven by a program
legitimately sends hundreds a second): the conversation core bounds their queue
and tells the user when it is full.
"""

from __future__ import annotations

import logging
from collections import Counter, OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..core import Channel, OverBudget
from ..protocol import Message

log = logging.getLogger("atlas.daemon")

#: Skills' messages per second and burst on one sid (show, ask, context, notify, terminate).
#: A program driving a channel as fast as it can gets legitimate answers at the
#: daemon's speed: about 1,600 a second since the transport work (two a turn, 1.2 ms
#: turns), and 1,000 a second ended the flood test's bystander as throttled. What a
#: skill may show in one conversation is bounded by the core (MAX_SHOWS) anyway.
SKILL_RATE, SKILL_BURST = 5000.0, 10000.0
#: Buckets kept before full ones (idle sids) are forgotten.
MAX_BUCKETS = 10_000
#: Seconds between two log lines about dropped messages.
LOG_EVERY = 1.0
#: Conversations already ended for their budget, remembered so each ends once.
MAX_ENDED = 10_000
#: The key of messages that no running conversation claims.
UNCLAIMED = ""

KIB = 1024.0


@dataclass(frozen=True)
class Limit:
    rate: float         # per second
    burst: float


@dataclass(frozen=True)
class Limits:
    sid_messages: Limit = Limit(SKILL_RATE, SKILL_BURST)
    #: Payloads are at most 1 MiB each; a show with a few image cards is hundreds of KiB.
    sid_bytes: Limit = Limit(1024 * KIB, 4096 * KIB)
    #: One skill over all its sids. A trivial skill answering 100 busy users sends
    #: about 5,000 a second in benchmarks/turns.py (2,500 turns a second): 2,000 a
    #: second throttled most of that benchmark's turns. The cap is what a flood may
    #: cost the daemon, which reads some 10,000-20,000 messages a second here.
    skill_messages: Limit = Limit(20_000.0, 40_000.0)
    skill_bytes: Limit = Limit(16384 * KIB, 65536 * KIB)


LIMITS = Limits()


@dataclass
class _Bucket:
    tokens: float
    at: float


class Budget:
    """``allow(key, now)``: whether one more message of ``key`` fits its budget."""

    def __init__(self, what: str, rate: float, burst: float) -> None:
        self.what, self.rate, self.burst = what, rate, burst
        self._buckets: dict[str, _Bucket] = {}
        self.dropped: Counter[str] = Counter()
        self._logged_at = -LOG_EVERY
        self._unlogged = 0

    def allow(self, key: str, now: float, cost: float = 1.0) -> bool:
        if self.fits(key, now, cost):
            self.spend(key, cost)
            return True
        self.refuse(key, now)
        return False

    def fits(self, key: str, now: float, cost: float = 1.0) -> bool:
        """Whether ``cost`` fits in ``key``'s bucket now (a cost above the burst fits a
        full bucket, so that one large message is never refused forever)."""
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + max(0.0, now - bucket.at) * self.rate)
        bucket.at = now
        return bucket.tokens >= min(cost, self.burst)

    def spend(self, key: str, cost: float = 1.0) -> None:
        self._buckets[key].tokens -= cost       # may go below zero: a debt paid in time

    def refuse(self, key: str, now: float) -> None:
        self.dropped[key] += 1
        self._unlogged += 1
        if now - self._logged_at >= LOG_EVERY:
            log.warning("%s of %s past %g/s: dropped %d message(s)", self.what,
                        key or "no conversation", self.rate, self._unlogged)
            self._logged_at, self._unlogged = now, 0

    def _forget_full(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items()
                    if b.tokens + (now - b.at) * self.rate >= self.burst]:
            del self._buckets[key]


def claimed_by(channels: Mapping[str, Channel], sid: str, cid: str | None) -> str | None:
    """The skill whose running conversation on ``sid`` has this ``__cid``, if any."""
    channel = channels.get(sid)
    conversation = channel.conversation if channel is not None else None
    if cid is None or conversation is None or conversation.cid != cid:
        return None
    return conversation.skill


@dataclass(frozen=True)
class _Check:
    budget: Budget
    per_sid: bool       # keyed by sid, else by skill
    in_bytes: bool      # costs the payload's size, else one
    why: str            # what the operator reads when it is exceeded


def _checks(limits: Limits) -> list[_Check]:
    def check(what: str, limit: Limit, per_sid: bool, in_bytes: bool) -> _Check:
        rate = f"{limit.rate / KIB:g} KiB" if in_bytes else f"{limit.rate:g} messages"
        where = "in a conversation" if per_sid else "over all its conversations"
        return _Check(Budget(what, limit.rate, limit.burst), per_sid, in_bytes,
                      f"more than {rate} a second {where}")

    return [check("skills' messages per sid", limits.sid_messages, True, False),
            check("skills' bytes per sid", limits.sid_bytes, True, True),
            check("messages of skill", limits.skill_messages, False, False),
            check("bytes of skill", limits.skill_bytes, False, True)]


class SkillBudgets:
    """Every budget of skills' messages, as the daemon's reader applies them."""

    def __init__(self, limits: Limits | None = None) -> None:
        self._checks = _checks(limits or LIMITS)
        self._ended: OrderedDict[str, None] = OrderedDict()

    def admit(self, message: object, channels: Mapping[str, Channel], now: float) -> list[Any]:
        """What to put in the sid's inbox for this skill's message: the message itself;
        or, the first time a conversation goes past a budget, an :class:`OverBudget`;
        or nothing."""
        sid, cid = getattr(message, "sid", None), getattr(message, "cid", None)
        if not isinstance(message, Message) or not isinstance(sid, str):
            return [message]        # nothing of a skill's: not for these budgets
        skill = claimed_by(channels, sid, cid)
        size = float(message.wire_size())
        costs = [(check, sid if check.per_sid else (skill or UNCLAIMED),
                  size if check.in_bytes else 1.0) for check in self._checks]
        for check, key, cost in costs:
            if not check.budget.fits(key, now, cost):
                check.budget.refuse(key, now)
                return self._over(sid, cid, check.why) if skill is not None else []
        for check, key, cost in costs:
            check.budget.spend(key, cost)
        return [message]

    def _over(self, sid: str, cid: str | None, why: str) -> list[Any]:
        if cid is None or cid in self._ended:
            return []
        self._ended[cid] = None
        if len(self._ended) > MAX_ENDED:
            self._ended.popitem(last=False)
        return [OverBudget(sid, cid, why)]
