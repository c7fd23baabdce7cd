"""What writing conversations through to the store costs per event.

Drives the daemon's conversation shell (no broker) through turns of a question
and its answer, with the SQLite state and without, and prints the time per
event. The round trip (benchmarks/roundtrip.py) is milliseconds; this is the
part of it the store adds.

    python benchmarks/durable_state.py [--turns 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from core.helpers import make_world

from atlas.config import Config
from atlas.daemon.conversations import Conversations
from atlas.daemon.inbox import FairInbox
from atlas.protocol import ChannelCreate, DialogAsk, DialogParse, DialogTerminate
from atlas.store import ConversationState, SqliteConversationState, Store


async def per_event(turns: int, state: ConversationState | None, folder: Path) -> list[float]:
    """Seconds per event through the daemon's shell, writing through to ``state``."""
    shell = Conversations(Config(data_dir=folder), Store.in_data_dir(folder), FairInbox(), state)
    world = make_world()
    timings: list[float] = []

    def feed(message: object) -> None:
        started = time.perf_counter()
        event = shell.event_for(message)  # type: ignore[arg-type]
        if event is not None:
            shell.apply(event, world)
        shell.save(shell.take_dirty())   # as the daemon does after each batch
        timings.append(time.perf_counter() - started)

    feed(ChannelCreate("s1", "alice"))
    for _ in range(turns):
        feed(DialogParse("s1", "set a timer"))
        cid = shell.channels["s1"].conversation.cid  # type: ignore[union-attr]
        feed(DialogAsk("s1", cid, "How long?", slot="duration"))
        feed(DialogParse("s1", "10 minutes"))
        feed(DialogTerminate("s1", cid))
    shell.close()
    return timings[1:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=2000)
    args = parser.parse_args()
    for durable in (False, True, False, True):
        folder = Path(tempfile.mkdtemp())
        us = sorted(t * 1e6 for t in asyncio.run(per_event(
            args.turns, SqliteConversationState.in_data_dir(folder) if durable else None, folder)))
        print(f"{'sqlite' if durable else 'memory':7s} n={len(us)}  "
              f"p50 {statistics.median(us):6.1f} us  p99 {us[int(0.99 * len(us))]:7.1f} us")


if __name__ == "__main__":
    main()
