"""``atlas daemon``: the orchestrator, against the configured broker (or an embedded one)."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import replace
from pathlib import Path

import click

from ..broker import BrokerProcessError, EmbeddedBroker
from ..config import Config, note_embedded_address
from .common import (
    Failure,
    broker_address,
    check_sharing,
    config_option,
    load_config,
    run_until_signal,
)

log = logging.getLogger("atlas.cli")


def embedded_url(config: Config, port: int, stack: contextlib.ExitStack
                 ) -> tuple[Config, EmbeddedBroker | None]:
    """Start the embedded broker when the configuration says ``broker: embedded``.

    Returns the configuration naming the broker actually used, and the broker.
    """
    if not config.embedded:
        broker_address(config.broker)  # a bad URL fails now, in one line
        return config, None
    try:
        broker = stack.enter_context(EmbeddedBroker(port=port))
    except BrokerProcessError as error:
        raise Failure(f"embedded broker: {error}") from None
    log.info("embedded broker on %s (pid %s)", broker.url, broker.pid)
    note_embedded_address(config.data_dir, broker.url)
    return replace(config, broker=broker.url), broker


@click.command()
@click.option("--broker", help="Broker URL (mqtt://user:pass@host:port, mqtts://…) or 'embedded'.")
@click.option("--broker-port", default=1883, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the embedded broker, when the broker is 'embedded'.")
@config_option
def daemon(broker: str | None, broker_port: int, config_path: Path | None) -> None:
    """Run the atlas daemon until interrupted."""
    config = load_config(config_path, broker=broker)
    check_sharing(config)
    from ..daemon import serve  # the NLU stack is heavy: import it only here

    with contextlib.ExitStack() as stack:
        config, _ = embedded_url(config, broker_port, stack)
        run_until_signal(serve(config))
