"""``atlas acl``'s files on a real Mosquitto and on the embedded broker (amqtt):
every allow and every deny, for the daemon, the bridge, the operator and skills.

The deployment has two skills; an auditor login (added for the test only) reads
everything, so a publish the broker drops is seen not to arrive. Subscriptions the
ACL forbids are refused outright (both brokers answer SUBACK 0x80) or deliver
nothing. The files shipped in config/ are tried on Mosquitto as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from brokers import Mosquitto

from atlas.broker import EmbeddedBroker, add_password, deployment
from atlas.broker.acl import (
    BRIDGE,
    DAEMON,
    OPERATOR,
    SkillGrant,
    mosquitto_hash,
    skill_user,
)
from atlas.channel import Channel
from atlas.protocol import ChannelShow, ChannelTerminate, Reason
from atlas.sdk import Request, Skill
from atlas.transport import RawMessage, Refused, Session, raw

from .peers import DaemonProcess, colors_skill, wait_skills, write_config

ALPHA, BETA = "alpha", "beta"
AUDITOR = "auditor"
ALPHA_USER, BETA_USER = skill_user(ALPHA), skill_user(BETA)


#: A broker's URL without credentials, and each login's password (the auditor's too).
Deployed = tuple[str, dict[str, str]]
SHIPPED_ACL = Path(__file__).resolve().parents[2] / "config" / deployment.MOSQUITTO_ACL


@contextlib.contextmanager
def mosquitto_with(folder: Path, acl_text: str,
                   passwords: dict[str, str]) -> Iterator[Deployed]:
    """Mosquitto running this ACL with these logins, plus an auditor who reads all."""
    passwords = {**passwords, AUDITOR: "audit"}
    acl = folder / "audited.acl"
    acl.write_text(acl_text + f"\nuser {AUDITOR}\ntopic readwrite #\n")
    passwd = folder / "audited.passwd"
    passwd.write_text("".join(f"{user}:{mosquitto_hash(password)}\n"
                              for user, password in passwords.items()))

    def conf(port: int) -> str:
        return (f"listener {port} 127.0.0.1\nallow_anonymous false\npersistence false\n"
                f"password_file {passwd}\nacl_file {acl}\nset_tcp_nodelay true\n"
                "log_dest stderr\nlog_type error\n"
                # As root, Mosquitto becomes the mosquitto user, who may not read
                # files that are the operator's only (logins are secret).
                + ("user root\n" if os.geteuid() == 0 else ""))

    with Mosquitto(folder, conf=conf) as broker:
        yield broker.url, passwords


@contextlib.contextmanager
def amqtt_with(folder: Path, acl_file: Path,
               passwords: dict[str, str]) -> Iterator[Deployed]:
    """The embedded broker running this ACL with these logins, plus the auditor."""
    passwords = {**passwords, AUDITOR: "audit"}
    acl = yaml.safe_load(acl_file.read_text())
    for action in ("publish", "subscribe"):
        acl[action][AUDITOR] = ["#"]
    audited = folder / "audited-acl.yml"
    audited.write_text(yaml.safe_dump(acl))
    passwd = folder / "audited-amqtt.passwd"
    for user, password in passwords.items():
        add_password(passwd, user, password)
    with EmbeddedBroker(password_file=passwd, acl_file=audited) as broker:
        yield broker.url, passwords


@pytest.fixture(scope="module", params=["mosquitto", "amqtt"])
def deployed(tmp_path_factory: pytest.TempPathFactory,
             request: pytest.FixtureRequest) -> Iterator[Deployed]:
    """``atlas acl``'s files for two skills, on Mosquitto and on the embedded broker."""
    folder = tmp_path_factory.mktemp("acl")
    written = deployment.write(folder / "broker", [
        SkillGrant(ALPHA, ("greet", "pick_color"), publish=("zigbee2mqtt/#",)),
        SkillGrant(BETA, ("secret",))])
    passwords = {login.user: login.password for login in written.logins}
    running: contextlib.AbstractContextManager[Deployed]
    if request.param == "mosquitto":
        running = mosquitto_with(
            folder, (folder / "broker" / deployment.MOSQUITTO_ACL).read_text(), passwords)
    else:
        running = amqtt_with(folder, written.amqtt_acl, passwords)
    with running as each:
        yield each


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    """config/mosquitto.acl as shipped, a password for each of its users."""
    text = SHIPPED_ACL.read_text()
    users = [line.split()[1] for line in text.splitlines() if line.startswith("user ")]
    with mosquitto_with(tmp_path_factory.mktemp("shipped"), text,
                        {user: f"{user}-pw" for user in users}) as running:
        yield running


def url_of(deployed: Deployed, user: str) -> str:
    base, passwords = deployed
    return base.replace("mqtt://", f"mqtt://{user}:{passwords[user]}@")


PUBLISH = [  # (login, topic, allowed)
    (DAEMON, "atlas/intents/greet", True),
    (DAEMON, "atlas/s1/channel/show", True),
    (DAEMON, "atlas/discovery/ping", True),
    (ALPHA_USER, "atlas/discovery/pong/alpha", True),
    (ALPHA_USER, "atlas/discovery/bye/alpha", True),
    (ALPHA_USER, "atlas/s1/dialog/show", True),
    (ALPHA_USER, "atlas/s1/dialog/ask", True),
    (ALPHA_USER, "atlas/s1/dialog/terminate", True),
    (ALPHA_USER, "atlas/s1/dialog/notify", True),
    (ALPHA_USER, "zigbee2mqtt/kitchen/set", True),
    (ALPHA_USER, "atlas/discovery/pong/beta", False),   # speaking for another skill
    (ALPHA_USER, "atlas/discovery/bye/beta", False),
    (ALPHA_USER, "atlas/discovery/pong", False),        # the shared seed topic
    (ALPHA_USER, "atlas/discovery/bye", False),
    (ALPHA_USER, "atlas/intents/secret", False),        # only the daemon dispatches
    (ALPHA_USER, "atlas/s1/channel/show", False),       # only the daemon answers channels
    (ALPHA_USER, "atlas/s1/dialog/parse", False),       # nor speak as a user
    (ALPHA_USER, "atlas/discovery/skills", False),
    (BETA_USER, "zigbee2mqtt/kitchen/set", False),      # alpha's device, not beta's
    (BRIDGE, "atlas/s1/channel/create", True),
    (BRIDGE, "atlas/s1/channel/destroy", True),
    (BRIDGE, "atlas/s1/dialog/parse", True),
    (BRIDGE, "atlas/s1/dialog/show", False),
    (BRIDGE, "atlas/intents/greet", False),
    (BRIDGE, "atlas/s1/channel/show", False),
    (BRIDGE, "atlas/discovery/pong/alpha", False),
    (OPERATOR, "atlas/discovery/ping", True),
    (OPERATOR, "atlas/s1/dialog/parse", True),
    (OPERATOR, "atlas/intents/greet", False),
]

READ = [  # (login, filter, a topic it covers, allowed)
    (ALPHA_USER, "atlas/discovery/ping", "atlas/discovery/ping", True),
    (ALPHA_USER, "atlas/intents/greet", "atlas/intents/greet", True),
    (ALPHA_USER, "atlas/intents/secret", "atlas/intents/secret", False),  # beta's, __env too
    (ALPHA_USER, "atlas/intents/#", "atlas/intents/secret", False),
    (ALPHA_USER, "atlas/intents/+", "atlas/intents/secret", False),
    (ALPHA_USER, "atlas/+/channel/show", "atlas/s1/channel/show", False),
    (ALPHA_USER, "atlas/+/dialog/#", "atlas/s1/dialog/parse", False),
    (ALPHA_USER, "atlas/discovery/pong/+", "atlas/discovery/pong/beta", False),
    (ALPHA_USER, "#", "atlas/intents/secret", False),
    (BETA_USER, "atlas/intents/greet", "atlas/intents/greet", False),
    (BRIDGE, "atlas/s1/channel/show", "atlas/s1/channel/show", True),
    (BRIDGE, "atlas/discovery/skills", "atlas/discovery/skills", True),
    (BRIDGE, "atlas/intents/#", "atlas/intents/greet", False),
    (BRIDGE, "atlas/+/dialog/show", "atlas/s1/dialog/show", False),
    (OPERATOR, "atlas/discovery/pong/+", "atlas/discovery/pong/alpha", True),
    (OPERATOR, "atlas/intents/#", "atlas/intents/greet", False),
    (DAEMON, "atlas/discovery/pong/+", "atlas/discovery/pong/alpha", True),
    (DAEMON, "atlas/+/dialog/parse", "atlas/s1/dialog/parse", True),
]


SHIPPED_PUBLISH = [  # config/mosquitto.acl: each bundled skill speaks for itself only
    (skill_user("clock"), "atlas/discovery/pong/clock", True),
    (skill_user("clock"), "atlas/discovery/bye/clock", True),
    (skill_user("clock"), "atlas/s1/dialog/show", True),
    (skill_user("clock"), "atlas/discovery/bye/timer", False),
    (skill_user("clock"), "atlas/discovery/pong/timer", False),
    (skill_user("clock"), "atlas/discovery/bye", False),
    (skill_user("clock"), "atlas/intents/set_timer", False),
    (skill_user("clock"), "zigbee2mqtt/kitchen/set", False),
    (skill_user("lights"), "zigbee2mqtt/kitchen/set", True),
    (skill_user("timer"), "atlas/discovery/bye/clock", False),
    (skill_user("help"), "atlas/discovery/skills", False),
    (BRIDGE, "atlas/intents/get_time", False),
    (DAEMON, "atlas/intents/set_timer", True),
]

SHIPPED_READ = [
    (skill_user("clock"), "atlas/intents/get_time", "atlas/intents/get_time", True),
    (skill_user("clock"), "atlas/intents/set_timer", "atlas/intents/set_timer", False),
    (skill_user("clock"), "atlas/intents/#", "atlas/intents/set_timer", False),
    (skill_user("timer"), "atlas/intents/+", "atlas/intents/get_time", False),
    (skill_user("lights"), "atlas/intents/help", "atlas/intents/help", False),
    (skill_user("help"), "atlas/discovery/skills", "atlas/discovery/skills", True),
    (skill_user("help"), "atlas/discovery/pong/+", "atlas/discovery/pong/clock", False),
]


async def test_every_publish_is_allowed_or_dropped_as_the_acl_says(
        deployed: Deployed) -> None:
    await publishes_as_listed(deployed, PUBLISH)


async def test_the_shipped_acl_keeps_each_bundled_skill_to_itself(shipped: Deployed) -> None:
    await publishes_as_listed(shipped, SHIPPED_PUBLISH)
    for login, topic_filter, topic, allowed in SHIPPED_READ:
        got = await delivered(shipped, login, topic_filter, topic, wait=10 if allowed else 1)
        assert got == allowed, (login, topic_filter)


async def publishes_as_listed(deployed: Deployed, table: list[tuple[str, str, bool]]) -> None:
    marks = {f"{login} {topic}": uuid.uuid4().hex.encode() for login, topic, _ in table}
    arrived: set[bytes] = set()
    async with Session(url_of(deployed, AUDITOR), "auditor", raw=True) as auditor:
        await auditor.subscribe(raw("#"))

        async def listen() -> None:
            async for message in auditor:
                if isinstance(message, RawMessage):
                    arrived.add(message.payload)

        listening = asyncio.create_task(listen())
        for login in sorted({login for login, _, _ in table}):
            async with Session(url_of(deployed, login), f"acl-{login}", raw=True) as session:
                for each, topic, _ in table:
                    if each == login:
                        session.publish_raw(topic, marks[f"{login} {topic}"])
                await session.drain(10)
        await asyncio.sleep(1.0)      # what was allowed has long arrived
        listening.cancel()
    wrong = [(login, topic, allowed) for login, topic, allowed in table
             if (marks[f"{login} {topic}"] in arrived) != allowed]
    assert wrong == []


@pytest.mark.parametrize(("login", "topic_filter", "topic", "allowed"), READ,
                         ids=[f"{login}:{f}" for login, f, _, _ in READ])
async def test_every_read_is_delivered_or_not_as_the_acl_says(
        deployed: Deployed, login: str, topic_filter: str, topic: str, allowed: bool) -> None:
    """Mosquitto may refuse the subscription (SUBACK 0x80) or accept it and deliver
    nothing the login may not read; either way nothing arrives."""
    assert await delivered(deployed, login, topic_filter, topic, wait=10 if allowed else 1) \
        == allowed


async def delivered(deployed: Deployed, login: str, topic_filter: str, topic: str,
                    wait: float = 1.0) -> bool:
    """Whether a message the auditor publishes on the topic reaches the login
    subscribed to the filter (False when the subscription is refused)."""
    mark = uuid.uuid4().hex.encode()
    async with Session(url_of(deployed, login), f"acl-{login}", raw=True) as reader, \
            Session(url_of(deployed, AUDITOR), "writer", raw=True) as writer:
        try:
            await reader.subscribe(raw(topic_filter))
        except Refused:
            return False
        writer.publish_raw(topic, mark)
        with contextlib.suppress(TimeoutError):
            while True:
                got = await reader.next(wait)
                if isinstance(got, RawMessage) and got.payload == mark:
                    return True
    return False


async def test_a_wrong_password_or_an_unknown_login_is_refused(
        deployed: Deployed) -> None:
    base, _ = deployed
    for user, password in ((ALPHA_USER, "guess"), ("nobody", "x")):
        with pytest.raises(Refused):
            async with Session(base.replace("mqtt://", f"mqtt://{user}:{password}@"), "x"):
                pass
    with pytest.raises(Refused):
        async with Session(base, "anonymous"):
            pass


async def test_a_whole_deployment_works_with_one_login_each_and_no_skill_reads_another(
        deployed: Deployed, tmp_path: Path) -> None:
    """Daemon, two SDK skills and a channel, each with its login: conversations work,
    and the secret env of beta's request never reaches alpha."""
    alpha = colors_skill(ALPHA)
    beta = Skill(BETA, env={"BETA_TOKEN": "string"})
    beta.training("en", "%[secret]\n  tell me the secret\n  what is the secret\n"
                  "  the secret please\n")
    tokens: list[str] = []

    @beta.intent("secret")
    async def secret(req: Request) -> None:
        tokens.append(str(req.env.get("BETA_TOKEN")))
        await req.show("It's a secret.")

    daemon = DaemonProcess(write_config(tmp_path, url_of(deployed, DAEMON),
                                        env={"BETA_TOKEN": "s3cret"})).start()
    try:
        async with alpha.connect(url_of(deployed, ALPHA_USER)) as running_alpha, \
                beta.connect(url_of(deployed, BETA_USER)) as running_beta, \
                Session(url_of(deployed, AUDITOR), "auditor", raw=True) as auditor, \
                Session(url_of(deployed, ALPHA_USER), "spy", raw=True) as spy:
            served = [asyncio.create_task(r.serve()) for r in (running_alpha, running_beta)]
            await auditor.subscribe(raw("atlas/intents/#"))
            with contextlib.suppress(Refused):     # alpha, trying to read beta's requests
                await spy.subscribe(raw("atlas/intents/#"), raw("atlas/intents/secret"))
            await wait_skills(url_of(deployed, OPERATOR), {ALPHA, BETA})
            async with Channel(url_of(deployed, OPERATOR), uid="carol") as channel:
                said = await channel.converse("tell me the secret")
                assert ChannelShow(channel.sid, "It's a secret.") in said
                assert said[-1] == ChannelTerminate(channel.sid, Reason.NOMINAL)
                greeted = await channel.converse("hello")
                assert ChannelShow(channel.sid, "Hello carol") in greeted
            request = await auditor.next(10)
            assert isinstance(request, RawMessage) and b"s3cret" in request.payload
            assert tokens == ["s3cret"]
            spied: list[str] = []
            with contextlib.suppress(TimeoutError):
                while True:      # alpha may read its own requests (greet), never beta's
                    got = await spy.next(1.0)
                    spied.append(got.topic if isinstance(got, RawMessage) else repr(got))
            assert spied in ([], ["atlas/intents/greet"])
            for task in served:
                task.cancel()
    finally:
        daemon.stop()
