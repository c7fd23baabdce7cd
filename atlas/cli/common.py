"""What every subcommand shares: ``--config``, errors as one line, running until a signal."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import config as configuration
from ..transport import BrokerAddress, Refused, Session, TransportError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class Failure(click.ClickException):
    """A one-line error; the subclasses below say which exit code."""

    exit_code = EXIT_FAILURE


class BadUsage(Failure):
    """Bad arguments or configuration."""

    exit_code = EXIT_USAGE


class Unreachable(Failure):
    """The broker cannot be reached."""

    exit_code = EXIT_UNREACHABLE


def config_option(function: F) -> F:
    return click.option(
        "--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
        help=f"YAML configuration (default: $ATLAS_CONFIG, else {configuration.DEFAULT_FILE}, "
             "else ~/.config/atlas/atlas.yml, the first present).",
    )(function)


def load_config(path: Path | None, **overrides: Any) -> configuration.Config:
    try:
        return configuration.load(path, **overrides)
    except configuration.ConfigError as error:
        raise BadUsage(f"configuration: {error}") from None


def broker_address(url: str) -> BrokerAddress:
    try:
        return BrokerAddress.parse(url)
    except ValueError as error:
        raise BadUsage(f"broker: {error}") from None


def check_sharing(config: configuration.Config) -> None:
    """With ``state``, daemons share the work over MQTT 5: say so before anything starts."""
    if config.state and (config.embedded or broker_address(config.broker).protocol != 5):
        raise Failure(f"state: {config.state_address}: daemons sharing Redis share the work "
                      "over MQTT 5; give a broker URL ending in ?protocol=5 (Mosquitto 2, "
                      "EMQX, VerneMQ, HiveMQ; not the embedded broker)")


def say(message: str) -> None:
    click.echo(message, err=True)


@contextlib.asynccontextmanager
async def connected(address: BrokerAddress, name: str, *, attempts: int | None = 8,
                    **options: Any) -> AsyncIterator[Session]:
    """A connected session, retrying with backoff and saying so (``attempts=None``: forever)."""
    def retrying(error: TransportError, delay: float) -> None:
        say(f"{error}; retrying in {delay:.1f} s")

    session = Session(address, name, attempts=attempts, on_retry=retrying, **options)
    try:
        await session.__aenter__()
    except Refused as error:
        raise Failure(str(error)) from None
    except TransportError as error:
        raise Unreachable(str(error)) from None
    try:
        yield session
    finally:
        await session.drain(1.0)
        await session.close()


def run_until_signal(main: Coroutine[Any, Any, Any]) -> None:
    """Run ``main``; SIGTERM or SIGINT cancel it and the command exits 0."""
    async def guarded() -> None:
        task = asyncio.ensure_future(main)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        signalled = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({task, signalled}, return_when=asyncio.FIRST_COMPLETED)
            await cancel(task)
        finally:
            signalled.cancel()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(signum)

    asyncio.run(guarded())


async def cancel(task: asyncio.Future[Any], every: float = 3.0) -> None:
    """Cancel ``task`` and wait for it, cancelling again while it runs.

    A task may swallow one cancellation (some library code catches it while cleaning
    up); asking again makes stopping certain. The pause is longer than the daemon's
    own clean-up on cancel (2 s at most).
    """
    while not task.done():
        task.cancel()
        await asyncio.wait({task}, timeout=every)
    error = None if task.cancelled() else task.exception()
    if error is not None:
        raise error
