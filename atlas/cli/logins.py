"""``atlas up``'s embedded broker with one login per component (least privilege).

The logins are written in DATA_DIR/broker by the same code as ``atlas acl``; each
child process gets its own broker URL, credentials included, in its environment
(never on a command line, never in a log).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..broker import BrokerProcessError, EmbeddedBroker
from ..broker.acl import BRIDGE, DAEMON, OPERATOR, SkillGrant, skill_user
from ..broker.deployment import LOGINS, Deployment, write
from ..config import Config, note_embedded_address
from ..pytlas import is_pytlas_skill
from ..pytlas.bridge import declared_skill as declared_pytlas
from ..sdk.loader import load_skill
from ..transport import BrokerAddress
from .common import Failure

log = logging.getLogger("atlas.cli")


@dataclass(frozen=True)
class Logins:
    """The broker actually started, and each component's URL on it."""

    url: str                          # without credentials: safe to print
    deployment: Deployment
    skills: dict[Path, str] = field(default_factory=dict)   # skill path -> skill name

    def url_for(self, user: str) -> str:
        address = BrokerAddress.parse(self.url)
        password = self.deployment.password(user)
        return f"mqtt://{user}:{password}@{address.host}:{address.port}"

    def daemon(self) -> str:
        return self.url_for(DAEMON)

    def bridge(self) -> str:
        return self.url_for(BRIDGE)

    def operator(self) -> str:
        return self.url_for(OPERATOR)

    def skill(self, path: Path) -> str | None:
        name = self.skills.get(path)
        return self.url_for(skill_user(name)) if name is not None else None


def declared_grant(path: Path) -> SkillGrant:
    """What a skill folder may do on the broker, from what it declares.

    Its intents, and what it listens to (@skill.listen: the skills list, channels
    opening for a pytlas skill's hooks), and nothing else. Raises whatever loading
    the skill raises.
    """
    skill = declared_pytlas(path) if is_pytlas_skill(path) else load_skill(path)
    return SkillGrant(skill.name, tuple(skill.intents), subscribe=tuple(
        sorted(kind.subscription() for kind in skill.listeners)))


def secured_broker(config: Config, port: int, skills: list[Path],
                   stack: contextlib.ExitStack) -> tuple[Config, EmbeddedBroker, Logins]:
    """Write the deployment's logins and start the embedded broker with them."""
    names: dict[Path, str] = {}
    found: list[SkillGrant] = []
    for path in skills:
        try:
            grant = declared_grant(path)
        except Exception as error:  # one skill that cannot load must not stop the rest
            # Its process will say why it cannot start; it gets no login meanwhile.
            log.warning("no broker login for %s: %s", path, error)
            continue
        names[path] = grant.name
        found.append(grant)
    folder = Path(config.data_dir) / "broker"
    deployment = write(folder, found)
    try:
        broker = stack.enter_context(EmbeddedBroker(
            port=port, password_file=deployment.amqtt_passwd, acl_file=deployment.amqtt_acl,
            allow_anonymous=False))
    except BrokerProcessError as error:
        raise Failure(f"embedded broker: {error}") from None
    log.info("embedded broker on %s (pid %s), logins in %s", broker.url, broker.pid,
             folder / LOGINS)
    note_embedded_address(config.data_dir, broker.url)
    return replace(config, broker=broker.url), broker, Logins(broker.url, deployment, names)
