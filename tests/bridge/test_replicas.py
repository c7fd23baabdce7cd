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
            _, ask, _ = await client.expect("thinking", "ask", "done")
            assert ask["data"]["choices"] == ["yes", "no"]
        # The balancer sends the reconnection to the other bridge, which signed
        # nothing for alice: her token and her conversation hold there too.
        async with conversation(other, tokens["access"]) as (client, _):
            # The other bridge has no record of the pending question, so unlike the
            # first one it does not send it again on joining (a reloaded page does
            # not see it), unless the question was still on its way to it: it
            # passes on what it hears for the sids of its sockets.
            await client.say("yes")
            got = [await client.next()]
            while not (got[-1]["type"] == "done" and got[-1]["require_input"] is False):
                got.append(await client.next())
            late = [m for m in got if m["type"] == "ask" or m.get("require_input") is True]
            assert all(m["type"] == "done" or m["data"] == ask["data"] for m in late), got
            rest = [m for m in got if m not in late]
            assert [m["type"] for m in rest] == ["thinking", "answer", "done"], got
            assert rest[1]["data"]["text"] == "Timer started."
