"""All channels at once: routes events to the right channel's state machine.

The shell keeps the channels (a plain dict, sid -> Channel) and applies what
:func:`handle` returns; this keeps each event O(1) however many channels live.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..protocol import ChannelContext, ChannelCreated, ChannelDestroyed
from .conversation import Channel, World, step, welcome
from .events import Closed, Deadline, Dismissed, Effect, Opened, Publish, SkillGone
from .evolve import evolve

#: What changed: a channel's new state, or ``None`` for a channel to forget.
Changes = dict[str, Channel | None]


def handle(channels: Mapping[str, Channel], event: Any, world: World
           ) -> tuple[Changes, list[Effect]]:
    if isinstance(event, Opened):
        return _opened(channels.get(event.sid), event, world)
    if isinstance(event, Closed):
        if event.sid not in channels:
            return {}, [Dismissed(event.sid, "destroy", "unknown sid")]
        return {event.sid: None}, [Publish(ChannelDestroyed(event.sid)),
                                   Deadline(event.sid, channels[event.sid].generation + 1, None)]
    if isinstance(event, SkillGone):
        changes: Changes = {}
        effects: list[Effect] = []
        for sid, each in channels.items():
            if each.context is not None or (
                    each.conversation is not None and each.conversation.skill == event.name):
                new, more = step(each, event, world)
                changes[sid] = new
                effects.extend(more)
        return changes, effects
    channel = channels.get(event.sid)
    if channel is None:
        return {}, [Dismissed(event.sid, type(event).__name__, "unknown sid")]
    new, effects = step(channel, event, world)
    return {event.sid: new}, effects


def _opened(channel: Channel | None, opened: Opened, world: World
            ) -> tuple[Changes, list[Effect]]:
    """Create the sid's agent, or re-attach to it (a reconnecting device)."""
    if channel is None or channel.uid != opened.uid:
        # A different user on a known sid starts afresh: nothing of the previous
        # user's conversation may leak to them.
        fresh = Channel(opened.sid, opened.uid, opened.lang, session=dict(opened.session or {}))
        effects: list[Effect] = [Publish(ChannelCreated(opened.sid, opened.lang))]
        if channel is not None:
            fresh = evolve(fresh, generation=channel.generation + 1)
            effects.append(Deadline(opened.sid, fresh.generation, None))
        if opened.welcome:
            fresh, more = welcome(fresh, opened, world)
            effects.extend(more)
        return {opened.sid: fresh}, effects
    attached = evolve(channel, lang=opened.lang,
                       session={**channel.session, **(opened.session or {})})
    effects = [Publish(ChannelCreated(opened.sid, opened.lang))]
    if attached.context is not None:
        effects.append(Publish(ChannelContext(opened.sid, attached.context)))
    return {opened.sid: attached}, effects
