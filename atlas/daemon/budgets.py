"""Skills' messages per second per sid: what a flooding skill may cost the daemon.

A token bucket per sid for what skills send there: a burst goes through, a
sustained flood past the rate is dropped as it is read, before it takes a turn in
the inbox. Users' own messages are not rate-limited here (a channel driven by a
program legitimately sends hundreds a second): the conversation core bounds their
queue and tells the user when it is full.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

log = logging.getLogger("atlas.daemon")

#: Skills' messages per second and burst on one sid (show, ask, context, notify, terminate).
#: A program driving a channel as fast as it can gets a few hundred a second of
#: legitimate answers (benchmarks/roundtrip.py); 100 a second dropped them.
SKILL_RATE, SKILL_BURST = 1000.0, 2000.0
#: Buckets kept before full ones (idle sids) are forgotten.
MAX_BUCKETS = 10_000
#: Seconds between two log lines about dropped messages.
LOG_EVERY = 1.0


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

    def allow(self, key: str, now: float) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._forget_full(now)
            bucket = self._buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return True
        self.dropped[key] += 1
        self._unlogged += 1
        if now - self._logged_at >= LOG_EVERY:
            log.warning("%s on sid %s past %g/s: dropped %d message(s)", self.what, key,
                        self.rate, self._unlogged)
            self._logged_at, self._unlogged = now, 0
        return False

    def _forget_full(self, now: float) -> None:
        for key in [k for k, b in self._buckets.items()
                    if b.tokens + (now - b.at) * self.rate >= self.burst]:
            del self._buckets[key]
