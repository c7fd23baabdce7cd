"""The bridge end to end: a WebSocket client, the bridge, a broker, the daemon and a skill.

Each test runs on the embedded amqtt broker and on Mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import urllib.error
import urllib.request

import pytest
from brokers import running_task
from websockets.exceptions import ConnectionClosed

from atlas.bridge import Link, broker_address, create_app, listen, server
from atlas.bridge.messages import MAX_FRAME, sid_for
from atlas.bridge.tokens import Tokens, load_secret
from atlas.config import Config
from atlas.daemon import serve as serve_daemon
from atlas.protocol import ChannelCreate, DialogParse
from atlas.store import Store

from .conftest import Person, wait_for_skill
from .helpers import (
    Bridge,
    conversation,
    demo_skill,
    http,
    running_bridge,
    sign_in,
    spy,
    ws_client,
)


async def test_sign_in_refresh_and_revoke(stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    assert set(tokens) == {"access", "refresh"}
    status, me = await http("GET", stack.url + "api/me", token=tokens["access"])
    assert (status, me["username"], me["language"]) == (200, alice.name, "en")

    status, body = await http("POST", stack.url + "api/token/refresh",
                              {"refresh": tokens["refresh"]})
    assert status == 200 and set(body) == {"access"}
    assert (await http("GET", stack.url + "api/me", token=body["access"]))[0] == 200

    other = await sign_in(stack, alice.name, alice.password)  # another device's sign-in
    async with conversation(stack, tokens["access"]) as (signed_out, _), \
            conversation(stack, other["access"], device="phone") as (phone, _):
        status, _ = await http("POST", stack.url + "api/token/revoke",
                               {"refresh": tokens["refresh"]})
        assert status == 204
        # The socket of the revoked sign-in ends at once; the other one carries on.
        assert await signed_out.closed() == (4003, "invalid token: token revoked")
        await phone.say("what is the weather")
        await phone.expect("thinking", "answer", "done")
    for token in (tokens["access"], body["access"]):
        status, error = await http("GET", stack.url + "api/me", token=token)
        assert (status, error) == (401, {"error": "token revoked"})
    status, error = await http("POST", stack.url + "api/token/refresh",
                               {"refresh": tokens["refresh"]})
    assert (status, error) == (401, {"error": "token revoked"})


@pytest.mark.parametrize(("body", "status"), [
    ({"username": "nobody", "password": "whatever"}, 401),
    ({"username": "ALICE", "password": "correct horse"}, 401),
    ({"username": "alice"}, 400),
    ({"username": "alice", "password": 12}, 400),
    ([1, 2], 400),
    (b"not json", 400),
])
async def test_sign_in_refusals(stack: Bridge, alice: Person, body: object, status: int) -> None:
    if isinstance(body, dict) and body.get("username") == "alice":
        body = {**body, "username": alice.name}
    got, error = await http("POST", stack.url + "api/token", body)
    assert got == status
    assert isinstance(error["error"], str) and error["error"]


async def test_wrong_password_then_rate_limit(stack: Bridge, alice: Person) -> None:
    wrong = {"username": alice.name, "password": "wrong"}
    for _ in range(5):
        status, error = await http("POST", stack.url + "api/token", wrong)
        assert (status, error) == (401, {"error": "invalid username or password"})
    status, error = await http("POST", stack.url + "api/token",
                               {"username": alice.name, "password": alice.password})
    assert status == 429 and "too many" in error["error"]


@pytest.mark.parametrize("header", [None, "Bearer", "Bearer nonsense", "Basic abc"])
async def test_api_needs_a_valid_bearer_token(stack: Bridge, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for path in ("api/me", "api/me/env", "api/skills"):
        status, error = await http("GET", stack.url + path, headers=headers)
        assert status == 401 and error["error"]


async def test_token_paths_take_a_trailing_slash(stack: Bridge, alice: Person) -> None:
    status, tokens = await http("POST", stack.url + "api/token/",
                                {"username": alice.name, "password": alice.password})
    assert status == 200
    status, body = await http("POST", stack.url + "api/token/refresh/",
                              {"refresh": tokens["refresh"]})
    assert status == 200 and "access" in body


@pytest.mark.parametrize("origins", [("https://app.example",)])
async def test_allowed_origins_may_call_the_api(stack: Bridge) -> None:
    status, _ = await http("GET", stack.url + "api/openapi.json",
                           headers={"Origin": "https://app.example"})
    assert status == 200
    allowed = await asyncio.to_thread(_preflight, stack.url + "api/me", "https://app.example")
    assert allowed == "https://app.example"
    assert await asyncio.to_thread(_preflight, stack.url + "api/me", "https://evil.example") \
        is None


def _preflight(url: str, origin: str) -> str | None:
    request = urllib.request.Request(url, method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as error:
        return error.headers.get("Access-Control-Allow-Origin")


async def test_refresh_refuses_an_access_token(stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    status, error = await http("POST", stack.url + "api/token/refresh",
                               {"refresh": tokens["access"]})
    assert (status, error) == (401, {"error": "not a refresh token"})


async def test_a_socket_ends_when_its_access_token_expires(stack: Bridge, alice: Person) -> None:
    # A token with two seconds to live, made the way the bridge makes them.
    secret = load_secret(stack.config.data_dir)
    short, _ = await asyncio.to_thread(lambda: Tokens(
        secret, stack.store.path, access_ttl=2, refresh_ttl=120).issue(alice.name))
    async with conversation(stack, short) as (client, _):
        await client.say("what is the weather")
        await client.expect("thinking", "answer", "done")  # usable while it lives
        # closed() waits for the bridge's close frame (and fails if none comes)
        assert await client.closed() == (4003, "invalid token: token expired")
    # A fresh token gets a fresh socket, as the page does after a refresh.
    tokens = await sign_in(stack, alice.name, alice.password)
    async with conversation(stack, tokens["access"]) as (client, _):
        await client.say("what is the weather")
        await client.expect("thinking", "answer", "done")


async def test_first_message_rule(stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    secret = load_secret(stack.config.data_dir)
    past = Tokens(secret, stack.store.path, access_ttl=60, refresh_ttl=120,
                  clock=lambda: time.time() - 3600)
    expired, _ = past.issue(alice.name)
    forged, _ = Tokens(b"f" * 32, stack.store.path, access_ttl=60,
                       refresh_ttl=120).issue(alice.name)
    revoked, refresh = await asyncio.to_thread(lambda: Tokens(
        secret, stack.store.path, access_ttl=60, refresh_ttl=120).issue(alice.name))
    assert (await http("POST", stack.url + "api/token/revoke", {"refresh": refresh}))[0] == 204

    cases: list[tuple[object, int, str]] = [
        ({"type": "message", "message": "what is the weather"}, 4001, "authentication required"),
        ("{not json", 4001, "authentication required: frame is not JSON"),
        (b"\x00binary", 1003, "binary frames are not supported"),
        ({"type": "authenticate"}, 4001, "authentication required: authenticate needs"),
        ({"type": "authenticate", "token": "abc"}, 4003, "invalid token: malformed token"),
        ({"type": "authenticate", "token": forged}, 4003, "invalid token: invalid signature"),
        ({"type": "authenticate", "token": expired}, 4003, "invalid token: token expired"),
        ({"type": "authenticate", "token": revoked}, 4003, "invalid token: token revoked"),
        ({"type": "authenticate", "token": tokens["refresh"]}, 4003,
         "invalid token: not an access token"),
        ({"type": "authenticate", "token": tokens["access"], "device": "a/+/#"}, 4001,
         "authentication required: 'device'"),
        ("x" * (MAX_FRAME + 1), 1009, ""),
    ]
    async with spy(stack.config.broker, ChannelCreate, DialogParse) as seen:
        for frame, code, reason in cases:
            async with ws_client(stack) as client:
                if isinstance(frame, dict):
                    await client.send(frame)
                else:
                    await client.socket.send(frame)  # type: ignore[arg-type]
                got_code, got_reason = await client.closed()
                assert got_code == code, (frame, got_code, got_reason)
                assert (got_reason or "").startswith(reason), (frame, got_reason)
        # A good socket last: the first create the broker carries must be its own, so
        # none of the refused ones published anything (one connection keeps order).
        async with conversation(stack, tokens["access"], device="marker"):
            first = await asyncio.wait_for(seen.get(), 20)
    assert first == ChannelCreate(sid_for(alice.name, "marker"), alice.name)


async def test_conversation_every_message_type(stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    # Without a trailing slash too: pytlas-server clients differ on it.
    stack_no_slash = Bridge(stack.url, stack.store, stack.config)
    async with conversation(stack_no_slash, tokens["access"]) as (client, language):
        assert language == "en"
        await client.say("what is the weather")
        thinking, answer, done = await client.expect("thinking", "answer", "done")
        assert thinking == {"type": "thinking"}
        assert answer["data"]["text"] == "It is **sunny** in Paris."
        assert answer["data"]["raw_text"] == "It is sunny in Paris."
        assert answer["data"]["cards"][0]["header"] == "Paris"
        assert answer["data"]["cards"][0]["header_link"] == "https://example.org/paris"
        assert done == {"type": "done", "require_input": False, "reason": "nominal"}

        await client.say("go to the kitchen")
        _, context, shown, _ = await client.expect("thinking", "context", "answer", "done")
        assert context == {"type": "context", "name": "kitchen"}
        assert shown["data"]["text"] == "You are in the kitchen."
        await client.say("leave the kitchen")
        _, context, _, _ = await client.expect("thinking", "context", "answer", "done")
        assert context == {"type": "context", "name": None}

        await client.say("blorp zzkx qwv")
        answer, done = await client.expect("answer", "done")
        assert done["require_input"] is False and done["reason"] == "not_understood"


async def test_choice_resumes_after_reconnect(stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    async with conversation(stack, tokens["access"]) as (client, _):
        await client.say("start a timer")
        _, ask, done = await client.expect("thinking", "ask", "done")
        assert ask["data"]["text"] == "Start a 5 minute timer?"
        assert ask["data"]["choices"] == ["yes", "no"]
        assert ask["data"]["slot"] is None
        assert done == {"type": "done", "require_input": True}
    # The page reloads: a new socket of the same user and device resumes the question.
    async with conversation(stack, tokens["access"]) as (client, _):
        again, done = await client.expect("ask", "done")
        assert again["data"] == ask["data"]
        assert done["require_input"] is True
        await client.say("yes")
        _, answer, done = await client.expect("thinking", "answer", "done")
        assert answer["data"]["text"] == "Timer started."
        assert answer["data"]["cards"] == [{"header": "Timer", "text": "5 minutes"}]
        assert done["require_input"] is False
    async with conversation(stack, tokens["access"]) as (client, _):
        await client.say("what is the weather")  # nothing pending was re-sent before it
        await client.expect("thinking", "answer", "done")


async def test_two_sockets_of_one_user_share_the_conversation(stack: Bridge,
                                                              alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    async with conversation(stack, tokens["access"]) as (first, _), \
            conversation(stack, tokens["access"]) as (second, _):
        await first.say("start a timer")
        for client in (first, second):
            _, ask, _ = await client.expect("thinking", "ask", "done")
            assert ask["data"]["choices"] == ["yes", "no"]
        await second.say("no")  # answered from the other tab
        for client in (first, second):
            _, answer, _ = await client.expect("thinking", "answer", "done")
            assert answer["data"]["text"] == "No timer then."
        # Another device of the same user is another conversation.
        async with conversation(stack, tokens["access"], device="phone") as (phone, _):
            await phone.say("what is the weather")
            await phone.expect("thinking", "answer", "done")
            await first.say("go to the kitchen")
            _, context, _, _ = await first.expect("thinking", "context", "answer", "done")
            assert context["name"] == "kitchen"


async def test_two_users_are_isolated(stack: Bridge, alice: Person, bob: Person) -> None:
    alice_token = (await sign_in(stack, alice.name, alice.password))["access"]
    bob_token = (await sign_in(stack, bob.name, bob.password))["access"]
    async with conversation(stack, alice_token) as (a, a_lang), \
            conversation(stack, bob_token) as (b, b_lang):
        assert (a_lang, b_lang) == ("en", "fr")
        await a.say("start a timer")
        await a.expect("thinking", "ask", "done")
        # Bob, even naming Alice's device, has his own sid: his answer is his own and
        # Alice's question never reached him.
        async with conversation(stack, bob_token, device="web") as (b2, _):
            await b2.say("quel temps fait-il")
            for client in (b, b2):
                _, answer, _ = await client.expect("thinking", "answer", "done")
                assert answer["data"]["text"] == "Il fait **beau** à Paris."
        await a.say("yes")
        _, answer, _ = await a.expect("thinking", "answer", "done")
        assert answer["data"]["text"] == "Timer started."


async def test_bad_frames_after_authentication(stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    async with conversation(stack, tokens["access"]) as (client, _):
        await client.socket.send("{oops")
        assert await client.next() == {"type": "error", "message": "frame is not JSON"}
        await client.send({"type": "dance"})
        assert (await client.next())["message"] == "unknown message type 'dance'"
        await client.send({"type": "authenticate", "token": tokens["access"]})
        assert (await client.next())["message"] == "already authenticated"
        await client.send({"type": "message", "message": ""})
        assert (await client.next())["type"] == "error"
        await client.say("what is the weather")  # still conversing
        await client.expect("thinking", "answer", "done")
        await client.socket.send(b"\x01\x02")
        assert await client.closed() == (1003, "binary frames are not supported")
    async with conversation(stack, tokens["access"]) as (client, _):
        await client.say("x" * (MAX_FRAME + 10))
        code, _ = await client.closed()
        assert code == 1009


@pytest.mark.parametrize(("origins", "origin", "allowed"), [
    ((), None, True),                                        # not a browser
    ((), "same", True),                                      # the bridge's own page
    ((), "http://evil.example", False),
    (("https://atlas.example",), "https://atlas.example", True),
    (("https://atlas.example",), "same", False),
])
async def test_origin_checks(stack: Bridge, alice: Person, origins: tuple[str, ...],
                             origin: str | None, allowed: bool) -> None:
    assert stack.config.bridge.origins == origins
    if origin == "same":
        origin = stack.url.rstrip("/")
    tokens = await sign_in(stack, alice.name, alice.password)
    async with spy(stack.config.broker, ChannelCreate, DialogParse) as seen, \
            ws_client(stack, origin=origin) as client:
        if allowed:
            await client.send({"type": "authenticate", "token": tokens["access"]})
            assert (await client.next())["type"] == "ready"
            assert isinstance(await asyncio.wait_for(seen.get(), 20), ChannelCreate)
        else:  # refused at once, before the token is even read
            assert await client.closed() == (1008, "origin not allowed")


async def test_a_user_past_the_rate_is_told_then_closed_and_the_broker_never_sees_it(
        stack: Bridge, alice: Person) -> None:
    # A page or script sending 40 messages at once on each of two sockets of one user.
    rate, sent = stack.config.bridge.rate, 40
    burst = 2 * rate
    why = f"too many messages: at most {rate:g} per second"
    tokens = await sign_in(stack, alice.name, alice.password)
    async with spy(stack.config.broker, DialogParse) as seen:
        async with conversation(stack, tokens["access"]) as (laptop, _), \
                conversation(stack, tokens["access"], device="phone") as (phone, _):
            started = time.monotonic()
            for n in range(2 * sent):
                await (laptop, phone)[n % 2].say("what is the weather")
            for client in (laptop, phone):
                errors = []
                with contextlib.suppress(ConnectionClosed):
                    while True:
                        message = await client.next()
                        if message["type"] == "error":
                            errors.append(message["message"])
                # Told of each message refused; closed once `burst` came in a row.
                assert len(errors) >= burst - 1 and set(errors) == {why}
                assert (client.socket.close_code, client.socket.close_reason) == (1008, why)
            elapsed = time.monotonic() - started
        # What the broker carried before a last, marked message: the user's bucket,
        # shared by the sockets, let at most its burst and its rate through (a bucket
        # per socket would have let twice that).
        await asyncio.sleep(1 / rate)
        async with conversation(stack, tokens["access"], device="marker") as (client, _):
            await client.say("what is the weather")
            await client.expect("thinking", "answer", "done")
        published = []
        while (message := await asyncio.wait_for(seen.get(), 20)).sid \
                != sid_for(alice.name, "marker"):
            published.append(message)
    assert 1 <= len(published) <= burst + rate * elapsed
    assert {m.sid for m in published} <= {sid_for(alice.name, "web"), sid_for(alice.name, "phone")}


async def test_language_change_recreates_the_channel(stack: Bridge, alice: Person) -> None:
    tokens = await sign_in(stack, alice.name, alice.password)
    async with conversation(stack, tokens["access"]) as (client, language):
        assert language == "en"
        status, me = await http("PUT", stack.url + "api/me", {"language": "fr"},
                                token=tokens["access"])
        assert (status, me["language"]) == (200, "fr")
        assert await client.next() == {"type": "ready", "language": "fr"}
        await client.say("quel temps fait-il")
        _, answer, _ = await client.expect("thinking", "answer", "done")
        assert answer["data"]["text"] == "Il fait **beau** à Paris."
    status, error = await http("PUT", stack.url + "api/me", {"language": "../etc"},
                               token=tokens["access"])
    assert status == 400 and "language" in error["error"]


async def test_skills_and_env(stack: Bridge, alice: Person, skill_name: str) -> None:
    token = (await sign_in(stack, alice.name, alice.password))["access"]
    status, body = await http("GET", stack.url + "api/skills", token=token)
    demo = next(s for s in body["skills"] if s["name"] == skill_name)
    assert demo["version"] == "1.2.3"
    assert set(demo["intents"]) == {"weather", "timer", "kitchen", "kitchen/leave", "markup"}
    assert demo["env"]["DEMO_API_KEY"] == "string"     # the seed's form, when that is all
    assert demo["env"]["DEMO_UNITS"] == {"type": "string", "default": "metric",
                                         "example": "imperial",
                                         "description": {"en": "Units of temperature",
                                                         "fr": "Unités de température"}}
    assert demo["description"] == "Bridge demo"
    assert demo["descriptions"] == {"fr": "Démo du pont"}

    status, env = await http("PUT", stack.url + "api/me/env",
                             {"DEMO_API_KEY": "s3cr3t-value", "DEMO_CITY": "Lyon"}, token=token)
    assert status == 200
    assert "s3cr3t-value" not in str(env)
    entries = {e["key"]: e for s in env["skills"] if s["name"] == skill_name for e in s["env"]}
    assert entries["DEMO_API_KEY"]["value"] == "••••" and entries["DEMO_API_KEY"]["set"]
    assert (entries["DEMO_UNITS"]["default"], entries["DEMO_UNITS"]["example"]) == (
        "metric", "imperial")
    assert entries["DEMO_CITY"]["value"] == "Lyon"
    assert env_of(stack, alice) == {"DEMO_API_KEY": "s3cr3t-value", "DEMO_CITY": "Lyon"}
    # Sending the mask back leaves the secret alone; null removes a value.
    status, _ = await http("PUT", stack.url + "api/me/env",
                           {"DEMO_API_KEY": "••••", "DEMO_CITY": None}, token=token)
    assert status == 200
    assert env_of(stack, alice) == {"DEMO_API_KEY": "s3cr3t-value"}
    status, error = await http("PUT", stack.url + "api/me/env", {"ROOT_PASSWORD": "x"},
                               token=token)
    assert status == 400 and "ROOT_PASSWORD" in error["error"]


def env_of(stack: Bridge, person: Person) -> dict[str, object]:
    user = stack.store.user(person.name)
    assert user is not None
    return user.env


async def test_openapi_and_page_are_served(stack: Bridge) -> None:
    status, spec = await http("GET", stack.url + "api/openapi.json")
    assert status == 200 and spec["openapi"].startswith("3.")
    assert {"/api/token", "/api/token/refresh", "/api/me", "/api/me/env",
            "/api/skills"} <= set(spec["paths"])


async def test_a_restarted_daemon_gets_the_channels_back(bridge_config: Config, store: Store,
                                                         alice: Person, skill_name: str) -> None:
    first = asyncio.create_task(serve_daemon(bridge_config, store))
    async with demo_skill(skill_name).connect(bridge_config.broker) as running, \
            running_task(running.serve()), running_bridge(bridge_config, store) as bridge:
        await wait_for_skill(bridge, skill_name)
        token = (await sign_in(bridge, alice.name, alice.password))["access"]
        async with conversation(bridge, token) as (client, _):
            await client.say("go to the kitchen")
            await client.expect("thinking", "context", "answer", "done")
            first.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await first
            async with running_task(serve_daemon(bridge_config, store)):
                # The new daemon restored the channel and its context from its store:
                # the bridge creates the channel again and the socket goes on.
                first_two = [await client.next(), await client.next()]
                assert {"type": "ready", "language": "en"} in first_two
                assert {"type": "context", "name": "kitchen"} in first_two
                await wait_for_skill(bridge, skill_name)
                await client.say("get out")    # an intent of the kept context only
                said = [await client.next()]
                while said[-1]["type"] != "done":
                    said.append(await client.next())
                answers = [m["data"]["raw_text"] for m in said if m["type"] == "answer"]
                assert answers == ["Back in the hall."]


async def test_no_daemon_means_assistant_unavailable(bridge_config: Config, store: Store,
                                                     alice: Person) -> None:
    # create_app around a Link of our own: nobody answers channel/create here.
    link = Link(broker_address(bridge_config), create_timeout=0.5)
    sock = listen("127.0.0.1", 0)
    web = server(create_app(bridge_config, store, link), sock)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
    async with running_task(link.run()), running_task(web.serve(sockets=[sock])):
        await link.wait_connected(20)
        bridge = Bridge(url, store, bridge_config)
        token = (await sign_in(bridge, alice.name, alice.password))["access"]
        async with ws_client(bridge) as client:
            await client.send({"type": "authenticate", "token": token})
            code, reason = await client.closed()
        assert code == 1013
        assert reason is not None and reason.startswith("assistant unavailable")
        status, body = await http("GET", url + "api/skills", token=token)
        assert (status, body["skills"]) == (200, [])
