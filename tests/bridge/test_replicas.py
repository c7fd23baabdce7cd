"""Bridges side by side (behind a balancer, docs/architecture.md, "Scaling out"): a
browser that reconnects through another bridge keeps its conversation."""

from __future__ import annotations

from .conftest import Person
from .helpers import Bridge, conversation, running_bridge, sign_in


async def test_a_browser_that_moves_to_another_bridge_answers_its_question_there(
        stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    async with running_bridge(stack.config, stack.store) as other:
        assert other.url != stack.url
        async with conversation(stack, tokens["access"]) as (client, _):
            await client.say("start a timer")
            _, ask, done = await client.expect("thinking", "ask", "done")
            assert ask["data"]["choices"] == ["yes", "no"]
        # The balancer sends the reconnection to the other bridge, which signed
        # nothing for alice: her token and her conversation hold there too.
        async with conversation(other, tokens["access"]) as (client, _):
            # The other bridge has no record of the pending question, so unlike the
            # first one it does not send it again on joining (a reloaded page does
            # not see it), but the answer is the conversation's all the same.
            await client.say("yes")
            _, answer, done = await client.expect("thinking", "answer", "done")
            assert answer["data"]["text"] == "Timer started."
            assert done["require_input"] is False
