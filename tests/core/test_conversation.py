"""One channel's conversation, driven by events alone (issue 2, rules 4-13)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from atlas.core import (
    Channel,
    Deadline,
    DeadlinePassed,
    Dismissed,
    OverBudget,
    Phase,
    Publish,
    SkillGone,
    SlotValues,
    Throttled,
    speech_unread,
    stale_speech,
    step,
    text_unread,
)
from atlas.core.conversation import MAX_QUEUE, MAX_SHOWS
from atlas.core.phrases import say
from atlas.protocol import (
    ChannelAsk,
    ChannelContext,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    DialogAsk,
    DialogShow,
    IntentRequest,
    Pong,
    ProtocolError,
    Reason,
)

from .helpers import (
    ASK_TIMEOUT,
    CATCHALL,
    CLOCK,
    LIGHTS,
    SKILL_TIMEOUT,
    TIMER,
    UNDERSTANDING,
    VERSION,
    KeywordUnderstanding,
    ask,
    context,
    deadlines,
    dismissed,
    make_world,
    new_channel,
    notify,
    of,
    published,
    run,
    said,
    show,
    terminate,
    wire,
)

WORLD = make_world()


def working(text: str = "what time is it", cid: str = "c1", **kwargs: Any) -> Channel:
    """A channel whose skill has just been called for ``text``."""
    channel, effects = run(new_channel(), [said(text, cid, **kwargs)], WORLD)
    assert channel.phase is Phase.WORKING and of(effects, IntentRequest)
    return channel


def asking(cid: str = "c1", **fields: Any) -> Channel:
    """A channel whose skill asks "How long?" (for the duration slot unless told)."""
    fields = fields or {"slot": "duration"}
    channel, _ = run(working("set a timer", cid), [ask(cid, "How long?", **fields)], WORLD)
    assert channel.phase is Phase.ASKING
    return channel


def request_of(effects: list[Any]) -> dict[str, Any]:
    [request] = of(effects, IntentRequest)
    return wire(request)[1]


# --- rule 4: parsing and dispatching ---------------------------------------------------

def test_a_new_channel_is_idle() -> None:
    assert new_channel().phase is Phase.IDLE


def test_an_understood_text_publishes_work_then_the_intent_then_arms_the_skill_clock() -> None:
    channel, effects = step(new_channel(), said("what time is it"), WORLD)
    [work, request, deadline] = effects
    assert work.message == ChannelWork("s1")  # type: ignore[union-attr]
    assert request.message.topic() == "atlas/intents/get_time"  # type: ignore[union-attr]
    assert deadline == Deadline("s1", channel.generation, SKILL_TIMEOUT)
    assert channel.phase is Phase.WORKING
    assert channel.conversation is not None and channel.conversation.skill == "clock"


def test_the_intent_request_carries_every_metadata_key() -> None:
    channel = new_channel(uid="bob", lang="fr")
    _, effects = step(channel, said("quelle time", "cid-42", lang="fr"), WORLD)
    payload = request_of(effects)
    assert payload["__cid"] == "cid-42"
    assert payload["__sid"] == "s1"
    assert payload["__uid"] == "bob"
    assert payload["__lang"] == "fr"
    assert payload["__version"] == VERSION
    assert payload["__env"] == {"CLOCK_FORMAT": None}
    assert payload["__slots"] == {}
    assert "__choice" not in payload


def test_the_user_language_of_the_text_wins_over_the_channel_one() -> None:
    channel, effects = step(new_channel(lang="en"), said("time", lang="fr"), WORLD)
    assert request_of(effects)["__lang"] == "fr"
    assert channel.lang == "fr"


@pytest.mark.parametrize(("text", "skill_env", "settings", "expected"), [
    # only the handling skill's declared keys, in the user's values
    ("set a timer", TIMER, {"TIMER_SOUND": "bell", "TIMER_VOLUME": 3, "CLOCK_FORMAT": "24h"},
     {"TIMER_SOUND": "bell", "TIMER_VOLUME": 3}),
    # a declared key with no value anywhere is present as null
    ("set a timer", TIMER, {"TIMER_SOUND": "bell"}, {"TIMER_SOUND": "bell", "TIMER_VOLUME": None}),
    ("set a timer", TIMER, {}, {"TIMER_SOUND": None, "TIMER_VOLUME": None}),
    # another skill's keys never leak
    ("what time", CLOCK, {"TIMER_SOUND": "bell", "LIGHTS_TOPIC": "z2m"}, {"CLOCK_FORMAT": None}),
    ("lights", LIGHTS, {"LIGHTS_TOPIC": "z2m/set"}, {"LIGHTS_TOPIC": "z2m/set"}),
])
def test_env_holds_the_declared_keys_only(text: str, skill_env: Any, settings: dict[str, Any],
                                          expected: dict[str, Any]) -> None:
    _, effects = step(new_channel(), said(text, settings=settings), WORLD)
    payload = request_of(effects)
    assert payload["__env"] == expected
    assert set(payload["__env"]) == set(skill_env.env)


@pytest.mark.parametrize(("text", "flat", "rich_values"), [
    ("timer for 5 minutes", {"duration": "5 minutes"}, {"duration": ["5 minutes"]}),
    ("timer for 5 minutes and 10 seconds", {"duration": ["5 minutes", "10 seconds"]},
     {"duration": ["5 minutes", "10 seconds"]}),
    ("lights in the kitchen", {"room": "kitchen"}, {"room": ["kitchen"]}),
    ("lights in the kitchen and the garage and the bedroom",
     {"room": ["kitchen", "garage", "bedroom"]}, {"room": ["kitchen", "garage", "bedroom"]}),
    ("set a timer", {}, {}),
])
def test_slots_are_flat_with_the_rich_form_in___slots(text: str, flat: dict[str, Any],
                                                      rich_values: dict[str, list[str]]) -> None:
    _, effects = step(new_channel(), said(text), WORLD)
    payload = request_of(effects)
    public = {k: v for k, v in payload.items() if not k.startswith("__")}
    assert public == flat
    assert {slot: [v["value"] for v in values] for slot, values in payload["__slots"].items()} \
        == rich_values
    for values in payload["__slots"].values():
        assert all(set(v) == {"value", "raw", "entity"} for v in values)


def test_the_intent_request_survives_the_wire() -> None:
    _, effects = step(new_channel(), said("timer for 5 minutes", settings={"TIMER_SOUND": "x"}),
                      WORLD)
    [request] = of(effects, IntentRequest)
    back = IntentRequest.from_payload({"intent": "set_timer"}, request.to_payload())
    assert back == request


# --- rule 5: one conversation at a time, the queue ---------------------------------------

def test_texts_sent_while_working_are_queued_silently() -> None:
    channel, effects = run(working(), [said("what date", "c2"), said("lights", "c3")], WORLD)
    assert effects == []
    assert [q.text for q in channel.queue] == ["what date", "lights"]
    assert channel.conversation is not None and channel.conversation.cid == "c1"


def test_queued_texts_are_handled_in_order_after_each_terminate() -> None:
    channel, _ = run(working(), [said("what date", "c2"), said("lights", "c3")], WORLD)
    channel, effects = step(channel, terminate("c1"), WORLD)
    assert [type(m) for m in published(effects)] == [ChannelTerminate, ChannelWork, IntentRequest]
    assert of(effects, IntentRequest)[0].cid == "c2"
    assert of(effects, IntentRequest)[0].intent == "get_date"
    channel, effects = step(channel, terminate("c2"), WORLD)
    assert of(effects, IntentRequest)[0].cid == "c3"
    assert of(effects, IntentRequest)[0].intent == "lights_on"
    channel, effects = step(channel, terminate("c3"), WORLD)
    assert channel.phase is Phase.IDLE and channel.queue == ()
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.NOMINAL)]


def test_queued_texts_nobody_understands_are_answered_and_the_next_one_runs() -> None:
    channel, _ = run(working(), [said("gibberish", "c2"), said("blah", "c3"),
                                 said("what date", "c4")], WORLD)
    channel, effects = step(channel, terminate("c1"), WORLD)
    reasons = [t.reason for t in of(effects, ChannelTerminate)]
    assert reasons == [Reason.NOMINAL, Reason.NOT_UNDERSTOOD, Reason.NOT_UNDERSTOOD]
    assert of(effects, IntentRequest)[0].cid == "c4"
    assert channel.queue == () and channel.phase is Phase.WORKING


def test_texts_are_not_queued_while_asking_they_answer() -> None:
    channel, effects = step(asking(slot="duration"), said("5 minutes", "c2"), WORLD)
    assert channel.queue == ()
    assert request_of(effects)["__cid"] == "c1"


def test_the_queue_is_bounded() -> None:
    channel = working()
    for n in range(MAX_QUEUE):
        channel, effects = step(channel, said(f"what date {n}", f"q{n}"), WORLD)
        assert effects == []
    channel, effects = step(channel, said("one too many", "late"), WORLD)
    told, gone = effects
    assert told == Publish(ChannelShow("s1", say("queue_full", "en")))
    assert isinstance(gone, Dismissed) and gone.reason == "queue full"
    channel, effects = step(channel, notify("ding"), WORLD)
    assert [type(e) for e in effects] == [Dismissed]       # told once, not every time
    channel, effects = step(channel, said("and another", "later"), WORLD)
    assert [type(e) for e in effects] == [Dismissed]
    assert len(channel.queue) == MAX_QUEUE


def test_the_full_queue_is_told_again_only_once_it_emptied() -> None:
    channel = working()
    for n in range(MAX_QUEUE + 1):
        channel, _ = step(channel, said(f"what date {n}", f"q{n}"), WORLD)
    channel, _ = step(channel, terminate("c1"), WORLD)      # the queue moves on: room for one
    channel, _ = step(channel, said("fill it", "f1"), WORLD)
    channel, effects = step(channel, said("too many again", "f2"), WORLD)
    assert [type(e) for e in effects] == [Dismissed]        # a flood goes on: not told again
    while channel.conversation is not None:                 # every queued one answered
        channel, _ = step(channel, terminate(channel.conversation.cid), WORLD)
    assert channel.queue == () and not channel.told_full
    channel, _ = step(channel, said("what time", "w"), WORLD)
    for n in range(MAX_QUEUE + 1):
        channel, effects = step(channel, said(f"what date {n}", f"a{n}"), WORLD)
    assert Publish(ChannelShow("s1", say("queue_full", "en"))) in effects


def test_the_full_queue_is_told_in_the_users_language() -> None:
    channel, _ = run(new_channel(lang="fr"), [said("what time", lang="fr")], WORLD)
    for n in range(MAX_QUEUE + 1):
        channel, effects = step(channel, said(f"what date {n}", f"q{n}", lang="fr"), WORLD)
    assert effects[0] == Publish(ChannelShow("s1", say("queue_full", "fr")))


def test_what_the_reader_may_drop_unread_is_what_the_step_drops() -> None:
    channel = working()
    for n in range(MAX_QUEUE):
        channel, _ = step(channel, said(f"what date {n}", f"q{n}"), WORLD)
    assert not text_unread(channel, "and another", WORLD)        # the user is not told yet
    channel, _ = step(channel, said("one too many", "late"), WORLD)
    assert channel.told_full
    assert text_unread(channel, "and another", WORLD)
    after, effects = step(channel, said("and another", "x", lang="fr"), WORLD)
    assert effects == [Dismissed("s1", "parse", "queue full")]
    assert after is channel                                      # nothing changed, not the lang
    assert not text_unread(channel, "cancel", WORLD)
    assert not text_unread(asking(slot="duration"), "and another", WORLD)
    # A skill out of turn, whatever the channel's queue.
    assert stale_speech(channel, show("c1", "still here")) is None
    stale = stale_speech(channel, show("c0", "late"))
    assert stale is not None and step(channel, show("c0", "late"), WORLD) == (channel, [stale])
    assert stale_speech(channel, show(None)) == Dismissed("s1", "DialogShow", "no __cid")
    # On a sid with no conversation, or no channel, whatever the cid.
    assert speech_unread(channel) is None
    idle, _ = step(working(), terminate("c1"), WORLD)
    assert speech_unread(idle) is not None and speech_unread(None) == "unknown sid"
    for cid in ("c1", "c0", None):
        assert step(idle, show(cid), WORLD) == (idle, [stale_speech(idle, show(cid))])


def test_a_skill_showing_past_its_budget_is_throttled_and_the_queue_goes_on() -> None:
    channel = working()
    channel, _ = step(channel, said("what date", "c2"), WORLD)
    for n in range(MAX_SHOWS):
        channel, effects = step(channel, show("c1", f"spam {n}"), WORLD)
        assert of(effects, ChannelShow) == [ChannelShow("s1", f"spam {n}")]
    channel, effects = step(channel, show("c1", "one more"), WORLD)
    assert [e for e in effects if isinstance(e, Throttled)] == [
        Throttled("s1", "clock", f"more than {MAX_SHOWS} shows in a conversation")]
    assert of(effects, ChannelShow)[0] == ChannelShow("s1", say("throttled", "en"))
    assert of(effects, ChannelTerminate)[0] == ChannelTerminate("s1", Reason.THROTTLED)
    assert of(effects, IntentRequest)[0].cid == "c2"          # the next text is handled
    _, effects = step(channel, show("c1", "still spamming"), WORLD)
    assert [d.reason for d in dismissed(effects)] == ["stale __cid c1"]


def test_a_conversation_past_a_readers_budget_ends_throttled_once() -> None:
    channel = working()
    channel, effects = step(channel, OverBudget("s1", "c1", "too many bytes"), WORLD)
    assert [e for e in effects if isinstance(e, Throttled)] == [
        Throttled("s1", "clock", "too many bytes")]
    assert of(effects, ChannelShow) == [ChannelShow("s1", say("throttled", "en"))]
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.THROTTLED)]
    _, effects = step(channel, OverBudget("s1", "c1", "too many bytes"), WORLD)
    assert [d.reason for d in dismissed(effects)] == ["stale __cid c1"]


# --- rule 6: the __cid guard -------------------------------------------------------

SKILL_SAYS = [
    pytest.param(lambda cid: show(cid, "hi"), id="show"),
    pytest.param(lambda cid: ask(cid, "how long?", slot="duration"), id="ask"),
    pytest.param(lambda cid: context(cid, "timer"), id="context"),
    pytest.param(lambda cid: terminate(cid), id="terminate"),
]


@pytest.mark.parametrize("message", SKILL_SAYS)
@pytest.mark.parametrize(("state", "cid", "reason"), [
    ("working", None, "no __cid"),
    ("working", "c0", "stale __cid c0"),
    ("asking", None, "no __cid"),
    ("asking", "other", "stale __cid other"),
    ("idle", "c1", "stale __cid c1"),
    ("idle", None, "no __cid"),
])
def test_a_skill_without_the_current_cid_is_dismissed_and_nothing_changes(
        message: Any, state: str, cid: str | None, reason: str) -> None:
    builders: dict[str, Callable[[], Channel]] = {
        "working": working, "asking": asking, "idle": new_channel}
    channel = builders[state]()
    after, effects = step(channel, message(cid), WORLD)
    assert after == channel
    assert len(effects) == 1
    [gone] = dismissed(effects)
    assert gone.sid == "s1" and gone.reason == reason


@pytest.mark.parametrize("message", SKILL_SAYS)
def test_the_cancelled_skill_is_dismissed_afterwards(message: Any) -> None:
    channel, _ = step(working(), said("cancel", "c2"), WORLD)
    after, effects = step(channel, message("c1"), WORLD)
    assert after == channel
    assert [type(e) for e in effects] == [Dismissed]


def test_a_finished_conversations_skill_is_dismissed_once_the_next_one_runs() -> None:
    channel, _ = run(working(), [said("what date", "c2"), terminate("c1")], WORLD)
    after, effects = step(channel, show("c1", "late news"), WORLD)
    assert [type(e) for e in effects] == [Dismissed] and after == channel
    after, effects = step(channel, show("c2", "today"), WORLD)
    assert of(effects, ChannelShow) == [ChannelShow("s1", "today")]


# --- rule 7: show ------------------------------------------------------------------

def test_show_forwards_text_and_every_public_property_and_no_metadata() -> None:
    cards = [{"header": "12:00", "subhead": "Paris", "media": "http://x/y.png"}]
    message = show("c1", "It is noon", cards=cards, media={"kind": "image"},
                   __secret="do not forward", __cid_extra=1)
    assert "__secret" not in message.extra and "__cid_extra" not in message.extra
    _, effects = step(working(), message, WORLD)
    [forwarded] = of(effects, ChannelShow)
    topic, payload = wire(forwarded)
    assert topic == "atlas/s1/channel/show"
    assert payload == {"text": "It is noon", "cards": cards, "media": {"kind": "image"}}


def test_the_protocol_strips_metadata_from_a_raw_show_payload() -> None:
    raw = {"__cid": "c1", "__uid": "mallory", "text": "hi", "__anything": [1], "cards": []}
    message = DialogShow.from_payload({"sid": "s1"}, json.dumps(raw))
    assert message.cid == "c1"
    assert message.extra == {"cards": []}
    _, effects = step(working(), message, WORLD)
    assert wire(of(effects, ChannelShow)[0])[1] == {"text": "hi", "cards": []}


def test_show_can_be_sent_several_times_and_each_rearms_the_skill_clock() -> None:
    channel = working()
    generations = [channel.generation]
    for n in range(3):
        channel, effects = step(channel, show("c1", f"part {n}"), WORLD)
        assert of(effects, ChannelShow) == [ChannelShow("s1", f"part {n}")]
        assert deadlines(effects) == [Deadline("s1", channel.generation, SKILL_TIMEOUT)]
        generations.append(channel.generation)
    assert generations == sorted(set(generations))
    assert channel.phase is Phase.WORKING


def test_show_while_asking_keeps_the_ask_clock() -> None:
    channel = asking(slot="duration")
    after, effects = step(channel, show("c1", "meanwhile"), WORLD)
    assert deadlines(effects) == []
    assert after.generation == channel.generation and after.phase is Phase.ASKING


# --- rule 8: ask with a slot ----------------------------------------------------------

def test_ask_with_a_slot_forwards_the_question_and_arms_the_ask_clock() -> None:
    channel, effects = step(working("set a timer"),
                            ask("c1", "For how long?", slot="duration", hint="e.g. 5 minutes",
                                __private="x"), WORLD)
    [question] = of(effects, ChannelAsk)
    assert wire(question) == ("atlas/s1/channel/ask",
                              {"text": "For how long?", "slot": "duration",
                               "hint": "e.g. 5 minutes"})
    assert deadlines(effects) == [Deadline("s1", channel.generation, ASK_TIMEOUT)]
    assert channel.phase is Phase.ASKING


def test_the_answer_fills_the_slot_and_calls_the_same_intent_with_the_same_cid() -> None:
    channel, effects = step(asking(slot="duration"), said("5 minutes please", "c-new"), WORLD)
    assert [type(m) for m in published(effects)] == [ChannelWork, IntentRequest]
    payload = request_of(effects)
    assert of(effects, IntentRequest)[0].intent == "set_timer"
    assert payload["__cid"] == "c1"
    assert payload["duration"] == "5 minutes"
    assert payload["__slots"]["duration"][0]["value"] == "5 minutes"
    assert "__choice" not in payload
    assert deadlines(effects) == [Deadline("s1", channel.generation, SKILL_TIMEOUT)]
    assert channel.phase is Phase.WORKING


def test_the_answer_keeps_the_slots_already_known() -> None:
    channel, _ = run(new_channel(), [said("lights in the garage"),
                                     ask("c1", "For how long?", slot="duration")], WORLD)
    # the lights skill asks for a slot the interpreter knows too: both end up in the call
    _, effects = step(channel, said("10 minutes", "c2"), WORLD)
    payload = request_of(effects)
    assert payload["room"] == "garage" and payload["duration"] == "10 minutes"
    assert set(payload["__slots"]) == {"room", "duration"}


def test_an_answer_that_is_no_value_of_the_slot_asks_again_saying_why() -> None:
    channel = asking(slot="duration", hint="minutes")
    after, effects = step(channel, said("banana", "c2"), WORLD)
    assert of(effects, IntentRequest) == []
    [again] = of(effects, ChannelAsk)
    assert wire(again)[1] == {
        "text": "Sorry, I didn't understand that answer. How long? Say \"cancel\" to stop.",
        "slot": "duration", "hint": "minutes"}
    assert deadlines(effects) == [Deadline("s1", after.generation, ASK_TIMEOUT)]
    assert after.phase is Phase.ASKING


@pytest.mark.parametrize(("answer", "value"), [
    ("kitchen", "kitchen"), ("KITCHEN", "kitchen"), ("kit", "kitchen"), ("Bed", "bedroom"),
    ("  garage ", "garage"),
])
def test_ask_with_a_slot_and_choices_matches_the_answer_to_a_choice(answer: str,
                                                                    value: str) -> None:
    channel = asking(slot="room", choices=["kitchen", "bedroom", "garage"])
    _, effects = step(channel, said(answer, "c2"), WORLD)
    payload = request_of(effects)
    assert payload["room"] == value and payload["__cid"] == "c1"
    assert "__choice" not in payload


@pytest.mark.parametrize("answer", ["attic", "5 minutes", "kitchens", "x"])
def test_ask_with_a_slot_and_choices_refuses_other_answers(answer: str) -> None:
    channel = asking(slot="room", choices=["kitchen", "bedroom", "garage"])
    after, effects = step(channel, said(answer, "c2"), WORLD)
    assert of(effects, IntentRequest) == []
    assert of(effects, ChannelAsk)[0].choices == ("kitchen", "bedroom", "garage")
    assert after.phase is Phase.ASKING


def test_a_new_question_replaces_the_pending_one() -> None:
    channel, effects = step(asking(slot="duration"), ask("c1", "Which room?", slot="room",
                                                         choices=["kitchen", "garage"]), WORLD)
    assert of(effects, ChannelAsk) == [ChannelAsk("s1", "Which room?", "room",
                                                  ("kitchen", "garage"))]
    # "5 minutes" answered the old question; it is no answer to this one
    after, effects = step(channel, said("5 minutes", "c2"), WORLD)
    assert of(effects, IntentRequest) == [] and after.phase is Phase.ASKING
    _, effects = step(channel, said("gar", "c3"), WORLD)
    assert request_of(effects)["room"] == "garage"


# --- rule 9: ask without a slot: choices and __choice ------------------------------------

def test_ask_without_slot_or_choices_is_refused_by_the_protocol() -> None:
    for payload in ({"__cid": "c1", "text": "?"}, {"__cid": "c1", "text": "?", "choices": []}):
        with pytest.raises(ProtocolError, match="choices"):
            DialogAsk.from_payload({"sid": "s1"}, json.dumps(payload))


def test_the_choice_goes_in___choice_on_the_next_call_only() -> None:
    channel = asking(choices=["yes", "no"])
    channel, effects = step(channel, said("Yes", "c2"), WORLD)
    first = request_of(effects)
    assert first["__choice"] == "yes" and first["__cid"] == "c1"
    # the skill asks again, this time for a slot: the next call has no __choice
    channel, _ = step(channel, ask("c1", "How long?", slot="duration"), WORLD)
    channel, effects = step(channel, said("3 hours", "c3"), WORLD)
    second = request_of(effects)
    assert "__choice" not in second
    assert second["duration"] == "3 hours"


def test_a_choice_does_not_stick_to_the_conversation() -> None:
    channel, _ = step(asking(choices=["yes", "no"]), said("no", "c2"), WORLD)
    assert channel.conversation is not None
    assert "no" not in json.dumps(channel.conversation.slots)


def test_a_bad_choice_asks_again_and_does_not_call_the_skill() -> None:
    channel = asking(choices=["yes", "no"])
    after, effects = step(channel, said("maybe", "c2"), WORLD)
    assert of(effects, IntentRequest) == [] and of(effects, ChannelWork) == []
    assert wire(of(effects, ChannelAsk)[0])[1] == {
        "text": "Sorry, that isn't one of the choices: yes or no. How long? "
                'Say "cancel" to stop.',
        "choices": ["yes", "no"]}
    after, effects = step(after, said("n", "c3"), WORLD)
    assert request_of(effects)["__choice"] == "no"


# --- questions that go nowhere: say why, or let a new request through -------------------

def test_a_reasked_question_lists_the_choices_in_the_users_language() -> None:
    channel = asking(slot="room", choices=["cuisine", "chambre", "partout"])
    after, effects = step(channel, said("le grenier", "c2", lang="fr"), WORLD)
    [again] = of(effects, ChannelAsk)
    assert again.text == ("Désolé, ce n'est pas l'un des choix : cuisine, chambre ou partout. "
                          "How long? Dites « annuler » pour arrêter.")
    assert again.choices == ("cuisine", "chambre", "partout") and again.slot == "room"
    # asked again and again, the hint does not pile up
    _, effects = step(after, said("la cave", "c3", lang="fr"), WORLD)
    assert of(effects, ChannelAsk) == [again]


def test_a_skills_first_question_is_forwarded_as_it_is() -> None:
    _, effects = step(working("set a timer"), ask("c1", "Sure?", choices=["yes", "no"]), WORLD)
    assert [m.text for m in of(effects, ChannelAsk)] == ["Sure?"]


NEW_REQUESTS = [
    pytest.param({"slot": "duration"}, "what time is it", "get_time", {}, id="slot"),
    pytest.param({"choices": ["yes", "no"]}, "turn the lights on in the garage", "lights_on",
                 {"room": "garage"}, id="choices"),
    pytest.param({"slot": "room", "choices": ["kitchen", "bedroom"]}, "what date is it",
                 "get_date", {}, id="slot-and-choices"),
]


@pytest.mark.parametrize(("fields", "text", "intent", "slots"), NEW_REQUESTS)
def test_a_new_request_during_a_question_drops_it_and_runs(
        fields: dict[str, Any], text: str, intent: str, slots: dict[str, Any]) -> None:
    channel = asking(**fields)
    after, effects = step(channel, said(text, "c2"), WORLD)
    [dropped, terminated, _, work, request, armed] = effects
    assert dropped == Publish(ChannelShow("s1", say("question_dropped", "en")))
    assert terminated == Publish(ChannelTerminate("s1", Reason.CANCELLED))
    assert work == Publish(ChannelWork("s1")) and isinstance(request, Publish)
    payload = wire(request.message)[1]
    assert request.message.topic() == f"atlas/intents/{intent}"
    assert payload["__cid"] == "c2" and {k: payload[k] for k in slots} == slots
    assert armed == Deadline("s1", after.generation, SKILL_TIMEOUT)
    assert after.phase is Phase.WORKING and after.conversation is not None
    assert after.conversation.cid == "c2" and after.conversation.intent == intent
    # the dropped question's skill is not heard any more
    _, late = step(after, show("c1", "too late"), WORLD)
    assert [type(e) for e in late] == [Dismissed]


def test_a_dropped_question_is_worded_in_french() -> None:
    _, effects = step(asking(slot="duration"), said("quelle time", "c2", lang="fr"), WORLD)
    assert of(effects, ChannelShow) == [ChannelShow("s1", say("question_dropped", "fr"))]
    assert say("question_dropped", "fr") != say("question_dropped", "en")


@pytest.mark.parametrize("text", [
    pytest.param("another timer please", id="the same intent"),
    pytest.param("what is the weather", id="no skill serves it"),
    pytest.param("the clock", id="not sure enough"),
    pytest.param("blah", id="not understood"),
])
def test_what_is_no_clear_new_request_gets_the_question_again(text: str) -> None:
    after, effects = step(asking(slot="duration"), said(text, "c2"), WORLD)
    assert of(effects, ChannelTerminate) == [] and of(effects, IntentRequest) == []
    [again] = of(effects, ChannelAsk)
    assert again.text.endswith(say("say_cancel", "en"))
    assert after.phase is Phase.ASKING and after.conversation is not None
    assert after.conversation.cid == "c1"


def test_a_valid_answer_wins_over_a_new_request() -> None:
    # "time" is understood, yet "5 minutes" answers the pending duration question
    _, effects = step(asking(slot="duration"), said("what time is it in 5 minutes", "c2"), WORLD)
    payload = request_of(effects)
    assert payload["__cid"] == "c1" and payload["duration"] == "5 minutes"


FREE_TEXT = KeywordUnderstanding(keywords=UNDERSTANDING.keywords,
                                 slot_patterns={"name": r"^.+$"})


@pytest.mark.parametrize(("text", "intent", "cid"), [
    ("pasta", "set_timer", "c1"),           # an answer
    ("what time is it", "get_time", "c2"),  # free text, yet clearly a request
])
def test_a_free_text_answer_yields_to_a_clear_new_request(text: str, intent: str,
                                                          cid: str) -> None:
    world = make_world(understanding=FREE_TEXT)
    channel, _ = run(new_channel(), [said("set a timer", "c1"), ask("c1", "Name?", slot="name")],
                     world)
    _, effects = step(channel, said(text, "c2"), world)
    [request] = of(effects, IntentRequest)
    assert (request.intent, request.cid) == (intent, cid)


def test_texts_queued_before_the_question_run_before_the_new_request() -> None:
    channel, _ = run(working("set a timer"), [said("what date", "c2"),
                                              ask("c1", "How long?", slot="duration")], WORLD)
    channel, effects = step(channel, said("what time is it", "c3"), WORLD)
    [request] = of(effects, IntentRequest)
    assert (request.intent, request.cid) == ("get_date", "c2")
    assert [item.text for item in channel.queue] == ["what time is it"]
    channel, effects = step(channel, terminate("c2"), WORLD)
    assert [(r.intent, r.cid) for r in of(effects, IntentRequest)] == [("get_time", "c3")]


ROOMS = KeywordUnderstanding(
    keywords=UNDERSTANDING.keywords,
    slot_patterns={"room": r"kitchen|bedroom|everywhere|all the lights|all of them"},
    intent_slots={"lights_on": ("room",)},
    synonyms={"all the lights": "everywhere", "all of them": "everywhere"})


@pytest.mark.parametrize("answer", ["everywhere", "all the lights", "all of them"])
def test_a_synonym_the_slot_knows_names_its_choice(answer: str) -> None:
    world = make_world(understanding=ROOMS)
    channel, _ = run(new_channel(), [said("lights", "c1"), ask(
        "c1", "Which room?", slot="room", choices=["kitchen", "bedroom", "everywhere"])], world)
    _, effects = step(channel, said(answer, "c2"), world)
    [request] = of(effects, IntentRequest)
    assert request.cid == "c1" and request.slots == {"room": "everywhere"}


def test_a_synonym_of_no_choice_is_no_answer() -> None:
    world = make_world(understanding=ROOMS)
    channel, _ = run(new_channel(), [said("lights", "c1"), ask(
        "c1", "Which room?", slot="room", choices=["kitchen", "bedroom"])], world)
    after, effects = step(channel, said("all of them", "c2"), world)
    assert of(effects, IntentRequest) == [] and after.phase is Phase.ASKING


# --- rule 10: terminate ----------------------------------------------------------------

def test_terminate_ends_the_conversation_with_reason_nominal() -> None:
    channel, effects = step(working(), terminate("c1"), WORLD)
    assert [wire(m) for m in published(effects)] == [
        ("atlas/s1/channel/terminate", {"reason": "nominal"})]
    assert deadlines(effects) == [Deadline("s1", channel.generation, None)]
    assert channel.phase is Phase.IDLE and channel.conversation is None


def test_terminate_while_asking_ends_the_conversation() -> None:
    channel, effects = step(asking(slot="duration"), terminate("c1"), WORLD)
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.NOMINAL)]
    assert channel.phase is Phase.IDLE


# --- rule 11: cancel ------------------------------------------------------------------

@pytest.mark.parametrize("word", ["cancel", "stop", "annule", "  Cancel ", "STOP"])
@pytest.mark.parametrize("state", ["working", "asking_slot", "asking_choice"])
def test_cancel_ends_the_conversation_from_any_state(word: str, state: str) -> None:
    channel = {"working": working, "asking_slot": lambda: asking(slot="duration"),
               "asking_choice": lambda: asking(choices=["stop", "go"])}[state]()
    after, effects = step(channel, said(word, "c2"), WORLD)
    assert published(effects) == [ChannelShow("s1", say("cancelled", "en")),
                                  ChannelTerminate("s1", Reason.CANCELLED)]
    assert deadlines(effects) == [Deadline("s1", after.generation, None)]
    assert after.phase is Phase.IDLE and after.queue == ()


def test_cancel_is_never_queued_and_the_queue_goes_on_after_it() -> None:
    channel, _ = run(working(), [said("what date", "c2")], WORLD)
    channel, effects = step(channel, said("cancel", "c3"), WORLD)
    assert [type(m) for m in published(effects)] == [ChannelShow, ChannelTerminate, ChannelWork,
                                                     IntentRequest]
    assert of(effects, IntentRequest)[0].cid == "c2"
    assert all(getattr(q, "text", None) != "cancel" for q in channel.queue)


def test_cancel_when_idle_says_it_is_done_without_a_conversation() -> None:
    channel, effects = step(new_channel(), said("cancel"), WORLD)
    assert published(effects) == [ChannelTerminate("s1", Reason.CANCELLED)]
    assert channel.phase is Phase.IDLE


def test_cancel_in_french() -> None:
    _, effects = step(working(lang="fr"), said("annule", "c2", lang="fr"), WORLD)
    assert of(effects, ChannelShow) == [ChannelShow("s1", say("cancelled", "fr"))]
    assert say("cancelled", "fr") != say("cancelled", "en")


@pytest.mark.parametrize("state", ["idle", "working", "asking"])
def test_cancel_leaves_the_context(state: str) -> None:
    channel, _ = run(working("set a timer"), [context("c1", "timer")], WORLD)
    if state == "idle":
        channel, _ = step(channel, terminate("c1"), WORLD)
    elif state == "asking":
        channel, _ = step(channel, ask("c1", "Sure?", choices=["yes", "no"]), WORLD)
    assert channel.context == "timer"
    channel, effects = step(channel, said("stop", "c2"), WORLD)
    assert ChannelContext("s1", None) in published(effects)
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.CANCELLED)]
    assert channel.context is None


# --- rule 11: not understood and fallback ------------------------------------------------

@pytest.mark.parametrize(("lang", "text"), [("en", "gibberish"), ("fr", "charabia"),
                                            ("de", "kauderwelsch"),
                                            # understood, but no live skill handles it
                                            ("en", "weather in Paris")])
def test_not_understood_shows_a_localized_answer_and_terminates(lang: str, text: str) -> None:
    channel, effects = step(new_channel(lang=lang), said(text, lang=lang), WORLD)
    assert published(effects) == [ChannelShow("s1", say("not_understood", lang)),
                                  ChannelTerminate("s1", Reason.NOT_UNDERSTOOD)]
    assert channel.phase is Phase.IDLE and deadlines(effects) == []


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_not_understood_points_to_help_when_a_skill_answers_it(lang: str) -> None:
    helper = Pong("help", intents={"help": []})
    _, effects = step(new_channel(lang=lang), said("gibberish", lang=lang),
                      make_world(CLOCK, helper))
    [shown] = of(effects, ChannelShow)
    assert shown.text == say("not_understood_help", lang)
    assert ("help" if lang == "en" else "aide") in shown.text
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.NOT_UNDERSTOOD)]
    assert of(effects, IntentRequest) == []


@pytest.mark.parametrize("text", ["gibberish", "weather tomorrow"])
def test_the_fallback_skill_receives_what_nothing_else_handles(text: str) -> None:
    world = make_world(CLOCK, TIMER, CATCHALL)
    channel, effects = step(new_channel(), said(text, settings={"TIMER_SOUND": "x"}), world)
    [request] = of(effects, IntentRequest)
    topic, payload = wire(request)
    assert topic == "atlas/intents/__fallback__"
    assert payload["__text"] == text and payload["__cid"] == "c1"
    assert payload["__env"] == {} and payload["__slots"] == {}
    assert channel.conversation is not None and channel.conversation.skill == "catchall"
    assert of(effects, ChannelTerminate) == []


def test_with_a_fallback_understood_texts_still_go_to_their_skill() -> None:
    _, effects = step(new_channel(), said("what time"), make_world(CLOCK, CATCHALL))
    assert of(effects, IntentRequest)[0].intent == "get_time"


# --- rule 11: deadlines --------------------------------------------------------------

def test_each_dispatch_ask_and_answer_arms_the_right_clock() -> None:
    channel = new_channel()
    seen: list[float | None] = []
    for event in [said("set a timer"), show("c1", "hm"), context("c1", "timer"),
                  ask("c1", "How long?", slot="duration"), said("5 minutes", "c2"),
                  terminate("c1")]:
        channel, effects = step(channel, event, WORLD)
        [deadline] = deadlines(effects)
        assert deadline.generation == channel.generation
        seen.append(deadline.seconds)
    assert seen == [SKILL_TIMEOUT, SKILL_TIMEOUT, SKILL_TIMEOUT, ASK_TIMEOUT, SKILL_TIMEOUT,
                    None]


@pytest.mark.parametrize("state", ["working", "asking"])
def test_a_stale_deadline_is_ignored(state: str) -> None:
    channel = working() if state == "working" else asking(slot="duration")
    for generation in (0, channel.generation - 1, channel.generation + 1):
        after, effects = step(channel, DeadlinePassed("s1", generation), WORLD)
        assert after == channel and effects == []


def test_a_deadline_rearmed_by_show_makes_the_first_one_stale() -> None:
    channel = working()
    first = channel.generation
    channel, _ = step(channel, show("c1", "still here"), WORLD)
    after, effects = step(channel, DeadlinePassed("s1", first), WORLD)
    assert effects == [] and after.phase is Phase.WORKING


def test_a_silent_skill_times_out() -> None:
    channel = working(lang="fr")
    channel, effects = step(channel, DeadlinePassed("s1", channel.generation), WORLD)
    assert published(effects) == [ChannelShow("s1", say("timeout", "fr")),
                                  ChannelTerminate("s1", Reason.TIMEOUT)]
    assert channel.phase is Phase.IDLE
    assert [type(e) for e in step(channel, show("c1", "too late"), WORLD)[1]] == [Dismissed]


def test_an_unanswered_question_times_out() -> None:
    channel = asking(slot="duration")
    channel, effects = step(channel, DeadlinePassed("s1", channel.generation), WORLD)
    assert published(effects) == [ChannelShow("s1", say("ask_timeout", "en")),
                                  ChannelTerminate("s1", Reason.TIMEOUT)]
    assert channel.phase is Phase.IDLE


def test_a_deadline_when_idle_does_nothing() -> None:
    channel, _ = step(working(), terminate("c1"), WORLD)
    after, effects = step(channel, DeadlinePassed("s1", channel.generation), WORLD)
    assert effects == [] and after == channel


def test_a_timeout_lets_the_queue_go_on() -> None:
    channel, _ = run(working(), [said("what date", "c2")], WORLD)
    channel, effects = step(channel, DeadlinePassed("s1", channel.generation), WORLD)
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.TIMEOUT)]
    assert of(effects, IntentRequest)[0].cid == "c2"
    # the new conversation's clock is the last one armed
    assert deadlines(effects)[-1] == Deadline("s1", channel.generation, SKILL_TIMEOUT)


# --- rule 11: a skill leaving mid-conversation ----------------------------------------------

@pytest.mark.parametrize("state", ["working", "asking"])
def test_the_handling_skill_leaving_ends_the_conversation(state: str) -> None:
    channel = working("set a timer") if state == "working" else asking(slot="duration")
    channel, effects = step(channel, SkillGone("timer"), WORLD)
    assert published(effects) == [ChannelShow("s1", say("skill_gone", "en")),
                                  ChannelTerminate("s1", Reason.SKILL_GONE)]
    assert deadlines(effects) == [Deadline("s1", channel.generation, None)]
    assert channel.phase is Phase.IDLE


@pytest.mark.parametrize("channel_of", [new_channel, lambda: working("what time")])
def test_another_skill_leaving_changes_nothing(channel_of: Any) -> None:
    channel = channel_of()
    after, effects = step(channel, SkillGone("timer"), WORLD)
    assert after == channel and effects == []


def test_a_context_nobody_serves_any_more_is_left_when_its_skill_goes() -> None:
    channel = in_context()
    without_timer = make_world(CLOCK, LIGHTS)       # the registry already dropped it
    after, effects = step(channel, SkillGone("timer"), without_timer)
    assert after.context is None
    assert published(effects) == [ChannelContext("s1", None)]


def test_a_context_still_served_stays_when_another_skill_goes() -> None:
    channel = in_context()
    after, effects = step(channel, SkillGone("lights"), make_world(CLOCK, TIMER))
    assert after.context == "timer" and effects == []


class NumericDurations(KeywordUnderstanding):
    def parse_slot(self, lang: str, intent: str, slot: str, text: str,
                   now: float | None = None) -> SlotValues:
        return [{"value": int(v["value"].split()[0]) * 60, "raw": v["raw"], "entity": "dur"}
                for v in super().parse_slot(lang, intent, slot, text)]


def test_a_choice_for_a_number_like_slot_is_resolved_as_its_value() -> None:
    channel = asking(slot="duration", choices=["5 minutes", "10 minutes"])
    world = replace(WORLD, understanding=NumericDurations(**vars(UNDERSTANDING)))
    channel, effects = step(channel, said("10 min", "c9"), world)
    (request,) = of(effects, IntentRequest)
    assert request.slots["duration"] == 600
    assert request.rich_slots["duration"][0]["entity"] == "dur"


def test_a_textual_choice_keeps_the_skills_spelling() -> None:
    channel = asking(slot="room", choices=["Kitchen", "Garage"])
    channel, effects = step(channel, said("kitchen", "c9"), WORLD)
    (request,) = of(effects, IntentRequest)
    assert request.slots["room"] == "Kitchen"


# --- rule 12: contexts ------------------------------------------------------------------

def in_context() -> Channel:
    channel, effects = run(working("set a timer"), [context("c1", "timer"), terminate("c1")],
                           WORLD)
    assert ChannelContext("s1", "timer") in published(effects)
    return channel


def test_entering_a_context_is_mirrored_on_the_channel() -> None:
    channel, effects = step(working("set a timer"), context("c1", "timer"), WORLD)
    assert wire(of(effects, ChannelContext)[0]) == ("atlas/s1/channel/context",
                                                     {"name": "timer"})
    assert channel.context == "timer"


def test_a_context_outlives_terminate_and_scopes_the_next_text() -> None:
    channel = in_context()
    assert channel.context == "timer" and channel.phase is Phase.IDLE
    _, effects = step(channel, said("pause it", "c2"), WORLD)
    assert wire(of(effects, IntentRequest)[0])[0] == "atlas/intents/timer/pause"


@pytest.mark.parametrize("text", ["what time is it", "lights"])
def test_in_a_context_root_intents_are_not_considered(text: str) -> None:
    _, effects = step(in_context(), said(text, "c2"), WORLD)
    assert of(effects, IntentRequest) == []
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.NOT_UNDERSTOOD)]


def test_at_the_root_context_intents_are_not_considered() -> None:
    _, effects = step(new_channel(), said("pause"), WORLD)
    assert of(effects, ChannelTerminate) == [ChannelTerminate("s1", Reason.NOT_UNDERSTOOD)]


def test_a_null_context_name_goes_back_to_the_root() -> None:
    channel, _ = step(in_context(), said("resume", "c2"), WORLD)
    channel, effects = step(channel, context("c2", None), WORLD)
    assert wire(of(effects, ChannelContext)[0])[1] == {"name": None}
    channel, _ = step(channel, terminate("c2"), WORLD)
    assert channel.context is None
    _, effects = step(channel, said("what time", "c3"), WORLD)
    assert of(effects, IntentRequest)[0].intent == "get_time"


def test_context_rearms_the_skill_clock_but_not_while_asking() -> None:
    channel, effects = step(working("set a timer"), context("c1", "timer"), WORLD)
    assert deadlines(effects) == [Deadline("s1", channel.generation, SKILL_TIMEOUT)]
    channel = asking(slot="duration")
    after, effects = step(channel, context("c1", "timer"), WORLD)
    assert deadlines(effects) == [] and after.generation == channel.generation


@pytest.mark.parametrize("name", ["", "a/b", "x" * 65])
def test_bad_context_names_are_refused_by_the_protocol(name: str) -> None:
    with pytest.raises(ProtocolError, match="context name"):
        context("c1", name)


# --- rule 13: notifications --------------------------------------------------------------

def test_a_notification_is_shown_at_once_when_idle() -> None:
    channel, effects = step(new_channel(), notify("Timer done!", card={"header": "Timer"},
                                                  __cid="junk", __from="timer"), WORLD)
    [shown] = published(effects)
    assert wire(shown) == ("atlas/s1/channel/show",
                           {"text": "Timer done!", "card": {"header": "Timer"}})
    assert channel == new_channel()


@pytest.mark.parametrize("state", ["working", "asking"])
def test_a_notification_waits_behind_the_conversation(state: str) -> None:
    channel = working() if state == "working" else asking(slot="duration")
    channel, effects = step(channel, notify("ding"), WORLD)
    assert effects == [] and len(channel.queue) == 1
    channel, effects = step(channel, terminate("c1"), WORLD)
    assert published(effects) == [ChannelTerminate("s1", Reason.NOMINAL),
                                  ChannelShow("s1", "ding")]
    assert channel.queue == ()


def test_notifications_and_texts_keep_their_arrival_order() -> None:
    channel, _ = run(working(), [notify("first"), said("what date", "c2"), notify("second")],
                     WORLD)
    channel, effects = step(channel, terminate("c1"), WORLD)
    assert [type(m) for m in published(effects)] == [ChannelTerminate, ChannelShow, ChannelWork,
                                                     IntentRequest]
    assert of(effects, ChannelShow)[0].text == "first"
    channel, effects = step(channel, terminate("c2"), WORLD)
    assert published(effects) == [ChannelTerminate("s1", Reason.NOMINAL),
                                  ChannelShow("s1", "second")]


# --- the state itself ---------------------------------------------------------------

def test_phase_follows_the_conversation() -> None:
    channel = new_channel()
    assert channel.phase is Phase.IDLE
    channel, _ = step(channel, said("set a timer"), WORLD)
    assert channel.phase is Phase.WORKING
    channel, _ = step(channel, ask("c1", "?", slot="duration"), WORLD)
    assert channel.phase is Phase.ASKING
    channel, _ = step(channel, said("1 hour", "c2"), WORLD)
    assert channel.phase is Phase.WORKING


def test_step_does_not_change_the_channel_it_was_given() -> None:
    channel = asking(slot="duration")
    before = replace(channel)
    step(channel, said("5 minutes", "c2"), WORLD)
    step(channel, said("cancel", "c2"), WORLD)
    assert channel == before
