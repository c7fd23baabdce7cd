"""``atlas bridge``: the WebSocket bridge and the browser page."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import click

from atlas.config import ConfigError, load


@click.command("bridge")
@click.option("--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML configuration file (default: config/atlas.yml where present).")
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on [default: 8080].")
@click.option("--broker", default=None, help="Broker URL, e.g. mqtt://user:pass@host:1883.")
def bridge(config_file: Path | None, host: str | None, port: int | None,
           broker: str | None) -> None:
    """Serve the WebSocket bridge and the browser page."""
    from atlas.bridge import BridgeError, serve  # keep `atlas --help` fast

    try:
        config = load(config_file, broker=broker, bridge_host=host, bridge_port=port)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")

    def announce(address: str) -> None:
        click.echo(f"atlas bridge: open {address}", err=False)

    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config, announce=announce))
    except BridgeError as error:
        raise click.ClickException(str(error)) from None
