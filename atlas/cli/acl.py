"""``atlas acl``: broker logins and least-privilege ACLs for a deployment's skills."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import click

from ..broker import BrokerConfigError
from ..broker.acl import SkillGrant, roles
from ..broker.deployment import (
    AMQTT_ACL,
    LOGINS,
    MOSQUITTO_ACL,
    MOSQUITTO_PASSWD,
    write,
    write_acls,
)
from .common import BadUsage, config_option, load_config
from .logins import declared_grant
from .supervise import find_skills


def grants(skills_dir: Path, extra_publish: tuple[str, ...],
           extra_subscribe: tuple[str, ...]) -> list[SkillGrant]:
    """Each skill of the folder, with the device topics the operator grants it."""
    publish = _extras(extra_publish, "--publish")
    subscribe = _extras(extra_subscribe, "--subscribe")
    found = []
    for path in find_skills(skills_dir):
        try:
            declared = declared_grant(path)
        except Exception as error:  # whatever a skill's own code raises on import
            raise BadUsage(f"{path}: {error}") from None
        found.append(replace(declared,
                             publish=tuple(publish.get(declared.name, ())),
                             subscribe=(*declared.subscribe,
                                        *subscribe.get(declared.name, ()))))
    return found


def _extras(values: tuple[str, ...], option: str) -> dict[str, list[str]]:
    extras: dict[str, list[str]] = {}
    for value in values:
        name, _, topic = value.partition("=")
        if not name or not topic:
            raise BadUsage(f"{option} takes SKILL=TOPIC_FILTER, not {value!r}")
        extras.setdefault(name, []).append(topic)
    return extras


@click.command()
@click.option("--skills-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of the deployment's skills (default: the configuration's).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Where to write the files (default: DATA_DIR/broker).")
@click.option("--publish", "extra_publish", multiple=True, metavar="SKILL=FILTER",
              help="Let a skill publish on its device's topics (zigbee2mqtt/#).")
@click.option("--subscribe", "extra_subscribe", multiple=True, metavar="SKILL=FILTER",
              help="Let a skill read its device's topics.")
@click.option("--acl-only", is_flag=True,
              help="Write the two ACL files only: no logins, no passwords "
                   "(config/ ships these for skills/).")
@config_option
def acl(skills_dir: Path | None, out: Path | None, extra_publish: tuple[str, ...],
        extra_subscribe: tuple[str, ...], acl_only: bool, config_path: Path | None) -> None:
    """Write broker logins and ACLs: one login per skill, least privilege for each.

    Running it again keeps the passwords already given. Passwords are in
    logins.yml (mode 600), never printed.
    """
    config = load_config(config_path, skills_dir=skills_dir)
    folder = out or Path(config.data_dir) / "broker"
    if acl_only:
        write_acls(folder, roles(grants(config.skills_dir, extra_publish, extra_subscribe)))
        click.echo(f"written in {folder}: {MOSQUITTO_ACL} and {AMQTT_ACL}")
        return
    try:
        deployment = write(folder, grants(config.skills_dir, extra_publish, extra_subscribe))
    except BrokerConfigError as error:
        raise BadUsage(str(error)) from None
    for login in deployment.logins:
        click.echo(f"  {login.user:24s} publishes {len(login.publish):2d} filter(s), "
                   f"reads {len(login.subscribe):2d}")
    click.echo(f"written in {folder}: {LOGINS} (passwords), {MOSQUITTO_PASSWD}, "
               f"{MOSQUITTO_ACL}, {AMQTT_ACL} and amqtt.passwd")
    click.echo("connect each component as mqtt://USER:PASSWORD@host:port")
