"""The embedded broker: configuration (pure) and the real process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from brokers import MOSQUITTO_PASSWD, Mosquitto, free_port, watching
from conftest import test_config

from atlas.broker import (
    BrokerConfigError,
    BrokerProcessError,
    BrokerSettings,
    EmbeddedBroker,
    add_password,
    amqtt_config,
)
from atlas.broker.latency import round_trips, summary
from atlas.channel import Channel
from atlas.daemon import serve
from atlas.protocol import ChannelShow, ChannelTerminate, DialogParse, Skills
from atlas.sdk.loader import load_skill
from atlas.transport import BrokerAddress, Refused, Session, TransportError, on

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
