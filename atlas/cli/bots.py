"""``atlas bots``: chat widgets' entry points (AIDA and MCC clients), their tokens and env."""

from __future__ import annotations

import json
import re
from pathlib import Path

import click

from ..store import BotExists, Store, UnknownBot
from .common import BadUsage, Failure, config_option, load_config
from .render import table
from .users import parse_assignment

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def _store(config_path: Path | None) -> Store:
    return Store.in_data_dir(load_config(config_path).data_dir)


@click.group()
def bots() -> None:
    """Manage bots: the entry points of chat widgets, whose end users are guests."""


@bots.command("add")
@click.argument("name")
@click.option("--lang", help="Language of its guests (default: the configuration's).")
@click.option("--open", "open_", is_flag=True,
              help="MCC clients may connect without the token (as MCC servers allow).")
@config_option
def add(name: str, lang: str | None, open_: bool, config_path: Path | None) -> None:
    """Add a bot; prints its id and its access token (shown this once)."""
    config = load_config(config_path)
    if not _NAME.match(name):
        raise BadUsage(f"invalid bot name {name!r}: letters, digits, '.', '-', '_'")
    store = Store.in_data_dir(config.data_dir)
    try:
        bot, token = store.add_bot(name, lang or config.default_lang, open_=open_)
    except BotExists:
        raise Failure(f"bot {name} already exists") from None
    click.echo(f"bot {name} added ({bot.lang}{', open' if open_ else ''})")
    click.echo(f"id:    {bot.id}")
    click.echo(f"token: {token}")
    click.echo("The token is shown only now; `atlas bots token NAME` makes a new one.")


@bots.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def list_(as_json: bool, config_path: Path | None) -> None:
    """List bots (never their tokens)."""
    found = _store(config_path).bots()
    if as_json:
        click.echo(json.dumps([{"name": b.name, "id": b.id, "lang": b.lang, "open": b.open,
                                "env": sorted(b.env)} for b in found], indent=2))
    else:
        click.echo(table(("NAME", "ID", "LANG", "OPEN"),
                         [(b.name, b.id, b.lang, "yes" if b.open else "no") for b in found]))


@bots.command("remove")
@click.argument("name")
@config_option
def remove(name: str, config_path: Path | None) -> None:
    """Remove a bot and everything of its guests (sessions, data, images)."""
    try:
        _store(config_path).remove_bot(name)
    except UnknownBot:
        raise Failure(f"no bot {name}") from None
    click.echo(f"bot {name} removed")


@bots.command("token")
@click.argument("name")
@config_option
def token(name: str, config_path: Path | None) -> None:
    """Make a new access token; the old one stops working at once."""
    try:
        new = _store(config_path).new_bot_token(name)
    except UnknownBot:
        raise Failure(f"no bot {name}") from None
    click.echo(f"token: {new}")


@bots.command("env")
@click.argument("name")
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE…")
@config_option
def env(name: str, assignments: tuple[str, ...], config_path: Path | None) -> None:
    """Skill settings of the bot's guests: KEY=text, KEY:=json, KEY= removes; none: show."""
    store = _store(config_path)
    values = dict(parse_assignment(item) for item in assignments)
    try:
        if values:
            store.set_bot_env(name, values)
    except UnknownBot:
        raise Failure(f"no bot {name}") from None
    bot = store.bot(name)
    if bot is None:
        raise Failure(f"no bot {name}")
    for key, value in bot.env.items():
        click.echo(f"{key}={value if isinstance(value, str) else json.dumps(value)}")
