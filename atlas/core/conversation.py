"""One channel's conversation: a pure state machine.

``step(channel, event, world)`` returns the channel's next state and the effects
to carry out (messages to publish, the deadline to arm, messages dismissed). It
reads no clock, does no I/O and holds no globals: the shell feeds it events and
does what it returns. Everything about how a conversation unfolds lives here.

A channel is idle (no conversation), working (a skill has the floor) or asking
(a skill waits for the user's answer); see :attr:`Channel.phase`. Besides text, a
user may give structured input (:class:`UserGave`: a button's value, a form, an
image), and a channel holds session data that every request carries.

While asking, a text is read in this order: cancel; a valid answer (a choice, or
a value of the slot); a clearly new request (another intent, understood with
:data:`NEW_REQUEST_CONFIDENCE`), which drops the question and runs; otherwise
the question again, saying why and what is valid.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol, cast

from ..protocol import (
    FALLBACK_INTENT,
    WELCOME_INTENT,
    ChannelAsk,
    ChannelContext,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogSession,
    DialogShow,
    DialogTerminate,
    IntentRequest,
    Reason,
)
from .events import (
    Deadline,
    DeadlinePassed,
    Dismissed,
    Effect,
    OverBudget,
    Publish,
    Resumed,
    SkillGone,
    Throttled,
    UserGave,
    UserSaid,
)
from .evolve import evolve
from .phrases import reask, say
from .skills import Catalog

#: Texts queued behind a running conversation, at most; more are dismissed (and the
#: user told, once).
MAX_QUEUE = 32
#: Messages a skill may show in one conversation; past it the conversation ends
#: (reason ``throttled``): a skill flooding a user must not bury everyone else.
MAX_SHOWS = 200

#: How sure the interpreter must be that a text typed during a question is a new
#: request (another intent) for the question to be dropped in its favour.
NEW_REQUEST_CONFIDENCE = 0.8

#: One slot's values in the rich form: ``{"value", "raw", "entity"}`` each.
SlotValues = list[dict[str, Any]]


@dataclass(frozen=True)
class Understood:
    intent: str | None
    slots: dict[str, SlotValues] = field(default_factory=dict)
    confidence: float = 1.0


class Understanding(Protocol):
    """What the core asks of the interpreter (pure functions of their arguments)."""

    def parse(self, lang: str, text: str, scope: frozenset[str],
              now: float | None = None, *, strict: bool = False) -> Understood:
        """``strict``: what the scope's intents do not clearly cover is not understood."""

    def parse_slot(self, lang: str, intent: str, slot: str, text: str,
                   now: float | None = None) -> SlotValues: ...

    def match_choice(self, lang: str, text: str, choices: Sequence[str]) -> str | None: ...

    def is_cancel(self, lang: str, text: str) -> bool: ...


@dataclass(frozen=True)
class World:
    """What the core needs to know besides the channel: read-only for one step."""

    catalog: Catalog
    understanding: Understanding
    version: str
    skill_timeout: float
    ask_timeout: float
    #: Skills that read each slot as a list of objects (``[{"value": …}]``, as the
    #: original atlas sent them) rather than plain values.
    object_slots: frozenset[str] = frozenset()


class Phase(StrEnum):
    IDLE = "idle"
    WORKING = "working"
    ASKING = "asking"


@dataclass(frozen=True)
class Conversation:
    """The running conversation: one intent handled by one skill."""

    cid: str
    intent: str
    skill: str
    text: str
    lang: str
    slots: dict[str, SlotValues] = field(default_factory=dict)
    env: dict[str, Any] = field(default_factory=dict)
    ask: DialogAsk | None = None
    shows: int = 0


@dataclass(frozen=True)
class Channel:
    """Everything atlas remembers about a sid: plain, serialisable data."""

    sid: str
    uid: str
    lang: str
    context: str | None = None
    conversation: Conversation | None = None
    queue: tuple[UserSaid | UserGave | DialogNotify, ...] = ()
    generation: int = 0
    session: dict[str, Any] = field(default_factory=dict)
    #: The user was told the queue is full; told again only once it has emptied.
    told_full: bool = False

    @property
    def phase(self) -> Phase:
        if self.conversation is None:
            return Phase.IDLE
        return Phase.WORKING if self.conversation.ask is None else Phase.ASKING


Step = tuple[Channel, list[Effect]]


def step(channel: Channel, event: Any, world: World) -> Step:
    """Apply one event to one channel."""
    return _HANDLERS[type(event)](channel, event, world)


# --- the user speaks -------------------------------------------------------------

def _user_said(channel: Channel, said: UserSaid, world: World) -> Step:
    if _no_room_for(channel, said.lang, said.text, world):
        # Once the user was told, a text refused changes nothing, not even the language.
        return _queue_full(channel if channel.told_full else evolve(channel, lang=said.lang),
                           "parse")
    channel = evolve(channel, lang=said.lang)
    if world.understanding.is_cancel(said.lang, said.text):
        return _cancel(channel, world)
    if channel.conversation is None:
        return _start(channel, said, world)
    if channel.conversation.ask is None:
        return evolve(channel, queue=(*channel.queue, said)), []
    return _answer(channel, channel.conversation, said, world)


def _no_room_for(channel: Channel, lang: str, text: str, world: World) -> bool:
    """A text for the queue, which is full (a cancel always gets through)."""
    conversation = channel.conversation
    return (conversation is not None and conversation.ask is None
            and len(channel.queue) >= MAX_QUEUE
            and not world.understanding.is_cancel(lang, text))


def _queue_full(channel: Channel, what: str) -> Step:
    effects: list[Effect] = [Dismissed(channel.sid, what, "queue full")]
    if not channel.told_full:
        effects.insert(0, _show(channel, say("queue_full", channel.lang)))
    return evolve(channel, told_full=True), effects


def _cancel(channel: Channel, world: World) -> Step:
    """Cancel ends the conversation and leaves the context, from any state."""
    effects: list[Effect] = []
    if channel.conversation is not None:
        effects.append(_show(channel, say("cancelled", channel.lang)))
    if channel.context is not None:
        effects.append(Publish(ChannelContext(channel.sid, None)))
    return _drain(*_finish(evolve(channel, context=None), Reason.CANCELLED, effects), world)


def _start(channel: Channel, said: UserSaid, world: World) -> Step:
    scope = world.catalog.scope(channel.context)
    fallback = world.catalog.fallback_in(channel.context)
    # A context with a fallback of its own (interactive fiction) wants what its
    # intents do not cover, never the closest of them.
    strict = fallback is not None and fallback != FALLBACK_INTENT
    understood = (world.understanding.parse(said.lang, said.text, scope, said.now, strict=True)
                  if strict else world.understanding.parse(said.lang, said.text, scope, said.now))
    intent, slots = understood.intent, understood.slots
    skill = world.catalog.skill_for(intent) if intent else None
    if skill is None and fallback is not None:
        intent, slots, skill = fallback, {}, world.catalog.skill_for(fallback)
    if intent is None or skill is None:
        # Never a guess: say so, and where to learn what can be asked.
        key = "not_understood_help" if world.catalog.helps else "not_understood"
        return channel, [_show(channel, say(key, said.lang)),
                         Publish(ChannelTerminate(channel.sid, Reason.NOT_UNDERSTOOD))]
    env = {key: said.settings.get(key) for key in world.catalog.env_keys.get(skill, ())}
    conversation = Conversation(said.cid, intent, skill, said.text, said.lang, slots, env)
    return _call(channel, conversation, world, choice=None)


@dataclass(frozen=True)
class _Answer:
    """A valid answer to the pending question."""

    slots: dict[str, SlotValues]    # the conversation's slots, with the answer's
    choice: str | None              # for a question without a slot
    verbatim: bool = False          # the whole text taken as the value, nothing resolved


def _answer(channel: Channel, conversation: Conversation, said: UserSaid, world: World) -> Step:
    ask = conversation.ask
    assert ask is not None
    declared = ask.slot is None or world.catalog.declares(conversation.intent, ask.slot)
    answer = _read_answer(conversation, ask, said, world.understanding, declared=declared)
    if (answer is None or answer.verbatim) and _is_new_request(channel, conversation, said,
                                                                world):
        return _drop_question(channel, said, world)
    if answer is None:
        return _ask_again(channel, ask, world, retry=said.lang)
    conversation = evolve(conversation, slots=answer.slots, ask=None)
    return _call(channel, conversation, world, choice=answer.choice)


def _read_answer(conversation: Conversation, ask: DialogAsk, said: UserSaid,
                 understanding: Understanding, *, declared: bool = True) -> _Answer | None:
    """``declared``: the intent's skill declared the asked slot."""
    if ask.choices:
        choice = _choice(conversation, ask, said, understanding)
        if choice is None:
            return None
        if ask.slot is None:
            return _Answer(conversation.slots, choice)
        values = [{"value": choice, "raw": said.text, "entity": "choice"}]
        # A choice for a number-like slot resolves as one ("10 minutes" -> 600);
        # a textual one keeps the skill's own spelling of the choice.
        resolved = understanding.parse_slot(said.lang, conversation.intent, ask.slot, choice,
                                            said.now)
        if resolved and not isinstance(resolved[0].get("value"), str):
            values = resolved
        return _Answer({**conversation.slots, ask.slot: values}, None)
    if ask.slot is None:
        return None     # no slot and no choice: nothing can answer it
    values = understanding.parse_slot(said.lang, conversation.intent, ask.slot, said.text,
                                      said.now)
    if not values and not declared:
        # A slot no training describes (pytlas skills ask such ones): the answer
        # as typed is its value, as pytlas gives it.
        values = [{"value": said.text, "raw": said.text, "entity": ""}]
    if not values:
        return None
    verbatim = len(values) == 1 and _same(values[0].get("value"), said.text)
    return _Answer({**conversation.slots, ask.slot: values}, None, verbatim)


def _choice(conversation: Conversation, ask: DialogAsk, said: UserSaid,
            understanding: Understanding) -> str | None:
    """The choice the text names: directly, or through the slot's own vocabulary.

    For a question with a slot, a synonym the skill taught for the slot ("all the
    lights" for "everywhere") names the choice its value names.
    """
    assert ask.choices
    choice = understanding.match_choice(said.lang, said.text, ask.choices)
    if choice is not None or ask.slot is None:
        return choice
    for value in understanding.parse_slot(said.lang, conversation.intent, ask.slot, said.text,
                                          said.now):
        named = value.get("value")
        if isinstance(named, str) and not _same(named, str(value.get("raw", ""))):
            exact = [c for c in ask.choices if _same(c, named)]
            if exact:
                return exact[0]
    return None


def _same(value: Any, text: str) -> bool:
    return isinstance(value, str) and value.strip().casefold() == text.strip().casefold()


def _is_new_request(channel: Channel, conversation: Conversation, said: UserSaid,
                    world: World) -> bool:
    """The text is clearly a request for another intent, which a live skill serves."""
    scope = world.catalog.scope(channel.context)
    understood = world.understanding.parse(said.lang, said.text, scope, said.now)
    return (understood.intent is not None and understood.intent != conversation.intent
            and understood.confidence >= NEW_REQUEST_CONFIDENCE
            and world.catalog.skill_for(understood.intent) is not None)


def _drop_question(channel: Channel, said: UserSaid, world: World) -> Step:
    """End the conversation as a cancel does, then take the text as a request.

    The text goes to the back of the queue, so what waited before it still comes first.
    """
    effects: list[Effect] = [_show(channel, say("question_dropped", said.lang))]
    channel, effects = _finish(channel, Reason.CANCELLED, effects)
    return _drain(evolve(channel, queue=(*channel.queue, said)), effects, world)


def _call(channel: Channel, conversation: Conversation, world: World, choice: str | None,
          data: dict[str, Any] | None = None) -> Step:
    """Hand the floor to the skill; ``choice`` and ``data`` go in this call only."""
    request = IntentRequest(
        intent=conversation.intent, cid=conversation.cid, sid=channel.sid, uid=channel.uid,
        lang=conversation.lang, version=world.version, env=conversation.env,
        slots=_slots(conversation, world),
        rich_slots=conversation.slots, choice=choice, text=conversation.text,
        data=data, session=channel.session,
    )
    channel = evolve(channel, conversation=conversation)
    channel, deadline = _arm(channel, world.skill_timeout)
    return channel, [Publish(ChannelWork(channel.sid)), Publish(request), deadline]


def _slots(conversation: Conversation, world: World) -> dict[str, Any]:
    if conversation.skill in world.object_slots:
        return {name: [dict(value) for value in values]
                for name, values in conversation.slots.items() if values}
    return {name: _flat(values) for name, values in conversation.slots.items() if values}


# --- the user gives structured input ----------------------------------------------

def _user_gave(channel: Channel, gave: UserGave, world: World) -> Step:
    channel = evolve(channel, lang=gave.lang)
    conversation = channel.conversation
    if conversation is None:
        return _start_with_data(channel, gave, world)
    if conversation.ask is None:
        if len(channel.queue) >= MAX_QUEUE:
            return channel, [Dismissed(channel.sid, "data", "queue full")]
        return evolve(channel, queue=(*channel.queue, gave)), []
    return _answer_with_data(channel, conversation, gave, world)


def _start_with_data(channel: Channel, gave: UserGave, world: World) -> Step:
    """Input that names an intent calls it, uninterpreted; anything else is not understood.

    The intent is the ``intent`` property when it is a string, else the first key
    naming an intent in scope (MCC names its activity by the payload's key).
    """
    scope = world.catalog.scope(channel.context)
    named = gave.data.get("intent")
    candidates = [named] if isinstance(named, str) else list(gave.data)
    intent = next((name for name in candidates if name in scope), None)
    skill = world.catalog.skill_for(intent) if intent else None
    if intent is None or skill is None:
        return channel, [_show(channel, say("not_understood", gave.lang)),
                         Publish(ChannelTerminate(channel.sid, Reason.NOT_UNDERSTOOD))]
    env = {key: gave.settings.get(key) for key in world.catalog.env_keys.get(skill, ())}
    conversation = Conversation(gave.cid, intent, skill, "", gave.lang, {}, env)
    return _call(channel, conversation, world, choice=None, data=gave.data)


def _answer_with_data(channel: Channel, conversation: Conversation, gave: UserGave,
                      world: World) -> Step:
    """Input answers the ask as it is, in ``__data``; a ``choice`` among the asked ones
    (a clicked button) or a value for the asked slot also answers as text would."""
    ask = conversation.ask
    assert ask is not None
    choice = gave.data.get("choice")
    picked = choice if isinstance(choice, str) and ask.choices and choice in ask.choices \
        else None
    if ask.slot is None:
        return _call(channel, evolve(conversation, ask=None), world, choice=picked,
                     data=gave.data)
    slots = conversation.slots
    value = picked if picked is not None else gave.data.get(ask.slot)
    if value is not None:
        slots = {**slots, ask.slot: [{"value": value, "raw": str(value), "entity": "data"}]}
    return _call(channel, evolve(conversation, slots=slots, ask=None), world, choice=None,
                 data=gave.data)


def _session(channel: Channel, session: DialogSession, world: World) -> Step:
    return evolve(channel, session={**channel.session, **session.data}), []


def _flat(values: SlotValues) -> Any:
    """One value as itself, several as a list: the protocol's slot form."""
    plain = [value.get("value") for value in values]
    return plain[0] if len(plain) == 1 else plain


def _ask_again(channel: Channel, ask: DialogAsk, world: World, retry: str | None = None
               ) -> Step:
    """Forward the question; ``retry`` (a language) says why it comes again."""
    channel, deadline = _arm(channel, world.ask_timeout)
    text = ask.text if retry is None else reask(ask.text, retry, ask.choices)
    return channel, [Publish(ChannelAsk(ask.sid, text, ask.slot, ask.choices, ask.extra)),
                     deadline]


# --- the skill speaks --------------------------------------------------------------

def _guarded(handler: Callable[[Channel, Conversation, Any, World], Step]
             ) -> Callable[[Channel, Any, World], Step]:
    """Only the current conversation's skill may speak: other cids are dismissed."""
    def guarded(channel: Channel, message: Any, world: World) -> Step:
        stale = stale_speech(channel, message)
        if stale is not None:
            return channel, [stale]
        return handler(channel, cast(Conversation, channel.conversation), message, world)
    return guarded


def stale_speech(channel: Channel, message: Any) -> Dismissed | None:
    """How a skill's words are dismissed, changing nothing, when their ``__cid`` is
    not the running conversation's (a cid that is not current now never will be:
    each conversation gets a new one); ``None`` for the current conversation's.
    The daemon asks as it reads them, and drops them there."""
    conversation = channel.conversation
    what = type(message).__name__
    if message.cid is None:
        return Dismissed(channel.sid, what, "no __cid")
    if conversation is None or message.cid != conversation.cid:
        return Dismissed(channel.sid, what, f"stale __cid {message.cid}")
    return None


def speech_unread(channel: Channel | None) -> str | None:
    """Why every skill's words on this channel are dismissed, whatever they say and
    whichever ``__cid`` they carry; ``None`` while a conversation runs. The daemon
    drops them on their topic alone, before decoding them: a skill flooding past the
    end of its conversation costs it a topic per message, not a JSON payload."""
    if channel is None:
        return "unknown sid"
    if channel.conversation is None:
        return "stale __cid (no conversation)"
    return None


def text_unread(channel: Channel, text: str, world: World) -> bool:
    """Whether a text to this channel is refused, changing nothing: its queue is full,
    the user was told, and the text does not cancel. The daemon drops such a text
    before decoding it. It depends on the events before it: ask only when those of
    the sid still waiting, if any, are all texts :func:`refused_alike`."""
    return channel.told_full and _no_room_for(channel, channel.lang, text, world)


def refused_alike(channel: Channel, text: str, world: World) -> bool:
    """Whether a text is refused like any other while the queue is full: it does not
    cancel. A channel :func:`text_unread` refuses such texts, any number of them,
    without changing: behind them the next text is judged as if they were handled.
    (A flood of texts is read faster than the core handles it: without this, one
    text waiting would keep every text behind it from being dropped unread.)"""
    return not world.understanding.is_cancel(channel.lang, text)


def _skill_show(channel: Channel, conversation: Conversation, show: DialogShow,
                world: World) -> Step:
    if conversation.shows >= MAX_SHOWS:
        effects: list[Effect] = [Throttled(channel.sid, conversation.skill,
                                           f"more than {MAX_SHOWS} shows in a conversation"),
                                 _show(channel, say("throttled", channel.lang))]
        return _drain(*_finish(channel, Reason.THROTTLED, effects), world)
    channel = evolve(channel, conversation=evolve(conversation, shows=conversation.shows + 1))
    effects = [Publish(ChannelShow(channel.sid, show.text, show.extra))]
    if conversation.ask is None:        # the skill is alive: give it its time again
        channel, deadline = _arm(channel, world.skill_timeout)
        effects.append(deadline)
    return channel, effects


def _over_budget(channel: Channel, conversation: Conversation, over: OverBudget,
                 world: World) -> Step:
    effects: list[Effect] = [Throttled(channel.sid, conversation.skill, over.reason),
                             _show(channel, say("throttled", channel.lang))]
    return _drain(*_finish(channel, Reason.THROTTLED, effects), world)


def _skill_ask(channel: Channel, conversation: Conversation, ask: DialogAsk,
               world: World) -> Step:
    channel = evolve(channel, conversation=evolve(conversation, ask=ask))
    return _ask_again(channel, ask, world)


def _skill_context(channel: Channel, conversation: Conversation, context: DialogContext,
                   world: World) -> Step:
    channel = evolve(channel, context=context.name)
    effects: list[Effect] = [Publish(ChannelContext(channel.sid, context.name))]
    if conversation.ask is None:
        channel, deadline = _arm(channel, world.skill_timeout)
        effects.append(deadline)
    return channel, effects


def _skill_terminate(channel: Channel, conversation: Conversation, terminate: DialogTerminate,
                     world: World) -> Step:
    reason = Reason.ERROR if terminate.error else Reason.NOMINAL
    return _drain(*_finish(channel, reason, []), world)


def _notify(channel: Channel, notify: DialogNotify, world: World) -> Step:
    if channel.conversation is not None:
        if len(channel.queue) >= MAX_QUEUE:
            return _queue_full(channel, "notify")
        return evolve(channel, queue=(*channel.queue, notify)), []
    return channel, [Publish(ChannelShow(channel.sid, notify.text, notify.extra))]


# --- around the conversation ----------------------------------------------------

def _deadline_passed(channel: Channel, passed: DeadlinePassed, world: World) -> Step:
    if passed.generation != channel.generation or channel.conversation is None:
        return channel, []      # a deadline that was re-armed or disarmed since
    key = "ask_timeout" if channel.phase is Phase.ASKING else "timeout"
    return _drain(*_finish(channel, Reason.TIMEOUT, [_show(channel, say(key, channel.lang))]),
                  world)


def _skill_gone(channel: Channel, gone: SkillGone, world: World) -> Step:
    effects: list[Effect] = []
    if channel.context is not None and not world.catalog.serves(channel.context):
        # Nothing live answers in this context any more: don't strand the user in it.
        channel = evolve(channel, context=None)
        effects.append(Publish(ChannelContext(channel.sid, None)))
    if channel.conversation is None or channel.conversation.skill != gone.name:
        return channel, effects
    effects.append(_show(channel, say("skill_gone", channel.lang)))
    return _drain(*_finish(channel, Reason.SKILL_GONE, effects), world)


def _resumed(channel: Channel, _: Resumed, world: World) -> Step:
    if channel.phase is Phase.WORKING:
        # The skill's answers went to a daemon that no longer exists: say so.
        effects: list[Effect] = [_show(channel, say("restarted", channel.lang))]
        return _drain(*_finish(channel, Reason.RESTARTED, effects), world)
    return _drain(channel, [], world)


def _finish(channel: Channel, reason: Reason, effects: list[Effect]) -> Step:
    channel, disarm = _disarm(evolve(channel, conversation=None))
    return channel, [*effects, Publish(ChannelTerminate(channel.sid, reason)), disarm]


def _drain(channel: Channel, effects: list[Effect], world: World) -> Step:
    """Handle what waited behind the conversation that just ended, in order."""
    effects = list(effects)
    while channel.queue and channel.conversation is None:
        head, channel = channel.queue[0], evolve(channel, queue=channel.queue[1:])
        channel, more = step(channel, head, world)
        effects.extend(more)
    if not channel.queue and channel.told_full:
        channel = evolve(channel, told_full=False)   # caught up: tell them next time
    return channel, effects


def _show(channel: Channel, text: str) -> Publish:
    return Publish(ChannelShow(channel.sid, text))


def _arm(channel: Channel, seconds: float) -> tuple[Channel, Deadline]:
    generation = channel.generation + 1
    return evolve(channel, generation=generation), Deadline(channel.sid, generation, seconds)


def _disarm(channel: Channel) -> tuple[Channel, Deadline]:
    generation = channel.generation + 1
    return evolve(channel, generation=generation), Deadline(channel.sid, generation, None)


_HANDLERS: Mapping[type, Callable[[Channel, Any, World], Step]] = {
    UserSaid: _user_said,
    UserGave: _user_gave,
    DialogSession: _session,
    DialogShow: _guarded(_skill_show),
    DialogAsk: _guarded(_skill_ask),
    DialogContext: _guarded(_skill_context),
    DialogTerminate: _guarded(_skill_terminate),
    DialogNotify: _notify,
    OverBudget: _guarded(_over_budget),
    DeadlinePassed: _deadline_passed,
    SkillGone: _skill_gone,
    Resumed: _resumed,
}


def welcome(channel: Channel, opened: Any, world: World) -> Step:
    """Welcome a new channel: the ``__welcome__`` skill's answer, or the daemon's greeting.

    ``opened`` is the :class:`~atlas.core.events.Opened` event that asked for it.
    """
    skill = world.catalog.welcome
    if skill is None:
        return channel, [_show(channel, say("welcome", channel.lang)),
                         Publish(ChannelTerminate(channel.sid, Reason.NOMINAL))]
    env = {key: opened.settings.get(key) for key in world.catalog.env_keys.get(skill, ())}
    conversation = Conversation(opened.cid, WELCOME_INTENT, skill, "", channel.lang, {}, env)
    return _call(channel, conversation, world, choice=None)
