"""Bridges side by side (behind a balancer, docs/architecture.md, "Scaling out"): a
browser that reconnects through another bridge keeps its conversation, and with
``state: redis://…`` is shown where it stands (the pending question) there too."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from atlas.config import Config
from atlas.store import Store

from .conftest import Person
from .helpers import Bridge, Client, conversation, demo_skill, running_bridge, sign_in, skill_stack


async def until_done(client: Client, resumed: dict[str, Any]) -> list[dict[str, Any]]:
    """The messages up to the end of the conversation, without a late copy of the
    resumed question: a bridge passes on what it hears for the sids of its sockets,
    and the question may still have been on its way to it when the socket joined."""
    got = [await client.next()]
    while not (got[-1]["type"] == "done" and got[-1]["require_input"] is False):
        got.append(await client.next())
    late = [m for m in got if m["type"] == "ask" or m.get("require_input") is True]
    assert all(m["type"] == "done" or m["data"] == resumed["data"] for m in late), got
    return [m for m in got if m not in late]


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
            # Without `state`, the other bridge has no record of the pending
            # question, so unlike the first one it does not send it again on joining
            # (a reloaded page does not see it).
            await client.say("yes")
            rest = await until_done(client, ask)
            assert [m["type"] for m in rest] == ["thinking", "answer", "done"], rest
            assert rest[1]["data"]["text"] == "Timer started."


async def test_with_redis_state_another_bridge_asks_the_pending_question_again(
        bridge_config: Config, store: Store, alice: Person, skill_name: str,
        redis_url: str) -> None:
    # The daemon keeps its conversations as it does alone; the bridges share Redis.
    shared = replace(bridge_config, state=redis_url)
    async with skill_stack(bridge_config, store, demo_skill(skill_name),
                           bridge_config=shared) as first, \
            running_bridge(shared, store) as second:
        tokens = await sign_in(first, alice.name, alice.password)
        async with conversation(first, tokens["access"]) as (client, _):
            await client.say("start a timer")
            _, ask, _ = await client.expect("thinking", "ask", "done")
        # The page reloads; the balancer sends it to the other bridge.
        async with conversation(second, tokens["access"]) as (client, _):
            again, waiting = await client.expect("ask", "done")
            assert again["data"] == ask["data"] and waiting["require_input"] is True
            await client.say("yes")
            rest = await until_done(client, ask)
            assert [m["type"] for m in rest] == ["thinking", "answer", "done"], rest
            assert rest[1]["data"]["text"] == "Timer started."
        # Back on the first bridge: it heard the answer too, so nothing is pending
        # there either, and a new question is asked from the start.
        async with conversation(first, tokens["access"]) as (client, _):
            await client.say("start a timer")
            await client.expect("thinking", "ask", "done")
