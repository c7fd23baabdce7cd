"""What the embedded broker is allowed to do, turned into amqtt's configuration.

Pure functions only: the process that runs the broker lives in ``server.py``.
Least privilege where amqtt allows it: no ``$SYS`` tree (it tells any client who
else is connected), no packet logging (payloads carry users' words), anonymous
clients only on a loopback address unless the operator says otherwise, and an
optional per-user ACL on publish and subscribe.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from argon2 import PasswordHasher

_ANONYMOUS = "amqtt.plugins.authentication.AnonymousAuthPlugin"
_FILE = "amqtt.plugins.authentication.FileAuthPlugin"
_ACL = "amqtt.plugins.topic_checking.TopicAccessControlListPlugin"


class BrokerConfigError(ValueError):
    """Settings the broker refuses to start with (the operator's fault)."""


@dataclass(frozen=True)
class BrokerSettings:
    host: str = "127.0.0.1"
    port: int = 1883
    #: ``user:<argon2 hash>`` lines (see :func:`add_password`); enables logins.
    password_file: Path | None = None
    #: YAML ``{publish: {user: [filters]}, subscribe: {user: [filters]}}``.
    acl_file: Path | None = None
    #: ``None``: anonymous clients allowed on loopback only, and only without a password file.
    allow_anonymous: bool | None = None

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def anonymous(self) -> bool:
        if self.allow_anonymous is not None:
            return self.allow_anonymous
        return self.loopback and self.password_file is None

    def check(self) -> None:
        if not 0 <= self.port <= 65535:
            raise BrokerConfigError(f"port {self.port} is out of range")
        if self.password_file is not None and not self.password_file.is_file():
            raise BrokerConfigError(f"password file {self.password_file} does not exist")
        if self.acl_file is not None and not self.acl_file.is_file():
            raise BrokerConfigError(f"ACL file {self.acl_file} does not exist")
        if not self.anonymous and self.password_file is None:
            raise BrokerConfigError(
                f"binding {self.host} without anonymous access needs a password file "
                "(--password-file), or pass --allow-anonymous to accept anyone")


def read_acl(path: Path) -> dict[str, dict[str, list[str]]]:
    """Load an ACL file and check its shape."""
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise BrokerConfigError(f"cannot read ACL file {path}: {error}") from None
    if not isinstance(data, dict) or set(data) - {"publish", "subscribe"}:
        raise BrokerConfigError(f"{path}: expected the keys 'publish' and 'subscribe'")
    acl: dict[str, dict[str, list[str]]] = {}
    for action in ("publish", "subscribe"):
        # A missing section would let everyone publish (amqtt's default), or nobody
        # subscribe: make both explicit so the file says what it means.
        rules = data.get(action)
        if not isinstance(rules, dict) or not all(
                isinstance(filters, list) and all(isinstance(f, str) for f in filters)
                for filters in rules.values()):
            raise BrokerConfigError(f"{path}: {action!r} must map users to lists of topic filters")
        acl[action] = {str(user): list(filters) for user, filters in rules.items()}
    return acl


def amqtt_config(settings: BrokerSettings) -> dict[str, Any]:
    """The amqtt 0.12 broker configuration for these settings."""
    settings.check()
    plugins: dict[str, Any] = {_ANONYMOUS: {"allow_anonymous": settings.anonymous}}
    if settings.password_file is not None:
        # Every auth plugin must agree: the anonymous one admits any named client when
        # anonymous access is off, so the file plugin is what checks the password; it
        # abstains (None) on a client without a name, which anonymous access admits.
        plugins[_FILE] = {"password_file": str(settings.password_file)}
    if settings.acl_file is not None:
        acl = read_acl(settings.acl_file)
        plugins[_ACL] = {"publish_acl": acl["publish"], "acl": acl["subscribe"]}
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{settings.host}:{settings.port}"}},
        "plugins": plugins,
    }


def add_password(path: Path, user: str, password: str) -> None:
    """Add or replace a user in a broker password file (argon2, as amqtt verifies it)."""
    if not user or ":" in user or "\n" in user:
        raise BrokerConfigError(f"invalid broker user name {user!r}")
    if not password:
        raise BrokerConfigError("an empty password is not allowed")
    lines = path.read_text().splitlines() if path.exists() else []
    kept = [line for line in lines if line.split(":", 1)[0] != user]
    kept.append(f"{user}:{PasswordHasher().hash(password)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(kept) + "\n")
    path.chmod(0o600)
