"""The daemon: connects to the broker and runs discovery and conversations over it.

Everything that changes a conversation goes through one :class:`FairInbox`, consumed
by one task, so each sid's events reach the core in the order they happened (and
sids take turns); MQTT reading, pinging and training run beside it and only put
events in that inbox. Each batch of events is handled, its changes written (SQLite,
or Redis when several daemons share the work: :mod:`atlas.daemon.sharing`), and only
then its messages published. Publishing never waits for the broker: the transport
keeps the order and re-sends across reconnections.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .. import __version__
from ..config import Config, ConfigError
from ..core import Publish, Resumed, SkillGone
from ..protocol import (
    CHANNEL_OUTBOX,
    DAEMON_INBOX,
    Bye,
    ChannelCreate,
    DaemonSent,
    DialogData,
    DialogParse,
    Message,
    Pong,
    ProtocolError,
    Skills,
)
from ..store import ConversationState, SqliteConversationState, Store
from ..store.sqlite import FLOOD_VERSION_HOLDS
from ..transport import BrokerAddress, Reconnected, Session, TransportError
from .budgets import SkillBudgets
from .conversations import Conversations
from .discovery import Discovery
from .inbox import GLOBAL, FairInbox
from .sharing import (
    CLAIM_EVERY,
    ORPHANS_EVERY,
    Keeping,
    LocalKeeping,
    Retry,
    SharedKeeping,
    shared,
    sid_of,
)

log = logging.getLogger("atlas.daemon")

#: Changes arriving this close together are trained for once.
TRAIN_DEBOUNCE = 0.05
#: The longest a text waits for the interpreters at start-up, in seconds.
FIRST_TRAINING_WAIT = 15.0
#: Events handled between two turns of the loop (reading, writing, timers).
BATCH = 32


async def serve(config: Config, store: Store | None = None,
                state: ConversationState | None = None) -> None:
    """Run the daemon until cancelled; the session reconnects to the broker by itself.

    Channels live in ``state`` (SQLite in the data dir by default): those of a
    previous run are served again at once. With ``state: redis://…`` in the
    configuration they live in Redis instead, shared with every daemon started
    with it.
    """
    store = store or Store.in_data_dir(config.data_dir, version_holds=FLOOD_VERSION_HOLDS)
    address = BrokerAddress.parse(config.broker_url)
    redis_address = config.state_address
    if redis_address is not None and address.protocol != 5:
        raise ConfigError(
            f"state: several daemons share the work over MQTT 5; add ?protocol=5 to the "
            f"broker URL ({address}) and use a broker that speaks it (Mosquitto 2, EMQX, "
            "VerneMQ, HiveMQ; not the embedded one)")
    inbox: FairInbox[Any] = FairInbox()
    log.info("atlas %s daemon on %s", __version__, address)
    async with contextlib.AsyncExitStack() as stack:
        keeping: Keeping
        if redis_address is not None:
            conversations = Conversations(config, store, inbox, timers=False)
            sharing = await stack.enter_async_context(
                shared(redis_address, conversations, inbox))
            keeping, started_at = sharing, sharing.started_at
            log.info("sharing the sids with the daemons on %s as %s", redis_address,
                     sharing.owner)
        else:
            started_at = datetime.now(UTC).replace(tzinfo=None).isoformat()
            if state is None:
                state = SqliteConversationState.in_data_dir(config.data_dir)
                stack.callback(state.close)
            conversations = Conversations(config, store, inbox, state)
            keeping = LocalKeeping(conversations)
            if restored := conversations.restore():
                log.info("%d channel(s) restored from the last run", restored)
        stack.callback(conversations.close)
        discovery = Discovery(config, __version__, started_at)
        # Messages are routed to the inbox as they are read; a flood's leftovers are
        # dropped before they are decoded (not with several daemons: each must hear
        # everything).
        def skip(topic: str, payload: bytes) -> bool:
            return conversations.unread(topic, payload, discovery.world(),
                                        training=discovery.untrained)

        several = isinstance(keeping, SharedKeeping)
        session = Session(
            address, "atlas-daemon", attempts=None, skip=None if several else skip,
            route=_router(inbox, discovery, conversations, keeping),
            # One daemon keeps its session on the broker: what users say while it
            # restarts after a crash waits there for it. Several hear everything
            # anyway; a daemon gone, the others answer.
            client_id=None if several else _client_id(config))
        # Subscribed before connecting: a kept session's messages come at once.
        await session.subscribe(*DAEMON_INBOX, *([DaemonSent] if several else []))
        await stack.enter_async_context(session)
        if isinstance(keeping, SharedKeeping):
            keeping.listening_since = time.time()
        log.info("connected to %s", address)
        try:
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(_read(session, discovery))
                tasks.create_task(_converse(session, inbox, conversations, discovery,
                                            keeping))
                tasks.create_task(_watch(session, inbox, discovery))
                tasks.create_task(_train(session, discovery, keeping))
                if isinstance(keeping, SharedKeeping):
                    tasks.create_task(_claim(inbox, keeping))
            # Only the end of the session's messages ends the tasks: a clean stop.
        finally:
            if not isinstance(keeping, SharedKeeping):  # others still serve the skills
                await _clear_skills(address)


def _client_id(config: Config) -> str:
    """The daemon's MQTT client id: the same across its restarts, one per machine and
    data dir (a second daemon there would share its store too)."""
    where = f"{socket.gethostname()}\x00{Path(config.data_dir).expanduser().resolve()}"
    return f"atlas-daemon-{hashlib.sha256(where.encode()).hexdigest()[:16]}"


def _router(inbox: FairInbox[Any], discovery: Discovery, conversations: Conversations,
            keeping: Keeping) -> Callable[[Message], None]:
    """Where each message goes as the session reads it: discovery, or its sid's line
    in the inbox. No I/O: it runs in the session's read callback, so that whatever
    looks at the inbox as a message is read sees every message read before it."""
    budgets = SkillBudgets()
    sharing = keeping if isinstance(keeping, SharedKeeping) else None
    channels = conversations.channels

    def route(message: Message) -> None:
        if isinstance(message, Pong):
            discovery.heard(message, time.monotonic())
        elif isinstance(message, Bye):
            if discovery.left(message.name):
                inbox.put(GLOBAL, SkillGone(message.name))
        elif isinstance(message, DaemonSent):
            if sharing is not None:
                sharing.heard_sent(message)
        elif (sid := getattr(message, "sid", None)) is not None:
            # Channels' messages: the core bounds their queue. Skills': their budgets,
            # counted by the daemon that holds the sid (another only keeps them).
            for item in ([message] if isinstance(message, CHANNEL_OUTBOX) or (
                    sharing is not None and sid not in channels)
                         else budgets.admit(message, channels, time.monotonic())):
                # A skill's words out of turn: dismissed here. Not with several
                # daemons (each must hear all).
                if sharing is None and isinstance(item, Message):
                    if conversations.drop_stale(item):
                        continue
                    inbox.put(sid, item, plain=conversations.plain(item, discovery.world()))
                else:
                    inbox.put(sid, item)

    return route


async def _read(session: Session, discovery: Discovery) -> None:
    """What the session does not route: its reconnections, and its end."""
    async for message in session:
        if isinstance(message, Reconnected) and discovery.published is not None:
            # The broker may have restarted without persistence: retained list gone.
            _publish(session, [Publish(discovery.published, retain=True)])


async def _converse(session: Session, inbox: FairInbox[Any], conversations: Conversations,
                    discovery: Discovery, keeping: Keeping) -> None:
    # Restored channels hold texts and answers: wait (once) for the skills to come back.
    while True:
        batch: list[Any] = [await inbox.get()]
        while len(batch) < BATCH and (more := inbox.get_nowait()) is not None:
            batch.append(more)
        publishes: list[Publish] = []
        for item in await keeping.admit(batch):
            if (discovery.untrained or conversations.resuming) and (
                    isinstance(item, DialogParse | DialogData | Resumed) or (
                        isinstance(item, ChannelCreate) and item.welcome)):
                # Right after start-up, understanding nothing would be a wrong answer:
                # hold the text, input or welcome (and everything behind it) until the
                # first training. (Meanwhile the reader drops no text unread.)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(discovery.trained.wait(), FIRST_TRAINING_WAIT)
                conversations.resuming = False
            try:
                event = conversations.event_for(item)
                if event is not None:
                    publishes += conversations.apply(event, discovery.world())
            except Exception:  # the daemon never dies of one event
                log.exception("could not handle %s", type(item).__name__)
        # What the batch changed is written before anything is said about it; a sid
        # another daemon took over meanwhile has its messages dropped (it handles them).
        refused = await keeping.commit(publishes)
        for topic, payload in keeping.unsent():
            session.publish_raw(topic, payload)
        _publish(session, [p for p in publishes if sid_of(p.message) not in refused]
                 if refused else publishes)
        if (skills := discovery.note_throttled(conversations.throttled)) is not None \
                and await keeping.first_to_publish(skills):
            _publish(session, [Publish(skills, retain=True)])   # operators see it
        if (sent := keeping.published()) is not None:
            _publish(session, [Publish(sent)])
        if session.flush():  # what this batch published leaves together, now
            keeping.flushed()
        await asyncio.sleep(0)  # and the socket is read before the next batch


async def _claim(inbox: FairInbox[Any], keeping: SharedKeeping) -> None:
    """Fire the deadlines due in Redis that are this daemon's, or nobody's any more;
    take the sids whose writer died before publishing what it decided."""
    looked = 0.0
    while True:
        for claim in await keeping.claim():
            log.debug("claimed %s", claim)
            inbox.put(claim.sid, claim)
        now = time.monotonic()
        if now - looked >= ORPHANS_EVERY:
            looked = now
            for sid in await keeping.orphans():
                inbox.put(sid, Retry(sid))
        await keeping.confirm(now)
        keeping.sweep(now)
        await asyncio.sleep(CLAIM_EVERY)


def _publish(session: Session, publishes: list[Publish]) -> None:
    for effect in publishes:
        try:
            session.publish(effect.message, retain=effect.retain)
        except ProtocolError as error:
            log.warning("not published: %s", error)
        except TransportError as error:
            log.error("lost a message: %s", error)


async def _watch(session: Session, inbox: FairInbox[Any], discovery: Discovery) -> None:
    """Ping every ``discovery.interval``; drop skills silent for ``discovery.timeout``."""
    interval = discovery.config.discovery.interval
    tick = max(0.05, min(1.0, interval / 2, discovery.config.discovery.timeout / 4))
    last_ping = -float("inf")
    while True:
        now = time.monotonic()
        if now - last_ping >= interval:
            _publish(session, [Publish(discovery.ping)])
            last_ping = now
        discovery.poll_training(now)
        for name in discovery.expire(now):
            inbox.put(GLOBAL, SkillGone(name))
        await asyncio.sleep(tick)


async def _train(session: Session, discovery: Discovery, keeping: Keeping) -> None:
    while True:
        await discovery.changed.wait()
        await asyncio.sleep(TRAIN_DEBOUNCE)
        started = time.perf_counter()
        try:
            skills = await discovery.retrain()
        except Exception:  # one skill's data must not stop training for the others
            log.exception("training failed; the interpreters stay as they were")
            continue
        if skills is None:
            continue
        log.info("trained for %d skill(s) in %.2fs", len(skills.skills),
                 time.perf_counter() - started)
        _settle_memory()
        if await keeping.first_to_publish(skills):   # once per change, not per daemon
            _publish(session, [Publish(skills, retain=True)])


def _settle_memory() -> None:
    """Take what exists now (libraries, models) out of the garbage collector's sight.

    Its full collections walk every object: with the models' hundreds of thousands,
    each stalled the loop for 60-90 ms under a flood, every turn behind it. What is
    frozen is still freed when its last reference goes (an old model); only cycles
    among frozen objects would stay, once per training.
    """
    gc.collect()
    gc.freeze()


async def _clear_skills(address: BrokerAddress) -> None:
    """On a clean stop, remove the retained skills list: nobody serves them any more."""
    with contextlib.suppress(TransportError, OSError, TimeoutError):
        async with asyncio.timeout(2), Session(address, "atlas-daemon-stop") as session:
            session.clear(Skills)
            await session.drain()
