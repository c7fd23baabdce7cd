"""pytlas-server's own clients (pytlas-mobile: ``{"message"}`` with no type, the token
from ``access``) and the additions the page uses: structured input and the welcome."""

from __future__ import annotations

import pytest

from .conftest import Person
from .helpers import Bridge, conversation, sign_in, ws_client

pytestmark = [pytest.mark.timeout(120),
              pytest.mark.parametrize("broker_name", ["amqtt"], indirect=True)]


async def test_pytlas_mobile_messages_are_understood(stack: Bridge, alice: Person) -> None:
    token = (await sign_in(stack, alice.name, alice.password))["access"]
    async with conversation(stack, token) as (client, _):
        await client.send({"message": "what is the weather"})   # exactly pytlas-mobile's frame
        _, answer, _ = await client.expect("thinking", "answer", "done")
        assert answer["data"]["raw_text"] == "It is sunny in Paris."


async def test_a_clicked_choice_is_structured_input(stack: Bridge, alice: Person) -> None:
    token = (await sign_in(stack, alice.name, alice.password))["access"]
    async with conversation(stack, token) as (client, _):
        await client.say("set a timer")
        _, ask, _ = await client.expect("thinking", "ask", "done")
        assert ask["data"]["choices"] == ["yes", "no"]
        await client.send({"type": "data", "data": {"choice": "yes"}})
        _, answer, _ = await client.expect("thinking", "answer", "done")
        assert answer["data"]["text"] == "Timer started."
        # Outside a question, input naming no intent is not understood.
        await client.send({"type": "data", "data": {"nothing": 1}})
        _, done = await client.expect("answer", "done")
        assert done["reason"] == "not_understood"


async def test_the_welcome_once_per_new_conversation(stack: Bridge, alice: Person) -> None:
    token = (await sign_in(stack, alice.name, alice.password))["access"]
    hello = {"type": "authenticate", "token": token, "welcome": True}
    async with conversation(stack, token, device="phone") as (client, _):
        # Without asking, no welcome (seed clients see no change): the first thing
        # after ready is the answer to what the client says.
        await client.send({"type": "message", "message": "what is the weather"})
        await client.expect("thinking", "answer", "done")
    async with ws_client(stack) as client:
        await client.send({**hello, "device": "laptop"})
        _, answer, _ = await client.expect("ready", "answer", "done")
        assert answer["data"]["text"] == "Hello! What can I do for you?"   # the daemon's own
    async with ws_client(stack) as client:
        await client.send({**hello, "device": "laptop"})          # the same conversation
        await client.expect("ready")
        await client.say("what is the weather")
        assert [m["type"] for m in await client.expect("thinking", "answer", "done")]
