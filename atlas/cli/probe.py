"""Asking the broker which skills are live: the logic behind ``atlas skills``."""

from __future__ import annotations

import contextlib
import logging
import time

from .. import __version__
from ..protocol import Ping, Pong, SkillPong, Skills, SkillSummary
from ..protocol.discovery import with_daemon_view
from ..transport import Session

log = logging.getLogger(__name__)

#: How long to wait for the daemon's retained skills list before pinging.
RETAINED_WAIT = 0.3


async def live_skills(session: Session, wait: float) -> list[SkillSummary]:
    """The skills that answered a ping, by name (see :func:`probe`)."""
    return (await probe(session, wait))[0]


async def probe(session: Session, wait: float) -> tuple[list[SkillSummary], Skills | None]:
    """Ping, then collect pongs for ``wait`` seconds: the skills that answered, by name,
    and the daemon's retained skills list (which names the skills it throttled).

    The ping repeats the daemon's ``version`` and ``started_at`` (read from its
    retained skills list) so that channels watching pings for a daemon restart,
    like the web bridge, do not mistake this probe for one.
    """
    await session.subscribe(Skills, Pong, SkillPong)
    heard: dict[str, SkillSummary] = {}
    daemon: Skills | None = None
    deadline = time.monotonic() + RETAINED_WAIT
    pinged = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            if pinged:
                break
            ping = Ping(daemon.version, daemon.started_at) if daemon else Ping(__version__, "")
            session.publish(ping)
            pinged = True
            deadline = time.monotonic() + wait
            continue
        message = None
        with contextlib.suppress(TimeoutError):
            message = await session.next(left)
        if isinstance(message, Skills):
            daemon = message
        elif isinstance(message, Pong):
            heard[message.name] = SkillSummary.of(message)
    return [with_daemon_view(heard[name], daemon) for name in sorted(heard)], daemon
