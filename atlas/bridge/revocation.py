"""Sockets of users who were removed, or whose tokens were revoked, close at once.

A socket is checked when it signs in; afterwards the user may be removed (``atlas
users remove``) or signed out everywhere (``atlas users passwd``, a revoked refresh
token). A change made in this process (the bridge's API, a command run in-process)
wakes the bridge at once (:mod:`atlas.store.access`); for changes made by other
processes it also looks at the store every second for the users it has sockets
for. Either way it closes what is no longer allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from ..store import Store, access
from .link import Hub, Listener
from .messages import INVALID_TOKEN, Close
from .tokens import Tokens

log = logging.getLogger(__name__)

#: Seconds between two looks at the store.
EVERY = 1.0

USER_REMOVED = INVALID_TOKEN.because("user removed")
TOKEN_REVOKED = INVALID_TOKEN.because("token revoked")


def sweep(hub: Hub, store: Store, tokens: Tokens) -> int:
    """Close the sockets no longer allowed; how many were closed.

    Only sockets signed in with a token are users' (they carry its family); bots'
    guests have sessions of their own, with their own expiry.
    """
    listeners = [each for each in hub.listeners() if each.family]
    if not listeners:
        return 0
    gone = {uid for uid in {each.uid for each in listeners} if store.user(uid) is None}
    revoked = tokens.revoked({each.family for each in listeners})
    ended = 0
    for each in listeners:
        reason = _reason(each, gone, revoked)
        if reason is not None:
            each.end(reason)
            ended += 1
    if ended:
        log.info("closed %d socket(s) of removed users or revoked tokens", ended)
    return ended


def _reason(listener: Listener, gone: set[str], revoked: set[str]) -> Close | None:
    if listener.uid in gone:
        return USER_REMOVED
    if listener.family in revoked:
        return TOKEN_REVOKED
    return None


async def watch(hub: Hub, store: Store, tokens: Tokens, every: float | None = None) -> None:
    """Sweep whenever this process ends someone's access, and every ``every`` seconds
    (:data:`EVERY`) for the others."""
    loop = asyncio.get_running_loop()
    woken = asyncio.Event()

    def wake(_uid: str) -> None:
        loop.call_soon_threadsafe(woken.set)

    stop = access.watch(store.path, wake)
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(woken.wait(), EVERY if every is None else every)
            woken.clear()
            try:
                sweep(hub, store, tokens)
            except Exception:  # a locked store now and then: try again next time
                log.exception("could not check the sockets' users")
    finally:
        stop()
