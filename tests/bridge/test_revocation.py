"""Sockets close at once when their user is removed or signed out: from another
process (the bridge's look at the store every second), or from this one (news the
store gives, with that look made too rare to matter)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from atlas.bridge import Tokens, revocation
from atlas.bridge.tokens import load_secret
from atlas.cli import main
from atlas.store import Store

from .conftest import Person
from .helpers import Bridge, conversation, http, sign_in


@pytest.fixture
def no_poll(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The bridge looks at the store once an hour: only in-process news closes sockets.
    (Listed before ``stack`` so the bridge starts with it.)"""
    monkeypatch.setattr(revocation, "EVERY", 3600.0)
    yield


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


async def test_a_user_removed_in_this_process_is_closed_without_waiting_for_a_look(
        no_poll: None, stack: Bridge, alice: Person, bob: Person) -> None:
    alice_token = (await sign_in(stack, alice.name, alice.password))["access"]
    bob_token = (await sign_in(stack, bob.name, bob.password))["access"]
    async with conversation(stack, alice_token) as (phone, _), \
            conversation(stack, bob_token) as (bobs, _):
        stack.store.delete_user(alice.name)
        assert await phone.closed() == (4003, "invalid token: user removed")
        await bobs.say("quel temps fait-il")
        assert [m["type"] for m in [await bobs.next() for _ in range(3)]] == \
            ["thinking", "answer", "done"]


async def test_a_new_password_signs_the_user_out_everywhere(
        no_poll: None, stack: Bridge, alice: Person, bob: Person) -> None:
    """``atlas users passwd``: tokens issued before it are refused after it, and the
    user's open sockets close; other users are untouched."""
    before = await sign_in(stack, alice.name, alice.password)
    bob_token = (await sign_in(stack, bob.name, bob.password))["access"]
    async with conversation(stack, before["access"]) as (phone, _), \
            conversation(stack, bob_token) as (bobs, _):
        runner = CliRunner(env={"ATLAS_DATA_DIR": str(stack.config.data_dir)})
        done = await asyncio.to_thread(
            runner.invoke, main, ["users", "passwd", alice.name, "--password-stdin"],
            input="a new password\n", catch_exceptions=False)
        assert done.exit_code == 0, done.output
        assert "signed out of 1 sign-in(s)" in done.output
        assert await phone.closed() == (4003, "invalid token: token revoked")
        await bobs.say("quel temps fait-il")
        assert [m["type"] for m in [await bobs.next() for _ in range(3)]] == \
            ["thinking", "answer", "done"]
    status, _ = await http("GET", stack.url + "api/me", token=before["access"])
    assert status == 401
    status, _ = await http("POST", stack.url + "api/token/refresh",
                           {"refresh": before["refresh"]})
    assert status == 401
    status, _ = await http("POST", stack.url + "api/token",
                           {"username": alice.name, "password": alice.password})
    assert status == 401
    after = await sign_in(stack, alice.name, "a new password")
    status, me = await http("GET", stack.url + "api/me", token=after["access"])
    assert status == 200 and me["username"] == alice.name
