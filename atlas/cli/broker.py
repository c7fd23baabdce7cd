"""``atlas broker``: the embedded amqtt broker on its own; ``atlas broker-user``: its logins."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from ..broker import BrokerConfigError, BrokerSettings, BrokerStartError, add_password
from ..broker.server import run
from .common import BadUsage, Failure, config_option, load_config

_FILE = click.Path(path_type=Path, dir_okay=False)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=1883, show_default=True, type=click.IntRange(0, 65535),
              help="Port to bind (0: any free port, printed once ready).")
@click.option("--password-file", type=_FILE, help="user:argon2-hash lines (see broker-user).")
@click.option("--acl-file", type=_FILE, help="YAML ACL: publish/subscribe filters per user.")
@click.option("--allow-anonymous/--no-anonymous", default=None,
              help="Default: anonymous only on a loopback address without a password file.")
@config_option
def broker(host: str, port: int, password_file: Path | None, acl_file: Path | None,
           allow_anonymous: bool | None, config_path: Path | None) -> None:
    """Run the embedded MQTT broker (amqtt) until interrupted."""
    load_config(config_path)  # a broken file should fail here as everywhere else
    settings = BrokerSettings(host, port, password_file, acl_file, allow_anonymous)
    try:
        run(settings)
    except BrokerConfigError as error:
        raise BadUsage(f"broker: {error}") from None
    except BrokerStartError as error:
        raise Failure(f"broker: {error}") from None
    except KeyboardInterrupt:
        pass


@click.command("broker-user")
@click.argument("password_file", type=_FILE)
@click.argument("user")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
def broker_user(password_file: Path, user: str, password_stdin: bool) -> None:
    """Add or replace USER in the broker's PASSWORD_FILE (argon2 hash)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        add_password(password_file, user, password)
    except BrokerConfigError as error:
        raise BadUsage(str(error)) from None
    click.echo(f"broker user {user} saved in {password_file}")
