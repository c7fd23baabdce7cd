"""Least privilege on the broker: one login per component, what each may read and write.

Pure functions from a deployment (its skills and their intents) to the files the
brokers read: a Mosquitto password file and ACL file, and the embedded broker's
(amqtt) password file and YAML ACL. Every topic filter comes from the protocol's
message classes, never spelt here.

What each login gets:

- the daemon reads what skills and channels say, writes pings, the skills list,
  channel answers, and is the only one to write intents;
- each skill (``skill-NAME``) reads pings and its own intents only (so no other
  skill's requests, nor the ``__env`` they carry), and writes its own pong and bye
  (``atlas/discovery/pong/NAME``: the daemon believes a pong there speaks for NAME)
  and the dialog topics;
- the bridge writes ``channel/create``, ``channel/destroy`` and ``dialog/parse`` and
  reads channel answers, pings and the skills list;
- the operator (``atlas chat``, ``atlas skills``) is a channel that may also ping.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import yaml

from ..protocol import (
    CHANNEL_INBOX,
    CHANNEL_OUTBOX,
    DAEMON_INBOX,
    Bye,
    DaemonSent,
    Message,
    Ping,
    Pong,
    SkillBye,
    SkillPong,
    Skills,
    topic_for,
)
from ..protocol.intents import PREFIX as INTENTS_PREFIX

DAEMON, BRIDGE, OPERATOR = "daemon", "bridge", "operator"
SKILL_PREFIX = "skill-"

# What skills say on a sid: whatever the daemon reads that is neither a channel's
# nor discovery, so that a message added to the protocol is granted where it belongs.
_SKILL_SAYS: tuple[type[Message], ...] = tuple(
    kind for kind in DAEMON_INBOX
    if kind not in CHANNEL_OUTBOX and kind not in (Pong, Bye, SkillPong, SkillBye))
_CHANNEL_SAYS = CHANNEL_OUTBOX


@dataclass(frozen=True)
class SkillGrant:
    """A skill of the deployment: its name, its intents, and any device topics."""

    name: str
    intents: tuple[str, ...]
    publish: tuple[str, ...] = ()      # extra filters, e.g. zigbee2mqtt/# for lights
    subscribe: tuple[str, ...] = ()


@dataclass(frozen=True)
class Login:
    user: str
    publish: tuple[str, ...]
    subscribe: tuple[str, ...]
    password: str = field(default="", repr=False)


def skill_user(name: str) -> str:
    return SKILL_PREFIX + name


def _all(kinds: Iterable[type[Message]]) -> tuple[str, ...]:
    return tuple(kind.subscription() for kind in kinds)


def roles(skills: Iterable[SkillGrant]) -> list[Login]:
    """Every login of a deployment, without passwords."""
    logins = [
        # DaemonSent: what daemons sharing Redis tell each other (atlas.daemon.sharing).
        Login(DAEMON,
              publish=(*_all((Ping, Skills, DaemonSent)), *_all(CHANNEL_INBOX),
                       INTENTS_PREFIX + "#"),
              subscribe=(*_all(DAEMON_INBOX), DaemonSent.subscription())),
        Login(BRIDGE, publish=_all(_CHANNEL_SAYS),
              subscribe=(*_all(CHANNEL_INBOX), *_all((Ping, Skills)))),
        Login(OPERATOR, publish=(*_all(_CHANNEL_SAYS), Ping.subscription()),
              subscribe=(*_all(CHANNEL_INBOX), *_all((Skills, Pong, SkillPong)))),
    ]
    for skill in sorted(skills, key=lambda s: s.name):
        own = {"skill": skill.name}
        logins.append(Login(
            skill_user(skill.name),
            publish=(SkillPong.TOPIC.format(**own), SkillBye.TOPIC.format(**own),
                     *_all(_SKILL_SAYS), *skill.publish),
            subscribe=(Ping.subscription(), *(topic_for(i) for i in sorted(skill.intents)),
                       *skill.subscribe)))
    return logins


def with_passwords(logins: Iterable[Login], known: Mapping[str, str]) -> list[Login]:
    """Keep the passwords already known (so running components keep working), make new ones."""
    return [Login(login.user, login.publish, login.subscribe,
                  known.get(login.user) or secrets.token_urlsafe(24)) for login in logins]


# -- Mosquitto ----------------------------------------------------------------------

#: Mosquitto 2's own choice for ``$7$`` (PBKDF2-SHA512) hashes.
MOSQUITTO_ITERATIONS = 101


def mosquitto_hash(password: str, salt: bytes | None = None,
                   iterations: int = MOSQUITTO_ITERATIONS) -> str:
    """A password file hash as ``mosquitto_passwd`` writes it: ``$7$iterations$salt$hash``."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return (f"$7${iterations}${base64.b64encode(salt).decode()}$"
            f"{base64.b64encode(digest).decode()}")


def mosquitto_passwd(logins: Iterable[Login]) -> str:
    return "".join(f"{login.user}:{mosquitto_hash(login.password)}\n" for login in logins)


#: What every ACL file written here says first (``#`` comments in both formats).
HEADER = (
    "Written by `atlas acl`: one login per component, least privilege (write it again",
    "after adding a skill). Each skill, as skill-NAME, reads pings and its own intents",
    "only, and writes its own pong and bye and the dialog topics. Anything not granted",
    "here is denied.",
)


def _comments(lines: Iterable[str]) -> list[str]:
    return [f"# {line}" for line in lines]


def mosquitto_acl(logins: Iterable[Login]) -> str:
    lines = [*_comments(HEADER),
             "# \"read\" covers subscribing and receiving, \"write\" publishing."]
    for login in logins:
        lines += ["", f"user {login.user}"]
        lines += [f"topic write {topic}" for topic in login.publish]
        lines += [f"topic read {topic}" for topic in login.subscribe]
    return "\n".join(lines) + "\n"


# -- amqtt (the embedded broker) ------------------------------------------------------

#: amqtt's own caveat, said in its ACL file.
AMQTT_NOTE = (
    "amqtt cannot restrict what a subscriber receives from retained messages, so",
    "nothing private should ever be retained (atlas retains only the skills list).",
)


def amqtt_acl_text(logins: Iterable[Login]) -> str:
    """The embedded broker's ACL file, comments included."""
    return ("\n".join(_comments((*HEADER, *AMQTT_NOTE))) + "\n"
            + yaml.safe_dump(amqtt_acl(logins), sort_keys=False))


def amqtt_acl(logins: Iterable[Login]) -> dict[str, dict[str, list[str]]]:
    """The YAML ACL of :func:`atlas.broker.settings.read_acl`."""
    logins = list(logins)
    return {"publish": {login.user: list(login.publish) for login in logins},
            "subscribe": {login.user: list(login.subscribe) for login in logins}}
