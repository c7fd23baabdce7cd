"""Skill: declaration, what its pong says, and how handlers are run (no broker)."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from atlas.nlu.errors import TrainingDataError
from atlas.protocol import (
    FALLBACK_INTENT,
    DialogShow,
    DialogTerminate,
    EnvSetting,
    Pong,
    ProtocolError,
    Skills,
    SkillSummary,
)
from atlas.sdk import Request, Skill, SkillError
from atlas.sdk.testing import Recorder

CHATL_EN = """\
%[turn_on]
  turn on the @[room] lights
  lights on in the @[room]
  switch the @[room] on

@[room]
  kitchen
  bedroom
"""

CHATL_FR = """\
%[turn_on]
  allume la lumière de la @[room]
  allume la @[room]

@[room]
  cuisine
  chambre
"""


def demo() -> Skill:
    skill = Skill("lamp", version="1.2.0", author="Ada", description="Lamps",
                  env={"LAMP_TOPIC": "string"})
    skill.training("en", CHATL_EN)
    skill.training("fr", CHATL_FR)
    return skill


def test_pong_derives_intents_and_slots_from_training() -> None:
    skill = demo()

    @skill.intent("turn_on")
    async def turn_on(req: Request) -> None:
        await req.show("on")

    @skill.intent(FALLBACK_INTENT)
    async def fallback(req: Request) -> None:
        await req.show("?")

    pong = skill.pong()
    assert pong.intents == {"turn_on": ["room"], FALLBACK_INTENT: []}
    assert pong.env == {"LAMP_TOPIC": "string"}
    assert pong.training == {"en": CHATL_EN, "fr": CHATL_FR}
    # What goes on the wire is what the daemon reads back.
    again = Pong.from_payload({}, pong.to_payload())
    assert again == pong and again.languages == ["en", "fr"]


def test_settings_and_descriptions_in_several_languages() -> None:
    skill = Skill("lamp", description={"en": "Lamps", "fr": "Lampes"}, env={
        "LAMP_TOPIC": "string",
        "LAMP_ROOMS": {"type": "list", "description": {"en": "Rooms", "fr": "Pièces"},
                       "default": ["kitchen"], "example": "kitchen, hall"},
        "LAMP_LEVEL": {"type": "int", "description": "Brightness"}})
    pong = skill.pong()
    assert pong.description == "Lamps" and pong.descriptions == {"fr": "Lampes"}
    # the types as before, whatever the form: the seed protocol's readers see no change
    assert pong.env == {"LAMP_TOPIC": "string", "LAMP_ROOMS": "list", "LAMP_LEVEL": "int"}
    wire = json.loads(pong.to_payload())
    assert wire["description"] == "Lamps" and wire["descriptions"] == {"fr": "Lampes"}
    assert wire["env"] == {
        "LAMP_TOPIC": "string",
        "LAMP_ROOMS": {"type": "list", "description": {"en": "Rooms", "fr": "Pièces"},
                       "default": ["kitchen"], "example": "kitchen, hall"},
        "LAMP_LEVEL": {"type": "int", "description": {"en": "Brightness"}}}
    again = Pong.from_payload({}, pong.to_payload())
    assert again == pong
    summary = Skills.from_payload({}, Skills("1", "now", (SkillSummary.of(again),))
                                  .to_payload()).skills[0]
    assert summary.description_in("fr") == "Lampes" and summary.description_in("de") == ""
    assert summary.setting("LAMP_ROOMS").example == "kitchen, hall"
    assert summary.setting("LAMP_TOPIC") == EnvSetting("string")


def test_a_seed_pong_with_type_strings_reads_as_before() -> None:
    pong = Pong.from_payload({}, json.dumps({"name": "old", "env": {"A": "string"},
                                             "description": "Old"}))
    assert pong.env == {"A": "string"} and pong.env_details == {} and pong.descriptions == {}
    assert "descriptions" not in json.loads(pong.to_payload())


@pytest.mark.parametrize("env", [{"A": 3}, {"A": {"type": 3}}, {"A": {"description": "x"}},
                                 {"A": {"description": {"en": 1}}}])
def test_bad_settings_are_refused(env: dict[str, object]) -> None:
    with pytest.raises(ProtocolError, match="env 'A'"):
        Pong.from_payload({}, json.dumps({"name": "bad", "env": env}))
    if not isinstance(env["A"], dict) or "type" not in env["A"]:
        return
    with pytest.raises(SkillError):
        Skill("bad", env=env)  # type: ignore[arg-type]


def test_declared_slots_for_untrained_intents() -> None:
    skill = Skill("x", intents={"ctx/pick": ["item"]})

    @skill.intent("ctx/pick")
    def pick(req: Request) -> None:
        pass

    assert skill.intents == {"ctx/pick": ["item"]}


def test_bad_training_names_skill_language_and_line() -> None:
    skill = Skill("broken")
    with pytest.raises(TrainingDataError) as caught:
        skill.training("fr", "%[a]\n  use @[undeclared]\n")
    assert "broken" in str(caught.value) and "fr" in str(caught.value)
    assert caught.value.line == 2


def test_inconsistent_skills_are_refused() -> None:
    with pytest.raises(SkillError):
        Skill("a/b")
    skill = demo()
    with pytest.raises(SkillError, match="no intent handler"):
        skill.check()

    @skill.intent("other")
    async def other(req: Request) -> None: ...

    with pytest.raises(SkillError, match="turn_on"):
        skill.check()
    with pytest.raises(SkillError, match="two handlers"):
        skill.intent("other")(other)
    with pytest.raises(SkillError):
        skill.intent("bad+name")
    with pytest.raises(SkillError):
        skill.listen(str)  # type: ignore[arg-type]


def test_training_files_and_folders(tmp_path: Path) -> None:
    (tmp_path / "en.chatl").write_text(CHATL_EN)
    (tmp_path / "fr.json").write_text(json.dumps({
        "language": "fr",
        "intents": {"turn_on": {"utterances": [
            {"data": [{"text": "allume la "}, {"text": "cuisine", "slot_name": "room",
                                                "entity": "room"}]}]}},
        "entities": {"room": {"data": [{"value": "cuisine", "synonyms": []}],
                              "use_synonyms": True, "automatically_extensible": True,
                              "matching_strictness": 1.0}},
    }))
    (tmp_path / "notes.txt").write_text("ignored")
    skill = Skill("lamp")
    skill.training_dir(tmp_path)
    assert sorted(skill.pong().training) == ["en", "fr"]
    assert isinstance(skill.pong().training["fr"], dict)
    (tmp_path / "de.json").write_text("{not json")
    with pytest.raises(TrainingDataError, match="de"):
        skill.training_file("de", tmp_path / "de.json")
    with pytest.raises(SkillError, match="cannot read"):
        skill.training_file("it", tmp_path / "missing.chatl")
    with pytest.raises(SkillError, match=r"no \.chatl"):
        Skill("empty").training_dir(tmp_path / "nothing")


async def test_handler_returning_quietly_is_terminated_for() -> None:
    skill = demo()

    @skill.intent("turn_on")
    async def turn_on(req: Request) -> None:
        await req.show(req._("Light on in {}", req.slot("room")))

    skill.translations("fr", {"Light on in {}": "Lumière allumée : {}"})
    recorder = Recorder(skill)
    out = await recorder.call("turn_on", lang="fr", room="cuisine", cid="c7")
    assert Recorder.describe(out) == [("show", "Lumière allumée : cuisine"), ("terminate", None)]
    assert all(getattr(m, "cid", None) == "c7" for m in out)


async def test_asking_handler_is_not_terminated() -> None:
    skill = demo()

    @skill.intent("turn_on")
    async def turn_on(req: Request) -> None:
        if req.slot("room") is None:
            await req.ask("room", "Which room?", ["kitchen"])

    out = await Recorder(skill).call("turn_on")
    assert Recorder.describe(out) == [("ask", "Which room?")]


async def test_failing_handler_apologizes_in_the_user_language(
        caplog: pytest.LogCaptureFixture) -> None:
    skill = demo()

    @skill.intent("turn_on")
    async def turn_on(req: Request) -> None:
        await req.show("working on it")
        raise KeyError("boom")

    out = await Recorder(skill).call("turn_on", lang="fr")
    assert Recorder.describe(out) == [("show", "working on it"),
                                      ("show", "Désolé, quelque chose s'est mal passé."),
                                      ("terminate", None)]
    assert "boom" in caplog.text and "turn_on" in caplog.text


async def test_failure_after_terminate_sends_nothing_more() -> None:
    skill = demo()

    @skill.intent("turn_on")
    async def turn_on(req: Request) -> None:
        await req.terminate()
        raise RuntimeError("late")

    out = await Recorder(skill).call("turn_on")
    assert Recorder.describe(out) == [("terminate", None)]


async def test_plain_function_handlers_run_off_the_event_loop() -> None:
    skill = demo()
    seen: list[int] = []

    @skill.intent("turn_on")
    def turn_on(req: Request) -> None:
        seen.append(threading.get_ident())
        req.show("from a thread")

    out = await Recorder(skill).call("turn_on")
    assert seen and seen[0] != threading.get_ident()
    assert isinstance(out[0], DialogShow) and isinstance(out[1], DialogTerminate)


async def test_spawned_jobs_outlive_the_handler_until_closed() -> None:
    skill = demo()
    rang = asyncio.Event()

    @skill.intent("turn_on")
    async def turn_on(req: Request) -> None:
        async def later() -> None:
            await rang.wait()
            await req.notify("ding")
        req.spawn(later())
        await req.show("set")

    recorder = Recorder(skill)
    await recorder.call("turn_on")
    assert Recorder.describe(recorder.sent) == [("show", "set"), ("terminate", None)]
    rang.set()
    await asyncio.gather(*recorder.tasks)
    assert Recorder.describe(recorder.sent)[-1] == ("notify", "ding")
    await recorder.close()


async def test_unknown_intent_is_ignored() -> None:
    out = await Recorder(demo()).call("nope")
    assert out == []


def test_listen_registers_message_handlers() -> None:
    skill = demo()

    @skill.listen(Skills)
    def on_skills(message: Skills) -> None: ...

    assert skill.listeners == {Skills: [on_skills]}


async def test_plain_function_handlers_can_spawn_jobs() -> None:
    skill = demo()

    @skill.intent("turn_on")
    def turn_on(req: Request) -> None:
        async def later() -> None:
            await req.notify("from the loop")
        req.spawn(later())

    recorder = Recorder(skill)
    await recorder.call("turn_on")
    await asyncio.gather(*recorder.tasks)
    assert ("notify", "from the loop") in Recorder.describe(recorder.sent)
