"""The embedded broker: configuration (pure) and the real process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from amqtt.broker import Broker
from brokers import MOSQUITTO_PASSWD, Mosquitto, free_port, watching
from conftest import test_config
from hypothesis import given, settings
from hypothesis import strategies as st

from atlas.broker import (
    BrokerConfigError,
    BrokerProcessError,
    BrokerSettings,
    EmbeddedBroker,
    add_password,
    amqtt_config,
)
from atlas.broker.fair import FairBroadcasts
from atlas.broker.latency import round_trips, summary
from atlas.broker.subscriptions import SubscriptionTable
from atlas.channel import Channel
from atlas.daemon import serve
from atlas.protocol import ChannelShow, ChannelTerminate, DialogParse, Skills
from atlas.sdk.loader import load_skill
from atlas.transport import BrokerAddress, RawMessage, Refused, Session, TransportError, on, raw

# -- settings, pure --------------------------------------------------------------


def test_loopback_allows_anonymous_by_default() -> None:
    config = amqtt_config(BrokerSettings("127.0.0.1", 1883))
    assert config["listeners"]["default"]["bind"] == "127.0.0.1:1883"
    anonymous = config["plugins"]["amqtt.plugins.authentication.AnonymousAuthPlugin"]
    assert anonymous == {"allow_anonymous": True}


def test_no_sys_tree_and_no_packet_logging() -> None:
    plugins = amqtt_config(BrokerSettings())["plugins"]
    assert not any("sys" in name.lower() or "Logger" in name for name in plugins)


def test_public_address_without_passwords_is_refused() -> None:
    with pytest.raises(BrokerConfigError, match="password file"):
        amqtt_config(BrokerSettings("0.0.0.0", 1883))


def test_public_address_with_explicit_anonymous_is_accepted() -> None:
    config = amqtt_config(BrokerSettings("0.0.0.0", 1883, allow_anonymous=True))
    assert config["plugins"]["amqtt.plugins.authentication.AnonymousAuthPlugin"] == {
        "allow_anonymous": True}


def test_password_file_turns_anonymous_off(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    add_password(passwords, "daemon", "s3cret")
    plugins = amqtt_config(BrokerSettings("0.0.0.0", 1883, passwords))["plugins"]
    assert plugins["amqtt.plugins.authentication.AnonymousAuthPlugin"] == {
        "allow_anonymous": False}
    assert plugins["amqtt.plugins.authentication.FileAuthPlugin"] == {
        "password_file": str(passwords)}


def test_password_file_holds_argon2_hashes_only(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    add_password(passwords, "daemon", "first")
    add_password(passwords, "skill", "other")
    add_password(passwords, "daemon", "second")
    lines = passwords.read_text().splitlines()
    assert [line.split(":", 1)[0] for line in lines] == ["skill", "daemon"]
    assert all(line.split(":", 1)[1].startswith("$argon2id$") for line in lines)
    assert "second" not in passwords.read_text()
    assert passwords.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("user", ["", "a:b", "a\nb"])
def test_bad_user_names_are_refused(tmp_path: Path, user: str) -> None:
    with pytest.raises(BrokerConfigError):
        add_password(tmp_path / "passwd", user, "pw")


def test_acl_needs_both_sections(tmp_path: Path) -> None:
    acl = tmp_path / "acl.yml"
    acl.write_text("publish:\n  daemon: ['atlas/#']\n")
    with pytest.raises(BrokerConfigError, match="subscribe"):
        amqtt_config(BrokerSettings(acl_file=acl))


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(BrokerConfigError, match="nope"):
        BrokerSettings(password_file=tmp_path / "nope").check()


# -- the real process -------------------------------------------------------------


async def exchange(url: str, *, username: str | None = None, password: str | None = None) -> str:
    """Publish a dialog/parse at QoS 1 and read it back through the broker."""
    address = BrokerAddress.parse(url)
    address = BrokerAddress(address.host, address.port, username, password)
    async with Session(address, "test") as session:
        await session.subscribe(on(DialogParse, sid="s1"))
        await session.deliver(DialogParse("s1", "hello"))
        async for parsed in session:
            assert isinstance(parsed, DialogParse)
            return parsed.text
    raise AssertionError("no message")


async def test_both_brokers_route_qos1(broker_url: str) -> None:
    assert await exchange(broker_url) == "hello"


def test_embedded_broker_reports_the_port_it_bound() -> None:
    with EmbeddedBroker(port=0) as broker:
        address = BrokerAddress.parse(broker.url)
        assert address.host == "127.0.0.1" and address.port > 0
        assert asyncio.run(exchange(broker.url)) == "hello"
    with pytest.raises(BrokerProcessError):
        broker.url  # noqa: B018 - the property raises once stopped


def test_embedded_broker_on_a_fixed_port() -> None:
    port = free_port()
    with EmbeddedBroker(port=port) as broker:
        assert broker.url == f"mqtt://127.0.0.1:{port}"
        # A second broker on the same port cannot start, and says so.
        with pytest.raises(BrokerProcessError, match="exited"):
            EmbeddedBroker(port=port, stderr=subprocess.DEVNULL).start()


def test_stopping_ends_the_process() -> None:
    broker = EmbeddedBroker()
    broker.start()
    assert broker.stop() == 0


async def test_logins_are_checked(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    add_password(passwords, "daemon", "right")
    with EmbeddedBroker(password_file=passwords) as broker:
        assert await exchange(broker.url, username="daemon", password="right") == "hello"
        for username, password in (("daemon", "wrong"), ("nobody", "right"), (None, None)):
            with pytest.raises(Refused):
                await exchange(broker.url, username=username, password=password)


async def test_anonymous_clients_allowed_next_to_logins(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    add_password(passwords, "daemon", "right")
    with EmbeddedBroker(password_file=passwords, allow_anonymous=True) as broker:
        assert await exchange(broker.url) == "hello"
        with pytest.raises(Refused):
            await exchange(broker.url, username="daemon", password="wrong")


async def test_acl_stops_a_skill_from_speaking_for_the_daemon(tmp_path: Path) -> None:
    passwords = tmp_path / "passwd"
    add_password(passwords, "daemon", "d")
    add_password(passwords, "skill", "s")
    acl = tmp_path / "acl.yml"
    acl.write_text(
        "publish:\n"
        "  daemon: ['atlas/#']\n"
        "  skill: ['atlas/+/dialog/#']\n"
        "subscribe:\n"
        "  daemon: ['atlas/#']\n"
        "  skill: ['atlas/intents/#']\n")
    with EmbeddedBroker(password_file=passwords, acl_file=acl) as broker:
        address = BrokerAddress.parse(broker.url)
        as_daemon = BrokerAddress(address.host, address.port, "daemon", "d")
        as_skill = BrokerAddress(address.host, address.port, "skill", "s")
        async with Session(as_daemon, "daemon") as daemon, Session(as_skill, "skill") as skill:
            await daemon.subscribe(ChannelShow, DialogParse)
            # Denied (a skill may not show on a channel directly), then allowed; the
            # daemon must see only the second, which comes after the first in order.
            skill.publish(ChannelShow("s1", "forged"))
            skill.publish(DialogParse("s1", "allowed"))
            assert await daemon.next() == DialogParse("s1", "allowed")


def test_cli_refuses_public_anonymous_binding() -> None:
    result = subprocess.run([sys.executable, "-m", "atlas", "broker", "--host", "0.0.0.0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "password file" in result.stderr


def test_round_trips_are_measured(amqtt_url: str) -> None:
    timings = asyncio.run(round_trips(amqtt_url, 20))
    assert len(timings) == 20 and all(t > 0 for t in timings)
    assert summary(timings).startswith("20 round trips: median ")


# -- the shipped Mosquitto configuration and ACL ------------------------------------

CONFIG = Path(__file__).resolve().parent.parent / "config"
SKILLS = CONFIG.parent / "skills"
#: Every login of the shipped ACL: daemon, bridge, operator and one per bundled skill.
ROLES = tuple(line.split()[1] for line in (CONFIG / "mosquitto.acl").read_text().splitlines()
              if line.startswith("user "))


@pytest.fixture
def secured_mosquitto(tmp_path: Path) -> Iterator[dict[str, str]]:
    """Mosquitto running config/mosquitto.conf and .acl as shipped; a URL per role."""
    passwords = tmp_path / "mosquitto.passwd"
    for n, role in enumerate(ROLES):
        subprocess.run([MOSQUITTO_PASSWD, *(["-c"] if n == 0 else []), "-b", str(passwords),
                        role, f"{role}-pw"], check=True, capture_output=True)
    (tmp_path / "mosquitto-data").mkdir()
    shipped = (CONFIG / "mosquitto.conf").read_text()

    def conf(port: int) -> str:
        # Only the deployment paths and the port change; every other line is as shipped.
        text = shipped.replace("listener 1883\n", f"listener {port} 127.0.0.1\n")
        text = text.replace("/mosquitto/config/mosquitto.passwd", str(passwords))
        text = text.replace("/mosquitto/config/mosquitto.acl", str(CONFIG / "mosquitto.acl"))
        text = text.replace("/mosquitto/data/", f"{tmp_path / 'mosquitto-data'}/")
        # Started as root, Mosquitto drops to the `mosquitto` user, who cannot read the
        # test's private temporary directory: stay as the user running the tests.
        return text + ("user root\n" if os.geteuid() == 0 else "")

    with Mosquitto(tmp_path, conf=conf) as broker:
        yield {role: f"mqtt://{role}:{role}-pw@127.0.0.1:{broker.port}" for role in ROLES}


@pytest.fixture
def secured_amqtt(tmp_path: Path) -> Iterator[dict[str, str]]:
    """The embedded broker with logins and config/amqtt-acl.yml as shipped."""
    passwords = tmp_path / "broker.passwd"
    for role in ROLES:
        add_password(passwords, role, f"{role}-pw")
    with EmbeddedBroker(password_file=passwords, acl_file=CONFIG / "amqtt-acl.yml") as broker:
        address = BrokerAddress.parse(broker.url)
        yield {role: f"mqtt://{role}:{role}-pw@{address.host}:{address.port}" for role in ROLES}


@pytest.fixture(params=["amqtt", "mosquitto"])
def secured_broker(request: pytest.FixtureRequest) -> dict[str, str]:
    return dict(request.getfixturevalue(f"secured_{request.param}"))


def test_the_shipped_mosquitto_config_refuses_strangers(
        secured_mosquitto: dict[str, str]) -> None:
    address = BrokerAddress.parse(secured_mosquitto["daemon"])
    assert asyncio.run(connects(address))
    for username, password in ((None, None), ("daemon", "wrong"), ("nobody", "x")):
        stranger = BrokerAddress(address.host, address.port, username, password)
        assert not asyncio.run(connects(stranger))


async def connects(address: BrokerAddress) -> bool:
    try:
        async with Session(address, "probe"):
            return True
    except TransportError:
        return False


async def test_the_shipped_acls_let_atlas_work_and_nothing_more(
        secured_broker: dict[str, str], data_dir: Path) -> None:
    """The bundled help skill with its own login: trained, answering, and unable to
    speak on a channel or parse for a user."""
    urls = secured_broker
    config = test_config(urls["daemon"], data_dir)
    daemon = asyncio.create_task(serve(config))
    helper = load_skill(SKILLS / "help")
    try:
        async with watching(urls["operator"], Skills, Skills,
                            lambda skills: "help" in {s.name for s in skills.skills}) as trained, \
                helper.connect(urls["skill-help"]) as running:
            serving = asyncio.create_task(running.serve())
            await asyncio.wait_for(trained, 60)
            async with Channel(urls["bridge"], uid="eve") as channel, \
                    Session(urls["skill-help"], "forger") as forger:
                # A skill may not speak on a channel directly, nor parse for a user.
                forger.publish(ChannelShow(channel.sid, "forged"))
                forger.publish(DialogParse(channel.sid, "help"))
                messages = await channel.converse("what can you do")
                shows = [m.text for m in messages if isinstance(m, ChannelShow)]
                assert shows == ["I don't know any skill yet."]    # none but itself
                assert isinstance(messages[-1], ChannelTerminate)
                with pytest.raises(TimeoutError):  # and nothing else came
                    await channel.next(timeout=1)
            serving.cancel()
    finally:
        daemon.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await daemon


def test_garbage_on_the_wire_does_not_stop_the_embedded_broker() -> None:
    with EmbeddedBroker(stderr=subprocess.DEVNULL) as broker:
        address = BrokerAddress.parse(broker.url)
        for junk in (b"\x00" * 64, b"\x10\xff\xff\xff\xff\x7f", b"GET / HTTP/1.1\r\n\r\n",
                     bytes(range(256))):
            with socket.create_connection((address.host, address.port)) as raw:
                raw.sendall(junk)
        # A client that connects and says nothing, still open while others work.
        with socket.create_connection((address.host, address.port)):
            assert asyncio.run(exchange(broker.url)) == "hello"
        assert broker.stop() == 0


# -- routing one publisher at a time -----------------------------------------------


def broadcast(sender: str | None, n: int) -> dict[str, object]:
    class Sender:                       # what amqtt's session offers the queue
        client_id = sender
    return {"session": None if sender is None else Sender(), "topic": f"t/{n}", "data": b""}


def test_a_quiet_publisher_is_served_before_a_busy_ones_backlog() -> None:
    queue = FairBroadcasts()
    for n in range(5):
        queue.put_nowait(broadcast("flooder", n))
    queue.put_nowait(broadcast("quiet", 99))
    queue.put_nowait(broadcast(None, 100))                 # amqtt's own ($SYS, wills)
    served = [queue.get_nowait()["topic"] for _ in range(queue.qsize())]
    assert served == ["t/0", "t/99", "t/100", "t/1", "t/2", "t/3", "t/4"]
    assert queue.empty()
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()


async def test_the_broadcast_loop_waits_for_a_message() -> None:
    queue = FairBroadcasts()
    waiting = asyncio.ensure_future(queue.get())
    await asyncio.sleep(0)
    assert not waiting.done()
    await queue.put(broadcast("a", 1))
    assert (await asyncio.wait_for(waiting, 5))["topic"] == "t/1"


@given(st.lists(st.one_of(st.sampled_from("abc"), st.none()), max_size=60))
@settings(max_examples=300, deadline=None)
def test_fair_order_against_a_model(steps: list[str | None]) -> None:
    """Each step puts a message from a sender, or (None) takes one. Each sender's
    messages come out in order, and a message put behind ``k`` of its sender's
    waits for at most ``k + 1`` messages of any other sender."""
    queue = FairBroadcasts()
    put: dict[str, list[int]] = {}
    served: dict[str, list[int]] = {}
    sender_of: dict[int, str] = {}
    waited: dict[int, dict[str, int]] = {}   # message -> others' messages served since
    allowance: dict[int, int] = {}
    for n, step in enumerate(steps + [None] * len(steps)):
        if step is not None:
            allowance[n] = len(put.get(step, [])) - len(served.get(step, [])) + 1
            put.setdefault(step, []).append(n)
            sender_of[n], waited[n] = step, {}
            queue.put_nowait(broadcast(step, n))
        elif not queue.empty():
            got = int(queue.get_nowait()["topic"][2:])
            sender = sender_of[got]
            served.setdefault(sender, []).append(got)
            del waited[got]
            for other, counts in waited.items():
                if sender_of[other] != sender:
                    counts[sender] = counts.get(sender, 0) + 1
                    assert counts[sender] <= allowance[other]
    assert queue.empty() and not waited
    assert served == put



async def test_floods_in_the_embedded_broker_do_not_hold_up_others(amqtt_url: str) -> None:
    """Three clients flood at once, so amqtt reads faster than it routes: once they
    have been acknowledged, most of their messages are still queued in the broker. A
    message another client sends then is routed ahead of that backlog (one
    first-in, first-out queue had it wait for all of it), and each flood still
    arrives whole and in order."""
    floods, each = 3, 1000
    async with contextlib.AsyncExitStack() as stack:
        listener = await stack.enter_async_context(Session(amqtt_url, "hears", raw=True))
        await listener.subscribe(raw("fair/#"))
        flooders = [await stack.enter_async_context(Session(amqtt_url, f"floods-{n}", raw=True))
                    for n in range(floods)]
        quiet = await stack.enter_async_context(Session(amqtt_url, "quiet", raw=True))
        for n in range(each):
            for flooder in flooders:
                flooder.publish_raw(f"fair/{flooder.name}", str(n))
        for flooder in flooders:
            assert await flooder.drain(60)
        quiet.publish_raw("fair/quiet", "me")
        heard: dict[str, list[str]] = {}
        order: list[str] = []
        async with asyncio.timeout(120):
            async for message in listener:
                assert isinstance(message, RawMessage)
                heard.setdefault(message.topic, []).append(message.payload.decode())
                order.append(message.topic)
                if len(order) == floods * each + 1:
                    break
    print(f"\nthe quiet message was heard {order.index('fair/quiet') + 1}th of {len(order)}")
    assert order.index("fair/quiet") < floods * each * 3 // 4
    assert heard == {"fair/quiet": ["me"]} | {f"fair/{flooder.name}": [str(n) for n in range(each)]
                                              for flooder in flooders}


# -- the subscriptions table's index -------------------------------------------------

LEVELS = st.sampled_from(["a", "b", "$SYS", "", "+", "#"])
FILTERS = st.lists(LEVELS, min_size=1, max_size=4).map("/".join)
TOPICS = st.lists(st.sampled_from(["a", "b", "$SYS", ""]), min_size=1, max_size=4).map("/".join)


@given(st.lists(st.tuples(st.sampled_from(["set", "del", "pop", "clear"]), FILTERS),
                max_size=40),
       st.lists(TOPICS, min_size=1, max_size=10))
@settings(max_examples=300, deadline=None)
def test_the_index_finds_what_amqtt_would(changes: list[tuple[str, str]],
                                         topics: list[str]) -> None:
    """After any changes to the table (as amqtt makes them), the filters a topic
    matches are those amqtt's own comparison accepts, one by one: wildcards, a
    "#" matching its parent level, "$" topics kept from leading wildcards, and
    filters amqtt refuses to match ("a/#/b", "a+")."""
    table = SubscriptionTable({"a/+": []})
    for change, a_filter in changes:
        if change == "set":
            table[a_filter] = []
        elif change == "del" and a_filter in table:
            del table[a_filter]
        elif change == "pop":
            table.pop(a_filter, None)
        elif change == "clear":
            table.clear()
    amqtt = Broker.__new__(Broker)
    amqtt.logger = logging.getLogger("amqtt-test")
    for topic in topics:
        assert sorted(table.matching(topic)) == sorted(
            a_filter for a_filter in table if Broker._matches(amqtt, topic, a_filter))


def test_a_topic_of_many_levels_is_matched_without_recursion() -> None:
    deep = "/".join(["a"] * 20_000)          # MQTT allows 65,535 bytes of topic
    table = SubscriptionTable({deep: [], "+/#": [], "a/+": []})
    assert sorted(table.matching(deep)) == sorted([deep, "+/#"])
    del table[deep]
    assert table.matching(deep) == ["+/#"]


def test_the_table_is_iterated_over_a_copy() -> None:
    # amqtt changes the table while it awaits inside loops over it.
    table = SubscriptionTable({"a": [], "b/#": [], "+": []})
    for a_filter in table:
        del table[a_filter]
    assert table == {} and table.matching("a") == []
    table.update({"a": [], "b/#": []})
    for a_filter, _ in table.items():
        table.pop(a_filter)
        table[a_filter + "/c"] = []
    assert sorted(table.matching("a/c")) == ["a/c"]
    assert table.matching("b/x/c") == []      # "#" only ends a filter
