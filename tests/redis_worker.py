"""A process racing another over one Redis (tests/test_redis_state.py runs two).

    python tests/redis_worker.py count  PORT SID N   # N increments of SID's record
    python tests/redis_worker.py claim  PORT          # claim deadlines until none is left

Both wait for the test's "go" so that they really start together, and print what
they did, one line each.
"""

from __future__ import annotations

import sys
import time

import redis

from atlas.store import Stored
from atlas.store.redis_state import Deadlines, Leases, RedisConversationState


def count(client: redis.Redis, sid: str, times: int) -> None:
    """Read-modify-write SID's counter ``times`` times, each under the sid's lease."""
    leases = Leases(client, lease_ms=5000)
    state = RedisConversationState(client, leases=leases)
    done = 0
    while done < times:
        lease = leases.acquire(sid)
        if lease is None:
            time.sleep(0.0005)
            continue
        stored = state.load_sid(sid)
        record = stored.record if stored is not None and stored.record else {"n": 0, "by": []}
        record = {"n": record["n"] + 1, "by": [*record["by"], leases.owner]}
        state.save({sid: Stored(record)})
        leases.release(lease)
        done += 1
    print(leases.owner, flush=True)


def claim(client: redis.Redis) -> None:
    deadlines = Deadlines(client, hold=3600)
    while claims := deadlines.claim(limit=7):
        for one in claims:
            print(one.sid, one.generation)
    sys.stdout.flush()


def main() -> None:
    mode, port = sys.argv[1], int(sys.argv[2])
    client = redis.Redis(port=port, decode_responses=True)
    client.blpop(["go"], timeout=60)
    if mode == "count":
        count(client, sys.argv[3], int(sys.argv[4]))
    else:
        claim(client)


if __name__ == "__main__":
    main()
