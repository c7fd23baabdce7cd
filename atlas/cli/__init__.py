"""The ``atlas`` command.

Each subcommand lives in its own module, imported only when it runs, so that
``atlas users list`` does not pay for scikit-learn and a missing optional part
(the bridge, say) does not break the others.

Exit codes: 0 success, 1 failure at run time, 2 bad arguments or configuration,
3 broker unreachable.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from typing import Any

import click

from .. import __version__

#: name -> "module:attribute" of the click command.
COMMANDS = {
    "broker": "atlas.cli.broker:broker",
    "bots": "atlas.cli.bots:bots",
    "broker-user": "atlas.cli.broker:broker_user",
    "bridge": "atlas.cli.bridge:bridge",
    "chat": "atlas.cli.chat:chat",
    "daemon": "atlas.cli.daemon:daemon",
    "nlu": "atlas.cli.nlu:nlu",
    "skill": "atlas.cli.skill:skill",
    "skills": "atlas.cli.skills:skills",
    "up": "atlas.cli.up:up",
    "users": "atlas.cli.users:users",
}


def _available(name: str) -> bool:
    module = COMMANDS[name].partition(":")[0]
    return importlib.util.find_spec(module) is not None


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if _available(name))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS or not _available(cmd_name):
            return None
        module, _, attribute = COMMANDS[cmd_name].partition(":")
        command: Any = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise click.ClickException(f"{COMMANDS[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="atlas")
@click.option("-v", "--verbose", is_flag=True, help="Log debugging details.")
@click.option("-q", "--quiet", is_flag=True, help="Log warnings and errors only.")
def main(verbose: bool, quiet: bool) -> None:
    """atlas: a self-hosted assistant orchestrator speaking MQTT."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")


__all__ = ["COMMANDS", "main"]
