"""SDK skills through the real daemon: errors, the fallback, contexts, the tester itself."""

from __future__ import annotations

import socket

from atlas.protocol import FALLBACK_INTENT, ChannelContext, Reason
from atlas.sdk import Request, Skill
from atlas.sdk.testing import Replies, SkillTester
from atlas.transport import BrokerAddress

SHOP = """\
%[shop]
  let's go shopping
  I want to make a shopping list
  start my shopping list
  open the shopping list
  shopping time

%[shop/add]
  add @[item]
  put @[item] on the list
  I need @[item]
  @[item] please

%[shop/done]
  that's all
  I'm done
  finish the list
  nothing else

%[broken]
  break something
  crash now
  do the broken thing

@[item]
  milk
  eggs
  bread
  apples
"""


def shop_skill() -> Skill:
    skill = Skill("shop", version="1.0.0", description="Shopping lists")
    skill.training("en", SHOP)
    skill.training("fr", "%[broken]\n  casse tout\n  plante maintenant\n  fais une erreur\n")
    items: list[str] = []

    @skill.intent("shop")
    async def shop(req: Request) -> None:
        await req.context("shop")
        await req.show("What do you need?")

    @skill.intent("shop/add")
    async def add(req: Request) -> None:
        items.append(str(req.slot("item")))
        await req.show(f"Added {req.slot('item')}.")

    @skill.intent("shop/done")
    async def done(req: Request) -> None:
        await req.context(None)
        await req.show(f"Your list: {', '.join(items)}.")

    @skill.intent("broken")
    def broken(req: Request) -> None:
        raise ZeroDivisionError("a bug in the skill")

    @skill.intent(FALLBACK_INTENT)
    async def fallback(req: Request) -> None:
        await req.show(f"No idea what {req.text!r} means.")

    return skill


async def test_a_failing_handler_ends_the_conversation_politely(broker_url: str) -> None:
    async with SkillTester(shop_skill(), broker_url=broker_url, lang="fr") as t:
        replies = await t.say("plante maintenant")
        assert replies.texts == ["Désolé, quelque chose s'est mal passé."]
        # Terminated by the SDK with the reason error, not by the daemon's skill timeout.
        assert replies.reason == Reason.ERROR


async def test_contexts_route_to_prefixed_intents(broker_url: str) -> None:
    async with SkillTester(shop_skill(), broker_url=broker_url) as t:
        replies = await t.say("let's go shopping")
        assert ChannelContext(t.channel.sid, "shop") in replies
        assert replies.texts == ["What do you need?"]
        assert (await t.say("add milk")).texts == ["Added milk."]
        assert (await t.say("put eggs on the list")).texts == ["Added eggs."]
        replies = await t.say("that's all")
        assert replies.texts == ["Your list: milk, eggs."]
        assert ChannelContext(t.channel.sid, None) in replies


async def test_the_fallback_receives_what_nobody_understands(broker_url: str) -> None:
    async with SkillTester(shop_skill(), broker_url=broker_url) as t:
        replies = await t.say("what is the weather like in Paris tomorrow")
        assert replies.texts == ["No idea what 'what is the weather like in Paris tomorrow' means."]


def accepts(url: str) -> bool:
    address = BrokerAddress.parse(url)
    try:
        with socket.create_connection((address.host, address.port), timeout=5):
            return True
    except OSError:
        return False


async def test_the_tester_brings_its_own_broker_when_given_none() -> None:
    async with SkillTester(shop_skill()) as t:
        url = t.url
        assert accepts(url)
        assert [s.name for s in t.skills_message.skills] == ["shop"]  # type: ignore[union-attr]
        replies = await t.say("start my shopping list")
        assert isinstance(replies, Replies) and replies.texts == ["What do you need?"]
    assert not accepts(url)
