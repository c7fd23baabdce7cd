"""A deployment's broker logins on disk: ``atlas acl`` writes them, ``atlas up`` uses them.

The folder holds ``logins.yml`` (each login's password, readable by the operator
only), the Mosquitto password and ACL files, and the embedded broker's. Running it
again keeps the passwords already given (components keep connecting) and adds or
removes skills.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from .acl import (
    Login,
    SkillGrant,
    amqtt_acl_text,
    mosquitto_acl,
    mosquitto_passwd,
    roles,
    with_passwords,
)
from .settings import BrokerConfigError, add_password

LOGINS = "logins.yml"
MOSQUITTO_PASSWD = "mosquitto.passwd"
MOSQUITTO_ACL = "mosquitto.acl"
AMQTT_PASSWD = "amqtt.passwd"
AMQTT_ACL = "amqtt-acl.yml"


@dataclass(frozen=True)
class Deployment:
    folder: Path
    logins: tuple[Login, ...]

    def password(self, user: str) -> str:
        for login in self.logins:
            if login.user == user:
                return login.password
        raise KeyError(user)

    @property
    def amqtt_passwd(self) -> Path:
        return self.folder / AMQTT_PASSWD

    @property
    def amqtt_acl(self) -> Path:
        return self.folder / AMQTT_ACL


def known_passwords(folder: Path) -> dict[str, str]:
    path = folder / LOGINS
    if not path.is_file():
        return {}
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise BrokerConfigError(f"cannot read {path}: {error}") from None
    if not isinstance(data, dict):
        raise BrokerConfigError(f"{path}: expected user: password lines")
    return {str(user): str(password) for user, password in data.items()}


def write(folder: Path, skills: Iterable[SkillGrant]) -> Deployment:
    """Write every file for these skills; secrets readable by this user only."""
    folder.mkdir(parents=True, exist_ok=True)
    folder.chmod(0o700)
    logins = with_passwords(roles(skills), known_passwords(folder))
    _private(folder / LOGINS, yaml.safe_dump({login.user: login.password for login in logins}))
    _private(folder / MOSQUITTO_PASSWD, mosquitto_passwd(logins))
    write_acls(folder, logins)
    passwd = folder / AMQTT_PASSWD
    with contextlib.suppress(FileNotFoundError):
        passwd.unlink()     # logins of skills gone must go too
    for login in logins:
        add_password(passwd, login.user, login.password)
    return Deployment(folder, tuple(logins))


def acl_texts(logins: Iterable[Login]) -> dict[str, str]:
    """Each ACL file's name and text: no secret in them, so they may be shipped."""
    logins = list(logins)
    return {MOSQUITTO_ACL: mosquitto_acl(logins), AMQTT_ACL: amqtt_acl_text(logins)}


def write_acls(folder: Path, logins: Iterable[Login]) -> None:
    """The ACL files alone (``atlas acl --acl-only``: what ``config/`` ships)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in acl_texts(logins).items():
        (folder / name).write_text(text)


def _private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    path.chmod(0o600)
