"""``atlas users``: per-user language, password and skill settings (``__env``) in the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..store import Store, UnknownUser, UserExists
from .common import BadUsage, Failure, config_option, load_config
from .render import users_table


def _store(config_path: Path | None) -> Store:
    return Store.in_data_dir(load_config(config_path).data_dir)


def _password(from_stdin: bool, *, required: bool) -> str | None:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        hint = "" if required else " (empty: none, the web bridge will refuse this user)"
        password = click.prompt(f"Password{hint}", hide_input=True, confirmation_prompt=True,
                                default="", show_default=False)
    else:
        password = ""
    if required and not password:
        raise BadUsage("a password is required (type it, or use --password-stdin)")
    return password or None


def parse_assignment(text: str) -> tuple[str, Any]:
    """``KEY=text`` sets a string, ``KEY:=json`` a typed value, ``KEY=`` removes the key."""
    key, typed, value = text.partition(":=")
    if not typed:
        key, equals, value = text.partition("=")
        if not equals:
            raise click.BadParameter(f"{text!r} is not KEY=VALUE", param_hint="KEY=VALUE")
    if not key or not key.replace("_", "").isalnum():
        raise click.BadParameter(f"invalid key {key!r}", param_hint="KEY=VALUE")
    if not typed:
        return key, value or None
    try:
        return key, json.loads(value)
    except json.JSONDecodeError as error:
        raise click.BadParameter(f"{key}: not JSON ({error.msg})", param_hint="KEY:=JSON") \
            from None


@click.group()
def users() -> None:
    """Manage users: language, password, skill settings."""


@users.command("add")
@click.argument("uid")
@click.option("--lang", help="Language code (default: the configuration's default_lang).")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@config_option
def add(uid: str, lang: str | None, password_stdin: bool, config_path: Path | None) -> None:
    """Add a user; prompts for a password when interactive."""
    config = load_config(config_path)
    if not uid.strip() or len(uid) > 128 or "/" in uid:
        raise BadUsage(f"invalid uid {uid!r}")
    store = Store.in_data_dir(config.data_dir)
    if store.user(uid) is not None:
        raise Failure(f"user {uid} already exists")
    password = _password(password_stdin, required=False)
    try:
        store.add_user(uid, lang or config.default_lang, password)
    except UserExists:
        raise Failure(f"user {uid} already exists") from None
    click.echo(f"user {uid} added ({lang or config.default_lang}"
               f"{', with a password' if password else ', no password'})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@config_option
def list_(as_json: bool, config_path: Path | None) -> None:
    """List users (never their passwords)."""
    found = _store(config_path).users()
    if as_json:
        click.echo(json.dumps([{"uid": u.uid, "lang": u.lang, "password": u.has_password,
                                "env": sorted(u.env)} for u in found], indent=2))
    else:
        click.echo(users_table(found))


@users.command("env")
@click.argument("uid")
@click.argument("assignments", nargs=-1, metavar="KEY=VALUE…")
@config_option
def env(uid: str, assignments: tuple[str, ...], config_path: Path | None) -> None:
    """Set skill settings: KEY=text, KEY:=json, KEY= removes; none: show them."""
    store = _store(config_path)
    values = dict(parse_assignment(item) for item in assignments)
    try:
        if values:
            store.set_env(uid, values)
    except UnknownUser:
        raise Failure(f"no user {uid}") from None
    user = store.user(uid)
    if user is None:
        raise Failure(f"no user {uid}")
    for key, value in user.env.items():
        click.echo(f"{key}={value if isinstance(value, str) else json.dumps(value)}")


@users.command("lang")
@click.argument("uid")
@click.argument("lang")
@config_option
def lang(uid: str, lang: str, config_path: Path | None) -> None:
    """Change a user's language."""
    try:
        _store(config_path).set_lang(uid, lang)
    except UnknownUser:
        raise Failure(f"no user {uid}") from None
    click.echo(f"user {uid} now speaks {lang}")


@users.command("passwd")
@click.argument("uid")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@config_option
def passwd(uid: str, password_stdin: bool, config_path: Path | None) -> None:
    """Set a user's password, and sign them out everywhere (their tokens are revoked,
    their open sockets closed)."""
    from ..bridge.tokens import sign_out_everywhere  # the bridge's own table

    store = _store(config_path)
    if store.user(uid) is None:
        raise Failure(f"no user {uid}")
    password = _password(password_stdin, required=True)
    assert password is not None
    store.set_password(uid, password)
    ended = sign_out_everywhere(store.path, uid)
    click.echo(f"password of {uid} changed; signed out of {ended} sign-in(s)")


@users.command("remove")
@click.argument("uid")
@config_option
def remove(uid: str, config_path: Path | None) -> None:
    """Remove a user and their settings."""
    try:
        _store(config_path).delete_user(uid)
    except UnknownUser:
        raise Failure(f"no user {uid}") from None
    click.echo(f"user {uid} removed")
