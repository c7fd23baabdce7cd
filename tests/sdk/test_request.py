"""Request: reading the daemon's payload and turning answers into protocol messages."""

from __future__ import annotations

import pytest

from atlas.protocol import (
    DialogAsk,
    DialogContext,
    DialogNotify,
    DialogShow,
    DialogTerminate,
    IntentRequest,
)
from atlas.sdk import Card, Request, RequestFinished, Skill
from atlas.sdk.i18n import Translations
from atlas.sdk.request import RawPublish
from atlas.sdk.testing import Recorder


def make(**changes: object) -> tuple[Request, Recorder]:
    recorder = Recorder(Skill("probe"), sid="s1")
    fields: dict[str, object] = {"intent": "do", "cid": "c1", "sid": "s1", "uid": "u",
                                 "lang": "fr", "version": "9", **changes}
    return Request(IntentRequest(**fields), recorder), recorder  # type: ignore[arg-type]


def test_reads_metadata_and_slots() -> None:
    req, _ = make(slots={"room": "kitchen", "dates": ["monday", "friday"]},
                  rich_slots={"room": [{"value": "kitchen", "raw": "the kitchen",
                                        "entity": "room"}]},
                  env={"KEY": "v"}, choice="yes", text="hey")
    assert (req.intent, req.cid, req.sid, req.uid, req.lang) == ("do", "c1", "s1", "u", "fr")
    assert req.env == {"KEY": "v"} and req.choice == "yes" and req.text == "hey"
    assert req.slot("room") == "kitchen"
    assert req.slots("room") == ["kitchen"]
    assert req.slot("dates") == "monday"
    assert req.slots("dates") == ["monday", "friday"]
    assert req.slot("missing") is None and req.slot("missing", 3) == 3
    assert req.slots("missing") == []
    assert req.rich("room")[0]["raw"] == "the kitchen"
    assert req.rich("dates") == []


def test_empty_list_slot_is_missing() -> None:
    req, _ = make(slots={"x": []})
    assert req.slot("x") is None


def test_translation_uses_request_language_and_formats() -> None:
    table = Translations()
    table.add("fr", {"Hello {}": "Bonjour {}", "Bye": "Au revoir"})
    req = Request(IntentRequest("do", "c", "s", "u", "fr-CA", "1"), Recorder(Skill("p")), table)
    assert req._("Hello {}", "Ana") == "Bonjour Ana"
    assert req._("Bye") == "Au revoir"
    assert req._("Untranslated") == "Untranslated"
    english = Request(IntentRequest("do", "c", "s", "u", "en", "1"), Recorder(Skill("p")), table)
    assert english._("Hello {}", "Ana") == "Hello Ana"


def test_sdk_apology_is_translated_built_in() -> None:
    req, _ = make()
    assert req._("Sorry, something went wrong.") != "Sorry, something went wrong."


def test_answers_carry_the_cid_and_sid() -> None:
    req, rec = make()
    req.show("hi", cards=[Card("Title", "body", media="http://x/y.png")], media="m")
    req.ask("room", "Which room?", ["kitchen", "bedroom"], hint="h")
    req.context("timer")
    req.terminate()
    show, ask, context, terminate = rec.sent
    assert isinstance(show, DialogShow) and show.cid == "c1" and show.sid == "s1"
    assert show.to_dict() == {"__cid": "c1", "text": "hi", "media": "m",
                              "cards": [{"header": "Title", "text": "body",
                                         "media": "http://x/y.png"}]}
    assert isinstance(ask, DialogAsk)
    assert ask.to_dict() == {"__cid": "c1", "text": "Which room?", "slot": "room",
                             "choices": ["kitchen", "bedroom"], "hint": "h"}
    assert isinstance(context, DialogContext) and context.name == "timer"
    assert isinstance(terminate, DialogTerminate) and terminate.cid == "c1"
    assert req.asked and req.terminated


def test_ask_choice_has_no_slot_and_needs_choices() -> None:
    req, rec = make()
    req.ask_choice("Sure?", ["yes", "no"])
    [ask] = rec.sent
    assert isinstance(ask, DialogAsk)
    assert ask.to_dict() == {"__cid": "c1", "text": "Sure?", "choices": ["yes", "no"]}
    with pytest.raises(ValueError):
        req.ask_choice("Sure?", [])
    with pytest.raises(TypeError):
        req.ask_choice("Sure?", "yes")


def test_bad_answers_are_refused_in_the_handler() -> None:
    req, rec = make()
    with pytest.raises(ValueError, match="reserved"):
        req.show("x", __cid="forged")
    with pytest.raises(TypeError, match="JSON"):
        req.show("x", when=object())
    with pytest.raises(TypeError):
        req.show(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        req.ask("", "which?")
    with pytest.raises(ValueError):
        req.context("a/b")
    assert rec.sent == []


def test_nothing_but_notify_after_terminate() -> None:
    req, rec = make()
    req.terminate()
    with pytest.raises(RequestFinished):
        req.show("late")
    with pytest.raises(RequestFinished):
        req.terminate()
    req.notify("ring", cards=[Card("Timer")])
    notify = rec.sent[-1]
    assert isinstance(notify, DialogNotify)
    assert notify.to_dict() == {"text": "ring", "cards": [{"header": "Timer"}]}
    assert "__cid" not in notify.to_dict()


def test_publish_goes_to_device_topics_only() -> None:
    req, rec = make()
    req.publish("zigbee2mqtt/kitchen/set", {"state": "ON"})
    assert rec.sent[-1] == RawPublish("zigbee2mqtt/kitchen/set", b'{"state": "ON"}')
    for topic in ("atlas/s1/dialog/show", "", "zigbee2mqtt/+/set", "a/#"):
        with pytest.raises(ValueError):
            req.publish(topic, "x")
    with pytest.raises(TypeError):
        req.publish("device/x", 3)  # type: ignore[arg-type]


def test_card_validates_fields() -> None:
    assert Card("H", subhead="S", header_link="http://h").to_dict() == {
        "header": "H", "subhead": "S", "header_link": "http://h"}
    with pytest.raises(TypeError):
        Card(None)  # type: ignore[arg-type]
