"""Guests of bots: the anonymous end users of chat widgets (AIDA and MCC clients).

A bot (``atlas bots add``) has an id, a token and a language; each end user behind it
is a guest session, persisted in the store, with the uid ``NAME/<session>`` and a sid
derived from the bot and the session, never chosen by the client. The dialects
(:mod:`.phoenix`, :mod:`.mcc`) go through :class:`Guests` for everything: which bot a
token opens, which sessions a bot has, the bounds on them, and the channel of each.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

from atlas.config import Bots as Bounds
from atlas.protocol import valid_level
from atlas.store import Bot, GuestSession, Store

from .guard import RateLimiter
from .link import Link, Listener
from .messages import Close

log = logging.getLogger(__name__)


class GuestError(Exception):
    """Something a guest may not do; the message is what the client is told."""


class TooFast(GuestError):
    """A message past the session's rate (``bots.rate``) or its bot's (``bots.bot_rate``);
    the dialects count them (:class:`~.guard.Refusals`) and close with ``refusal``."""

    def __init__(self, refusal: Close) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def sid_of(bot: Bot, session_id: str) -> str:
    """The channel of one guest session: a hash, so no id a client sends names another's."""
    digest = hashlib.sha256(f"{bot.id}\x00{session_id}".encode()).hexdigest()[:24]
    sid = f"guest-{digest}"
    assert valid_level(sid)
    return sid


class Guests:
    """Bots' sessions and their channels, over the store and the bridge's link."""

    def __init__(self, store: Store, link: Link, bounds: Bounds, *, turn_timeout: float = 10.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.link = link
        self.bounds = bounds
        #: How long a skill may take (the daemon's ``skill_timeout``): a turn ends by then.
        self.turn_timeout = turn_timeout
        self.clock = clock
        self.limiter = RateLimiter.per_second(bounds.rate)
        #: All of a bot's sessions together: a script opening many of them (an open
        #: bot lets anyone) does not multiply the rate by the sessions it holds.
        self.bot_limiter = RateLimiter.per_second(
            bounds.bot_rate, "for all of this bot's guests") if bounds.bot_rate > 0 else None
        self._last_expiry = 0.0

    # bots

    def bot(self, bot_id: str) -> Bot | None:
        return self.store.bot_by_id(bot_id)

    async def authorize(self, bot_id: str, token: str | None) -> Bot | None:
        """The bot this token opens; an open bot needs none (``None`` otherwise)."""
        if not isinstance(bot_id, str) or len(bot_id) > 64:
            return None
        if token:
            # argon2 takes tens of milliseconds: off the event loop.
            bot = await run_in_threadpool(self.store.verify_bot_token, bot_id, token)
            if bot is not None:
                return bot
        bot = self.store.bot_by_id(bot_id)
        return bot if bot is not None and bot.open and not token else None

    # sessions

    async def new_session(self, bot: Bot, data: dict[str, Any] | None = None,
                          owner: str = "") -> GuestSession:
        self._check_bot_rate(bot, time.monotonic())
        await self.expire()
        now, limit = self.clock(), self.bounds.sessions
        session = self.store.add_guest_session(bot.name, owner, data or {}, now, limit=limit)
        reclaim = self.bounds.reclaim_after
        if session is None and reclaim > 0:
            # Full: the session idle longest gives way, if idle long enough. Sessions
            # opened and left (a script filling an open bot) then keep new guests out
            # for an hour, not for the expiry's days.
            old = self.store.reclaim_guest_session(bot.name, now - reclaim)
            if old is not None:
                log.info("bot %s: session %s, idle longest, gave way to a new one",
                         bot.name, old.id)
                await self._close(bot, old)
                session = self.store.add_guest_session(bot.name, owner, data or {}, now,
                                                       limit=limit)
        if session is None:
            raise GuestError(f"this bot has {limit} sessions already" + (
                f", all active in the last {_span(reclaim)}" if reclaim > 0 else ""))
        log.info("bot %s: new session %s", bot.name, session.id)
        return session

    def session(self, bot: Bot, session_id: Any) -> GuestSession:
        """A session of this bot, or GuestError: another bot's ids are unknown here."""
        if not isinstance(session_id, str) or not session_id or len(session_id) > 64:
            raise GuestError("a 'session' id string is required")
        session = self.store.guest_session(bot.name, session_id)
        if session is None:
            raise GuestError("unknown session")
        return session

    def check_rate(self, bot: Bot, session: GuestSession) -> None:
        now = time.monotonic()
        if not self.limiter.allow(session.id, now):
            raise TooFast(self.limiter.refusal)
        self._check_bot_rate(bot, now)

    def _check_bot_rate(self, bot: Bot, now: float) -> None:
        if self.bot_limiter is not None and not self.bot_limiter.allow(bot.id, now):
            raise TooFast(self.bot_limiter.refusal)

    def sid(self, bot: Bot, session: GuestSession) -> str:
        return sid_of(bot, session.id)

    async def listen(self, bot: Bot, session: GuestSession, family: str = "") -> Listener:
        """A mailbox on the session's channel; attach before opening, so that nothing
        said right after the channel is created (a welcome) is missed.

        A resumed session goes on silently: what was pending is not said again (the
        chat widgets keep their own history).
        """
        sid = self.sid(bot, session)
        listener, _ = await self.link.hub.join(sid, session.uid, family)
        return listener

    async def open(self, bot: Bot, session: GuestSession, *, welcome: bool = False) -> str:
        """Create (or re-attach to) the session's channel, with its session data."""
        await self.expire()
        self.store.touch_guest_session(session.id, self.clock())
        return await self.link.open(self.sid(bot, session), session.uid, session=session.data,
                                    welcome=welcome)

    async def say(self, bot: Bot, session: GuestSession, text: str) -> None:
        self.check_rate(bot, session)
        self.store.touch_guest_session(session.id, self.clock())
        await self.link.say(self.sid(bot, session), text)

    async def give(self, bot: Bot, session: GuestSession, data: dict[str, Any]) -> None:
        self.check_rate(bot, session)
        self.store.touch_guest_session(session.id, self.clock())
        await self.link.give(self.sid(bot, session), data)

    async def put_data(self, bot: Bot, session: GuestSession, data: dict[str, Any]) -> None:
        self.check_rate(bot, session)
        self.store.touch_guest_session(session.id, self.clock(), data)
        await self.link.put_session(self.sid(bot, session), data)

    async def delete(self, bot: Bot, session: GuestSession) -> None:
        """Everything about the session goes: conversation, data, images; its id is refused."""
        self.store.delete_guest_session(session.id)
        log.info("bot %s: session %s deleted", bot.name, session.id)
        await self._close(bot, session)

    async def _close(self, bot: Bot, session: GuestSession) -> None:
        """What outlives a deleted session: its rate's bucket, its channel."""
        self.limiter.forget(session.id)
        await self.link.close(self.sid(bot, session))

    async def expire(self) -> None:
        """Delete the sessions idle for longer than the configured time (at most once a minute)."""
        now = self.clock()
        if now - self._last_expiry < 60:
            return
        self._last_expiry = now
        gone = self.store.expire_guest_sessions(now - self.bounds.expiry_days * 86400)
        for session in gone:
            bot = self.store.bot(session.bot)
            if bot is None:
                continue
            try:
                await self.link.close(sid_of(bot, session.id))
            except Exception as error:  # the daemon forgets it on its own anyway
                log.info("could not close the channel of expired session %s: %s",
                         session.id, error)
        if gone:
            log.info("%d idle guest session(s) expired", len(gone))


def _span(seconds: float) -> str:
    """``3600`` as "hour", ``120`` as "2 minutes": for what a guest is told."""
    for unit, size in (("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds / size
            return unit if count == 1 else f"{count:g} {unit}s"
    return f"{seconds:g} seconds"
