"""``req.data``, ``req.session`` and ``@skill.welcome`` as a handler sees them."""

from __future__ import annotations

from atlas.protocol import WELCOME_INTENT, IntentRequest
from atlas.sdk import Request, Skill
from atlas.sdk.testing import Recorder


def make_skill() -> Skill:
    skill = Skill("greeter")

    @skill.welcome
    async def welcome(req: Request) -> None:
        await req.show(f"Hello {req.session.get('first_name', 'you')}")

    @skill.intent("echo")
    async def echo(req: Request) -> None:
        await req.show(f"{req.data} {req.session}")

    return skill


async def test_the_welcome_is_an_intent_the_daemon_calls() -> None:
    skill = make_skill()
    assert WELCOME_INTENT in skill.pong().intents
    skill.check()  # an untrained welcome is expected, not a mistake
    sent = await Recorder(skill).call(WELCOME_INTENT, session={"first_name": "Ada"})
    assert Recorder.describe(sent)[0] == ("show", "Hello Ada")


async def test_data_and_session_reach_the_handler_and_survive_the_wire() -> None:
    recorder = Recorder(make_skill())
    sent = await recorder.call("echo", data={"echo": "Bob"}, session={"uid": "u1"})
    assert Recorder.describe(sent)[0] == ("show", "{'echo': 'Bob'} {'uid': 'u1'}")
    typed = await recorder.call("echo")
    assert Recorder.describe(typed)[0] == ("show", "None {}")
    request = recorder.request("echo", data={"a": [1]}, session={"b": 2})
    wire = IntentRequest.from_payload({"intent": "echo"}, request.to_payload())
    assert (wire.data, wire.session) == ({"a": [1]}, {"b": 2})
    assert "__data" not in IntentRequest.from_payload(
        {"intent": "echo"}, recorder.request("echo").to_payload()).to_dict()
