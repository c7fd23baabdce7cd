"""Properties of the whole core under arbitrary event sequences (hypothesis, stateful).

The machine plays a daemon: it feeds :func:`atlas.core.handle` with channels opening
and closing, users typing, skills speaking (with the current cid, a stale one or
none, always through the protocol's ``from_payload``), deadlines passing and skills
leaving. It keeps a model built only from what the core *published* and checks,
after every event, that the model and the state agree.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from atlas.core import (
    Channel,
    Closed,
    Deadline,
    DeadlinePassed,
    Dismissed,
    Effect,
    Opened,
    Phase,
    Publish,
    SkillGone,
    UserGave,
    UserSaid,
    World,
    handle,
    refused_alike,
    speech_unread,
    stale_speech,
    text_unread,
)
from atlas.core.conversation import MAX_QUEUE
from atlas.core.phrases import say
from atlas.protocol import (
    CHANNEL_INBOX,
    FALLBACK_INTENT,
    SKILL_SPEECH,
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
    Pong,
    Reason,
)

from .helpers import (
    ASK_TIMEOUT,
    CATCHALL,
    CLOCK,
    GREETER,
    LIGHTS,
    SKILL_TIMEOUT,
    TIMER,
    ask,
    context,
    json_round_trip,
    make_world,
    notify,
    show,
    terminate,
    wire,
    world_of,
)

NOT_UNDERSTOOD = frozenset(say("not_understood", lang) for lang in ("en", "fr"))
WELCOMES = frozenset(say("welcome", lang) for lang in ("en", "fr"))
# s1 gets most of the traffic, so that its conversations get far; s2 checks isolation.
SIDS = st.sampled_from(["s1", "s1", "s1", "s2"])
REQUESTS = st.sampled_from([
    "what time", "what date", "set a timer", "timer for 5 minutes",
    "lights in the kitchen and the garage", "pause", "resume", "gibberish", "weather",
    "clock",
])
ANSWERS = st.sampled_from(["5 minutes", "yes", "no", "n", "kitchen", "ki", "maybe", "later",
                           "cancel", "stop", "annule", " Stop "])
LANGS = st.sampled_from(["en", "fr"])
# Structured input: naming an intent (by key or "intent"), answering asks, or neither.
GIVEN = st.sampled_from([
    {"set_timer": 5}, {"intent": "get_time", "x": 1}, {"intent": "timer/pause"},
    {"lights_on": "kitchen"}, {"choice": "yes"}, {"choice": "kitchen"}, {"duration": 600},
    {"nope": True}, {"get_weather": 1}, {},
])
SESSION_DATA = st.sampled_from([{"first_name": "Ada"}, {"first_name": "Bob", "age": 3}, {}])
SETTINGS = st.dictionaries(st.sampled_from(["TIMER_SOUND", "CLOCK_FORMAT", "OTHER"]),
                           st.text(max_size=3), max_size=3)
SKILL_REPLIES = st.sampled_from([
    "show", "show_meta", "ask_slot", "ask_slot_choices", "ask_choice", "context",
    "context_root", "terminate",
])


def skill_message(kind: str, cid: str | None, sid: str) -> Any:
    build = {
        "show": lambda: show(cid, "hi", sid, cards=[{"header": "h"}]),
        "show_meta": lambda: show(cid, "hi", sid, __uid="x", __secret={"a": 1}, media="m"),
        "ask_slot": lambda: ask(cid, "How long?", sid, slot="duration", __meta=1),
        "ask_slot_choices": lambda: ask(cid, "Where?", sid, slot="room",
                                        choices=["kitchen", "bedroom"]),
        "ask_choice": lambda: ask(cid, "Sure?", sid, choices=["yes", "no"], __hidden=True),
        "context": lambda: context(cid, "timer", sid),
        "context_root": lambda: context(cid, None, sid),
        "terminate": lambda: terminate(cid, sid),
    }
    return build[kind]()


@dataclass
class Seen:
    """What the published messages say about one sid."""

    current: str | None = None          # the conversation in course, per the messages
    started: list[str] = field(default_factory=list)   # every conversation's cid
    armed: tuple[int, float | None] | None = None      # the last deadline armed


class CoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.world: World = make_world()
        self.live: dict[str, Pong] = {}
        self.channels: dict[str, Channel] = {}
        self.seen: dict[str, Seen] = {}
        self.texts = 0
        self.dropped_unread = 0

    @initialize(fallback=st.booleans(), greeter=st.booleans(), langs=st.tuples(LANGS, LANGS))
    def start(self, fallback: bool, greeter: bool, langs: tuple[str, str]) -> None:
        pongs = (CLOCK, TIMER, LIGHTS, CATCHALL) if fallback else (CLOCK, TIMER, LIGHTS)
        pongs = (*pongs, GREETER) if greeter else pongs
        self.live = {pong.name: pong for pong in pongs}
        self.world = world_of(self.live.values())
        self.open("s1", "alice", langs[0])
        self.open("s2", "bob", langs[1])

    # --- channels come and go -----------------------------------------------------------

    @rule(sid=SIDS, uid=st.sampled_from(["alice", "bob"]), lang=LANGS)
    def open(self, sid: str, uid: str, lang: str) -> None:
        self.open_with(sid, uid, lang, None, False)

    @rule(sid=SIDS, uid=st.sampled_from(["alice", "bob"]), lang=LANGS, session=SESSION_DATA,
          welcome=st.booleans())
    def open_for_a_session(self, sid: str, uid: str, lang: str, session: dict[str, Any],
                           welcome: bool) -> None:
        self.open_with(sid, uid, lang, session, welcome)

    def open_with(self, sid: str, uid: str, lang: str, session: dict[str, Any] | None,
                  welcome: bool) -> None:
        before = self.channels.get(sid)
        self.texts += 1
        effects = self.feed(Opened(sid, uid, lang, session, welcome, f"u{self.texts}"))
        fresh = before is None or before.uid != uid
        if fresh:
            # a fresh agent: whatever ran there is gone without a word
            self.seen[sid] = Seen(started=self.seen.get(sid, Seen()).started,
                                  armed=self.seen.get(sid, Seen()).armed)
        self.read(sid, effects)
        channel = self.channels[sid]
        assert channel.uid == uid
        kept = {} if fresh or before is None else before.session
        assert channel.session == {**kept, **(session or {})}
        requests = [m for m in self.messages(effects) if isinstance(m, IntentRequest)]
        shows = [m for m in self.messages(effects) if isinstance(m, ChannelShow)]
        if not (fresh and welcome):
            assert not requests and not shows, "only a new channel that asks is welcomed"
        elif self.world.catalog.welcome is not None:
            assert [r.intent for r in requests] == ["__welcome__"]
            assert requests[0].session == channel.session and requests[0].data is None
        else:
            assert [s.text for s in shows] == [say("welcome", lang)]

    @rule(sid=SIDS)
    def close(self, sid: str) -> None:
        known = sid in self.channels
        effects = self.feed(Closed(sid))
        assert sid not in self.channels
        if known:
            assert any(isinstance(e, Deadline) and e.sid == sid and e.seconds is None
                       for e in effects)
            self.seen.pop(sid, None)
        else:
            assert [type(e) for e in effects] == [Dismissed]

    # --- the user types ---------------------------------------------------------------

    @rule(sid=SIDS, text=REQUESTS, lang=LANGS, env=SETTINGS)
    def user_asks(self, sid: str, text: str, lang: str, env: dict[str, str]) -> None:
        self.user_says(sid, text, lang, env)

    @precondition(lambda self: self.busy())
    @rule(texts=st.lists(REQUESTS, min_size=MAX_QUEUE + 1, max_size=MAX_QUEUE + 3),
          lang=LANGS, pick=st.integers(0, 50))
    def user_floods(self, texts: list[str], lang: str, pick: int) -> None:
        """A user types more than the queue holds while a conversation runs."""
        busy = self.busy()
        sid = busy[pick % len(busy)]
        for text in texts:
            self.user_says(sid, text, lang, {})

    @rule(sid=SIDS, text=ANSWERS, lang=LANGS)
    def user_answers(self, sid: str, text: str, lang: str) -> None:
        asking = [each for each, ch in sorted(self.channels.items()) if ch.phase is Phase.ASKING]
        if asking and sid not in asking:
            sid = asking[0]     # answers mostly go where a question waits
        self.user_says(sid, text, lang, {})

    def user_says(self, sid: str, text: str, lang: str, env: dict[str, str]
                  ) -> tuple[UserSaid, list[Effect]]:
        self.texts += 1
        said = UserSaid(sid, text, f"u{self.texts}", lang, env)
        before = self.channels.get(sid)
        effects = self.feed(said)
        if before is None:
            return said, effects
        if self.world.understanding.is_cancel(lang, text):
            self.check_cancel(before, said, effects)
        elif before.phase is Phase.ASKING:
            self.check_answer(before, said, effects)
        requests = [m for m in self.messages(effects) if isinstance(m, IntentRequest)]
        for request in requests:
            skill = self.world.catalog.skill_for(request.intent)
            assert skill is not None and skill in self.live
            assert list(request.env) == list(self.world.catalog.env_keys[skill])
        if requests and before.conversation is None:
            # a conversation started right away: within the context the user was in
            allowed = self.world.catalog.scope(before.context) | {FALLBACK_INTENT}
            assert requests[0].intent in allowed
        pending_ask = before.conversation.ask if before.conversation else None
        if pending_ask is not None and pending_ask.slot is not None and requests \
                and requests[0].cid == before.conversation.cid:  # type: ignore[union-attr]
            # an answer adds its slot to what the conversation already knew
            known = set(before.conversation.slots)  # type: ignore[union-attr]
            assert set(requests[0].rich_slots) == known | {pending_ask.slot}
        # __choice only on the call that answers a choice, and only a choice offered
        with_choice = [r for r in requests if r.choice is not None]
        if with_choice:
            assert before is not None and before.conversation is not None
            pending = before.conversation.ask
            assert pending is not None and pending.slot is None and pending.choices
            assert with_choice == requests[:1]
            assert with_choice[0].choice in pending.choices
            assert with_choice[0].cid == before.conversation.cid
        return said, effects

    # --- the user clicks, and the channel tells about its session --------------------------

    @rule(sid=SIDS, data=GIVEN, lang=LANGS, env=SETTINGS)
    def user_gives(self, sid: str, data: dict[str, Any], lang: str, env: dict[str, str]) -> None:
        self.texts += 1
        gave = UserGave(sid, data, f"u{self.texts}", lang, env)
        before = self.channels.get(sid)
        effects = self.feed(gave)
        if before is None:
            return
        requests = [m for m in self.messages(effects) if isinstance(m, IntentRequest)]
        if before.conversation is not None and before.conversation.ask is None:
            after = self.channels[sid].queue
            assert not requests
            # behind the conversation, unless the queue is full (then refused: unchanged)
            assert after == before.queue if len(before.queue) >= MAX_QUEUE \
                else after[-1:] in ((gave,), ())
            return
        if not requests:
            # nothing asked and nothing named: not understood
            assert before.conversation is None
            texts = [m.text for m in self.messages(effects) if isinstance(m, ChannelShow)]
            assert texts and texts[0] in NOT_UNDERSTOOD
            return
        first = requests[0]
        assert first.data == data, "the input reaches the skill as it was given"
        assert first.session == before.session
        if before.conversation is not None:
            # it answers the ask: the same conversation goes on
            assert first.cid == before.conversation.cid
            assert first.intent == before.conversation.intent
        else:
            # it names the intent it calls, among those in scope; nothing is parsed
            scope = self.world.catalog.scope(before.context)
            assert first.intent in scope
            assert first.intent == data.get("intent") or first.intent in data
            assert first.slots == {} and first.text == ""

    @rule(sid=SIDS, data=SESSION_DATA)
    def channel_tells_its_session(self, sid: str, data: dict[str, Any]) -> None:
        before = self.channels.get(sid)
        effects = self.feed(DialogSession(sid, data))
        if before is not None:
            assert self.messages(effects) == []
            assert self.channels[sid].session == {**before.session, **data}

    def check_cancel(self, before: Channel, said: UserSaid, effects: list[Effect]) -> None:
        """A cancel is never queued, always ends something and leaves the context."""
        after = self.channels[said.sid]
        assert said not in after.queue
        terminates = [m for m in self.messages(effects) if isinstance(m, ChannelTerminate)]
        assert terminates and terminates[0].reason is Reason.CANCELLED
        if before.context is not None:
            assert ChannelContext(said.sid, None) in self.messages(effects)
        # a queued text handled right after is parsed at the root and enters no context
        assert after.context is None

    def check_answer(self, before: Channel, said: UserSaid, effects: list[Effect]) -> None:
        """A text typed during a question answers it, is asked again, or is a new request."""
        conversation = before.conversation
        assert conversation is not None and conversation.ask is not None
        published = self.messages(effects)
        requests = [m for m in published if isinstance(m, IntentRequest)]
        if requests and requests[0].cid == conversation.cid:
            return      # an answer: the conversation goes on
        terminates = [m for m in published if isinstance(m, ChannelTerminate)]
        if not terminates:
            # no answer: the same question again, saying why and how to get out
            [again] = [m for m in published if isinstance(m, ChannelAsk)]
            assert again.text.endswith(say("say_cancel", said.lang))
            assert conversation.ask.text in again.text
            assert (again.slot, again.choices) == (conversation.ask.slot,
                                                   conversation.ask.choices)
            assert self.channels[said.sid].conversation == conversation
            return
        # a new request: the question is dropped with a word, as a cancel ends it
        assert published[:2] == [ChannelShow(said.sid, say("question_dropped", said.lang)),
                                 ChannelTerminate(said.sid, Reason.CANCELLED)]
        understood = self.world.understanding.parse(
            said.lang, said.text, self.world.catalog.scope(before.context))
        assert understood.intent is not None and understood.intent != conversation.intent
        assert self.world.catalog.skill_for(understood.intent) is not None
        after = self.channels[said.sid]
        # ...and the request runs, unless texts queued earlier go first
        assert said in after.queue or (requests and requests[-1].cid == said.cid)

    # --- skills speak -------------------------------------------------------------------

    @precondition(lambda self: self.busy())
    @rule(kind=SKILL_REPLIES, pick=st.integers(0, 50))
    def skill_replies(self, kind: str, pick: int) -> None:
        """The skill of a running conversation says something, with the right cid."""
        busy = self.busy()
        self.skill_says(busy[pick % len(busy)], kind, "current", pick)

    @rule(sid=SIDS, kind=SKILL_REPLIES, whose=st.sampled_from(["stale", "missing", "unknown"]),
          pick=st.integers(0, 50))
    def skill_strays(self, sid: str, kind: str, whose: str, pick: int) -> None:
        """A skill speaks out of turn: a finished conversation, no cid, a made-up one."""
        self.skill_says(sid, kind, whose, pick)

    def busy(self) -> list[str]:
        return [sid for sid, channel in sorted(self.channels.items()) if channel.conversation]

    def skill_says(self, sid: str, kind: str, whose: str, pick: int) -> None:
        channel = self.channels.get(sid)
        current = channel.conversation.cid if channel and channel.conversation else None
        started = self.seen[sid].started if sid in self.seen else []
        cid: str | None = {
            "current": current,
            "stale": started[pick % len(started)] if started else "u0",
            "missing": None,
            "unknown": f"nobody-{pick}",
        }[whose]
        message = skill_message(kind, cid, sid)
        effects = self.feed(message)
        if channel is None:
            return
        if cid is None or cid != current:
            # rule 6: a word from anyone but the current conversation is dropped, whole
            assert [type(e) for e in effects] == [Dismissed]
            assert self.channels[sid] == channel
            return
        after = self.channels[sid]
        published = self.messages(effects)
        assert not any(isinstance(e, Dismissed) for e in effects)
        clock = [e for e in effects if isinstance(e, Deadline)]
        if isinstance(message, DialogShow | DialogContext):
            # the skill is alive: it gets its time again, unless it waits for the user
            if channel.phase is Phase.WORKING:
                assert clock == [Deadline(sid, after.generation, SKILL_TIMEOUT)]
            else:
                assert clock == [] and after.generation == channel.generation
        if isinstance(message, DialogShow):
            assert published == [ChannelShow(sid, message.text, message.extra)]
        if isinstance(message, DialogAsk):
            assert published == [ChannelAsk(sid, message.text, message.slot, message.choices,
                                            message.extra)]
            assert clock == [Deadline(sid, after.generation, ASK_TIMEOUT)]
            assert after.phase is Phase.ASKING
        if isinstance(message, DialogContext):
            assert published == [ChannelContext(sid, message.name)]
            assert after.context == message.name
        if isinstance(message, DialogTerminate):
            assert published[0] == ChannelTerminate(sid, Reason.NOMINAL)
            assert after.context == channel.context

    @rule(sid=SIDS, text=st.sampled_from(["ding", "door open"]))
    def skill_notifies(self, sid: str, text: str) -> None:
        before = self.channels.get(sid)
        message = notify(text, sid, __from="timer", sound="bell")
        effects = self.feed(message)
        if before is None:
            return
        if before.phase is Phase.IDLE:
            assert self.messages(effects) == [ChannelShow(sid, text, {"sound": "bell"})]
        elif len(before.queue) < MAX_QUEUE:
            # behind a conversation, working or asking: it waits its turn
            assert effects == [] and self.channels[sid].queue == (*before.queue, message)

    @precondition(lambda self: self.busy())
    @rule(pick=st.integers(0, 50))
    def clock_runs_out(self, pick: int) -> None:
        """The deadline a busy channel armed passes: the skill or the user was too slow."""
        busy = self.busy()
        self.deadline_passes(busy[pick % len(busy)], "armed", 0)

    @rule(sid=SIDS, which=st.sampled_from(["armed", "older", "any"]),
          any_generation=st.integers(0, 12))
    def deadline_passes(self, sid: str, which: str, any_generation: int) -> None:
        channel = self.channels.get(sid)
        armed = self.seen[sid].armed if sid in self.seen else None
        if which == "armed" and armed is not None and armed[1] is not None:
            generation = armed[0]
        elif which == "older" and channel is not None:
            generation = channel.generation - 1
        else:
            generation = any_generation
        effects = self.feed(DeadlinePassed(sid, generation))
        if channel is None:
            return
        if channel.conversation is None or generation != channel.generation:
            assert effects == [] and self.channels[sid] == channel
        else:
            key = "ask_timeout" if channel.phase is Phase.ASKING else "timeout"
            assert self.messages(effects)[:2] == [ChannelShow(sid, say(key, channel.lang)),
                                                  ChannelTerminate(sid, Reason.TIMEOUT)]

    @rule(name=st.sampled_from(["clock", "timer", "lights", "catchall"]))
    def skill_leaves(self, name: str) -> None:
        # as the daemon does: the catalog forgets the skill, then the core hears it left
        self.live.pop(name, None)
        self.world = world_of(self.live.values())
        effects = self.feed(SkillGone(name))
        for sid, channel in self.channels.items():
            assert channel.conversation is None or channel.conversation.skill != name, sid
        for message in self.messages(effects):
            if isinstance(message, ChannelTerminate) and \
                    message.reason is not Reason.NOT_UNDERSTOOD:
                assert message.reason is Reason.SKILL_GONE

    @rule(pong=st.sampled_from([CLOCK, TIMER, LIGHTS, CATCHALL]))
    def skill_comes_back(self, pong: Pong) -> None:
        self.live[pong.name] = pong
        self.world = world_of(self.live.values())

    # --- running an event and reading what came out ---------------------------------------

    def unread(self, channel: Channel | None, event: Any) -> Dismissed | bool | None:
        """What the daemon would drop as it reads it: the core's dismissal, or True
        when only its topic is read (a skill's words on a sid with no conversation)."""
        if isinstance(event, SKILL_SPEECH):
            if speech_unread(channel) is not None:
                return True
            return stale_speech(channel, event) if channel is not None else None
        if isinstance(event, UserSaid) and channel is not None:
            if text_unread(channel, "one more", self.world):
                # A channel that refuses texts refuses exactly those refused_alike: any
                # number of them waiting change nothing for the text behind them.
                assert text_unread(channel, event.text, self.world) \
                    == refused_alike(channel, event.text, self.world)
            if text_unread(channel, event.text, self.world):
                return Dismissed(event.sid, "parse", "queue full")
        return None

    def feed(self, event: Any) -> list[Effect]:
        before = dict(self.channels)
        # What the daemon's reader may drop unread, the step drops too, changing nothing.
        unread = self.unread(before.get(getattr(event, "sid", "")), event)
        changes, effects = handle(before, event, self.world)
        if unread is not None:
            assert [type(e) for e in effects] == [Dismissed]
            assert unread is True or effects == [unread]
            assert all(before.get(sid) is channel for sid, channel in changes.items())
            self.dropped_unread += 1
        for changed, channel in changes.items():
            if channel is None:
                self.channels.pop(changed, None)
            else:
                assert channel.sid == changed
                self.channels[changed] = channel
        sid: str | None = getattr(event, "sid", None)
        if isinstance(event, Opened):
            return effects      # read by the rule, once it knows what kind of open it was
        if sid is not None and sid not in before:
            assert changes == {}
            assert all(isinstance(e, Dismissed) for e in effects)
        if sid in before and sid in self.channels:
            self.check_queue(before[sid], self.channels[sid], event)
        touched = {getattr(e.message, "sid", None) for e in effects if isinstance(e, Publish)}
        for each in sorted(s for s in touched | {sid} if s in self.channels):
            self.read(each, effects)
        return effects

    @staticmethod
    def messages(effects: list[Effect]) -> list[Any]:
        return [e.message for e in effects if isinstance(e, Publish)]

    def read(self, sid: str, effects: list[Effect]) -> None:
        """Follow one sid's published messages and deadlines, in order."""
        seen = self.seen.setdefault(sid, Seen())
        mine = [e for e in effects if (isinstance(e, Deadline) and e.sid == sid) or
                (isinstance(e, Publish) and getattr(e.message, "sid", None) == sid)]
        previous: Any = None
        for effect in mine:
            if isinstance(effect, Deadline):
                seen.armed = (effect.generation, effect.seconds)
                continue
            message = effect.message
            if isinstance(previous, ChannelWork):
                assert isinstance(message, IntentRequest), "work is followed by its intent"
            if isinstance(message, IntentRequest):
                assert isinstance(previous, ChannelWork), "an intent is announced by work"
                if seen.current is None:
                    # a new conversation: a fresh cid, from a text typed after the last one's
                    assert message.cid not in seen.started
                    if seen.started:
                        assert int(message.cid[1:]) > int(seen.started[-1][1:])
                    seen.current = message.cid
                    seen.started.append(message.cid)
                assert message.cid == seen.current, "one conversation at a time"
            elif isinstance(message, ChannelTerminate):
                if seen.current is not None:
                    assert message.reason is not Reason.NOT_UNDERSTOOD
                    seen.current = None
                elif message.reason is Reason.NOT_UNDERSTOOD:
                    assert isinstance(previous, ChannelShow)
                    assert previous.text in NOT_UNDERSTOOD
                elif isinstance(previous, ChannelShow) and previous.text in WELCOMES:
                    assert message.reason is Reason.NOMINAL  # the daemon's own greeting
                else:
                    # ending no conversation: only a cancel typed while idle does that
                    assert message.reason is Reason.CANCELLED
            if type(message) in CHANNEL_INBOX:
                _, payload = wire(message)
                assert not any(key.startswith("__") for key in payload), payload
            if isinstance(previous, ChannelShow) and previous.text in NOT_UNDERSTOOD:
                assert message == ChannelTerminate(sid, Reason.NOT_UNDERSTOOD)
            previous = message
        if isinstance(previous, ChannelShow) and previous.text in NOT_UNDERSTOOD:
            raise AssertionError("'not understood' without its terminate")

    def check_queue(self, before: Channel, after: Channel, event: Any) -> None:
        """The queue only loses its head and grows at its tail: first come, first served."""
        old, new = before.queue, after.queue
        assert any(new == old[k:] or new == (*old[k:], event) for k in range(len(old) + 1)), \
            (old, new)

    # --- invariants --------------------------------------------------------------------

    @invariant()
    def published_conversation_is_the_state(self) -> None:
        for sid, channel in self.channels.items():
            seen = self.seen.get(sid, Seen())
            current = channel.conversation.cid if channel.conversation else None
            assert seen.current == current, (sid, seen, channel)

    @invariant()
    def a_conversation_always_has_its_clock(self) -> None:
        for sid, channel in self.channels.items():
            armed = self.seen.get(sid, Seen()).armed
            if channel.phase is Phase.IDLE:
                assert armed is None or armed[1] is None
            else:
                expected = SKILL_TIMEOUT if channel.phase is Phase.WORKING else ASK_TIMEOUT
                assert armed == (channel.generation, expected)

    @invariant()
    def only_a_busy_channel_has_a_queue(self) -> None:
        for channel in self.channels.values():
            assert len(channel.queue) <= MAX_QUEUE
            if channel.phase is Phase.IDLE:
                assert channel.queue == ()

    @invariant()
    def the_state_is_plain_data(self) -> None:
        for channel in self.channels.values():
            assert json_round_trip(channel) == channel
            assert asdict(channel)["sid"] == channel.sid


CoreMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=30,
                                         deadline=None)
TestCore = CoreMachine.TestCase


# --- any events at all, built directly (no protocol validation on the way) -------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=6)
ANY_SID = st.sampled_from(["s1", "s2"])
ANY_CID = st.none() | st.sampled_from(["u1", "u2", "u3", "x"])
ANY_TEXT = st.one_of(st.text(max_size=12), REQUESTS, ANSWERS)
EXTRA = st.dictionaries(st.text(min_size=1, max_size=6).filter(lambda k: not k.startswith("__")),
                        JSON, max_size=3)
ANY_EVENT = st.one_of(
    st.builds(Opened, ANY_SID, st.sampled_from(["alice", "bob"]), st.sampled_from(["en", "fr"])),
    st.builds(Opened, ANY_SID, st.sampled_from(["alice", "bob"]), st.sampled_from(["en", "fr"]),
              st.none() | st.dictionaries(st.text(max_size=5), JSON, max_size=3), st.booleans(),
              st.sampled_from(["u1", "u5"])),
    st.builds(UserGave, ANY_SID, st.dictionaries(
        st.sampled_from(["intent", "choice", "set_timer", "duration", "x", "__welcome__"]),
        JSON, max_size=3), st.sampled_from(["u1", "u2", "u6"]), st.sampled_from(["en", "fr"])),
    st.builds(DialogSession, ANY_SID, st.dictionaries(st.text(max_size=5), JSON, max_size=3)),
    st.builds(Closed, ANY_SID),
    st.builds(UserSaid, ANY_SID, ANY_TEXT, st.sampled_from(["u1", "u2", "u3", "u4"]),
              st.sampled_from(["en", "fr", "", "xx_YY"]),
              st.dictionaries(st.sampled_from(["TIMER_SOUND", "CLOCK_FORMAT"]), JSON)),
    st.builds(DeadlinePassed, ANY_SID, st.integers(-1, 8)),
    st.builds(SkillGone, st.sampled_from(["clock", "timer", "lights", "catchall", "ghost"])),
    st.builds(DialogShow, ANY_SID, ANY_CID, ANY_TEXT, EXTRA),
    st.builds(DialogAsk, ANY_SID, ANY_CID, ANY_TEXT,
              st.none() | st.sampled_from(["duration", "room", "nothing"]),
              st.none() | st.lists(ANY_TEXT, max_size=3).map(tuple), EXTRA),
    st.builds(DialogContext, ANY_SID, ANY_CID, st.none() | st.sampled_from(["timer", "x"])),
    st.builds(DialogTerminate, ANY_SID, ANY_CID),
    st.builds(DialogNotify, ANY_SID, ANY_TEXT, EXTRA),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(ANY_EVENT, max_size=40), st.booleans())
def test_handle_never_raises_and_the_state_stays_plain_data(events: list[Any],
                                                            fallback: bool) -> None:
    world = make_world(CLOCK, TIMER, LIGHTS, *([CATCHALL, GREETER] if fallback else []))
    channels: dict[str, Channel] = {}
    for event in events:
        changes, effects = handle(channels, event, world)
        for sid, channel in changes.items():
            if channel is None:
                channels.pop(sid, None)
            else:
                channels[sid] = channel
        for effect in effects:
            if isinstance(effect, Publish):
                effect.message.topic()
                effect.message.to_payload()     # everything published can be sent
    for channel in channels.values():
        assert json_round_trip(channel) == channel
        assert channel.phase is not Phase.IDLE or channel.queue == ()
