"""``atlas bridge``: the WebSocket bridge and the browser page."""

from __future__ import annotations

from pathlib import Path

import click

from .common import Failure, broker_address, config_option, load_config, run_until_signal


@click.command("bridge")
@config_option
@click.option("--host", default=None, help="Address to listen on [default: 127.0.0.1].")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on (0: any free port) [default: 8080].")
@click.option("--broker", default=None, help="Broker URL, e.g. mqtt://user:pass@host:1883.")
def bridge(config_path: Path | None, host: str | None, port: int | None,
           broker: str | None) -> None:
    """Serve the WebSocket bridge and the browser page until Ctrl-C."""
    from atlas.bridge import BridgeError, serve  # keep `atlas --help` fast

    config = load_config(config_path, broker=broker, bridge_host=host, bridge_port=port)
    if not config.embedded:
        broker_address(config.broker)  # a bad URL is a usage error, said before starting

    def announce(address: str) -> None:
        click.echo(f"atlas bridge: open {address} in a browser")

    try:
        run_until_signal(serve(config, announce=announce))
    except BridgeError as error:
        raise Failure(str(error)) from None
    except ValueError as error:  # an unreadable signing secret, say
        raise Failure(f"bridge: {error}") from None
