"""Sockets close at once when their user is removed or signed out from another process."""

from __future__ import annotations

from atlas.bridge import Tokens
from atlas.bridge.tokens import load_secret
from atlas.store import Store

from .conftest import Person
from .helpers import Bridge, conversation, sign_in


async def test_a_removed_users_sockets_close_and_the_others_stay(stack: Bridge, alice: Person,
                                                                 bob: Person) -> None:
    alice_token = (await sign_in(stack, alice.name, alice.password))["access"]
    bob_token = (await sign_in(stack, bob.name, bob.password))["access"]
    async with conversation(stack, alice_token) as (phone, _), \
            conversation(stack, alice_token, device="tablet") as (tablet, _), \
            conversation(stack, bob_token) as (bobs, _):
        other = Store(stack.store.path)     # `atlas users remove`, in another process
        other.delete_user(alice.name)
        other.close()
        assert await phone.closed() == (4003, "invalid token: user removed")
        assert await tablet.closed() == (4003, "invalid token: user removed")
        await bobs.say("quel temps fait-il")     # bob speaks French
        assert [m["type"] for m in [await bobs.next() for _ in range(3)]] == \
            ["thinking", "answer", "done"]


async def test_sockets_close_when_every_token_of_the_user_is_revoked(stack: Bridge,
                                                                     alice: Person) -> None:
    token = (await sign_in(stack, alice.name, alice.password))["access"]
    async with conversation(stack, token) as (socket, _):
        config = stack.config
        tokens = Tokens(load_secret(config.data_dir), stack.store.path,
                        access_ttl=config.bridge.access_ttl,
                        refresh_ttl=config.bridge.refresh_ttl)
        assert tokens.revoke_user(alice.name) == 1     # a stolen phone: sign out everywhere
        tokens.close()
        assert await socket.closed() == (4003, "invalid token: token revoked")
