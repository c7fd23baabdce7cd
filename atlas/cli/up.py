"""``atlas up``: broker, daemon, web bridge and every skill, on this machine, in one command."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType

import click

from ..broker import EmbeddedBroker
from ..config import find_file
from .common import Failure, check_sharing, config_option, load_config
from .daemon import embedded_url
from .logins import Logins, secured_broker
from .ready import Awaited, InThread, PortInUse, check_port, local_url, wait_until_ready
from .supervise import Supervisor, find_skills

#: Where the embedded broker listens: loopback only, as anonymous clients are allowed
#: there alone (a broker open to the network needs logins: see `atlas broker`).
BROKER_HOST = "127.0.0.1"


@click.command()
@click.option("--broker", help="Broker URL, or 'embedded' (default: the configuration).")
@click.option("--broker-port", default=1883, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the embedded broker (0: any free port).")
@click.option("--bridge-port", type=click.IntRange(0, 65535), default=None,
              help="Port of the web page (0: any free port) [default: the configuration's, 8080].")
@click.option("--host", default=None,
              help="Address the web page listens on, e.g. 0.0.0.0 for other devices "
                   "[default: the configuration's, 127.0.0.1].")
@click.option("--skills-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of skills to run (default: the configuration's skills_dir).")
@click.option("--bridge/--no-bridge", default=True, help="Run the web bridge.")
@config_option
def up(broker: str | None, broker_port: int, bridge_port: int | None, host: str | None,
       skills_dir: Path | None, bridge: bool, config_path: Path | None) -> None:
    """Run the whole stack until Ctrl-C; says when it is ready."""
    config = load_config(config_path, broker=broker, skills_dir=skills_dir,
                         bridge_host=host, bridge_port=bridge_port)
    check_sharing(config)
    bridge = bridge and importlib.util.find_spec("atlas.cli.bridge") is not None
    # Ports first: one clear error now rather than a child failing over and over.
    try:
        if config.embedded and broker_port:
            check_port(BROKER_HOST, broker_port)
        web_port = check_port(config.bridge.host, config.bridge.port) if bridge else 0
    except PortInUse as taken:
        option = "--broker-port" if config.embedded and taken.port == broker_port \
            and taken.host == BROKER_HOST else "--bridge-port"
        what = "embedded broker" if option == "--broker-port" else "web bridge"
        raise Failure(f"port {taken.port} on {taken.host} ({what}) is in use: is atlas already "
                      f"running? Stop it, or choose another port with {option} PORT "
                      "(0: any free port)") from None
    except OSError as error:
        raise Failure(f"cannot listen on {config.bridge.host}: {error.strerror or error}") \
            from None
    # A plain flag, not a threading.Event: its set() takes a lock, and a second signal
    # handled while the first holds it (Ctrl-C pressed twice, SIGTERM from a service
    # manager and from a `timeout` around it) left the main thread waiting on itself.
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor()
    code = 0
    # The daemon started below writes a newer started_at; older lists are stale.
    since = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=1)
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [signal.signal(s, h) for s, h in previous.items()])
        skills = find_skills(config.skills_dir)
        logins: Logins | None = None
        embedded: EmbeddedBroker | None
        if config.embedded:
            # One login per component, each allowed only what it needs (atlas acl).
            config, embedded, logins = secured_broker(config, broker_port, skills, stack)
        else:
            config, embedded = embedded_url(config, broker_port, stack)
        # Children read the same file (the one found here, wherever they look) and get
        # the broker actually used (an embedded one may be on a free port) in the
        # environment, with their own login and the same data dir.
        source = find_file(config_path)
        supervisor.env = {**os.environ, "ATLAS_BROKER": config.broker,
                          "ATLAS_DATA_DIR": str(config.data_dir)}
        supervisor.broker = embedded

        def login(url: str | None) -> dict[str, str]:
            return {"ATLAS_BROKER": url} if url else {}

        common = ["--config", str(source)] if source else []
        verbosity = _verbosity()
        stack.callback(supervisor.stop)
        lines = [f"  broker  {config.broker}"
                 + (f" (embedded, pid {embedded.pid})" if embedded else "")
                 + (f", a login per component in {logins.deployment.folder}" if logins else "")]
        # Essential until atlas is ready: failing to start is an error, not a restart loop.
        daemon = supervisor.spawn("daemon", [*verbosity, "daemon", *common], essential=True,
                                  env=login(logins.daemon() if logins else None))
        lines.append(f"  daemon  pid {daemon.process.pid}")
        web, web_child = None, None
        if bridge:
            web = local_url(config.bridge.host, web_port)
            # Essential until it listens: failing to start is an error, not a restart loop.
            web_child = supervisor.spawn(
                "bridge", [*verbosity, "bridge", *common, "--host", config.bridge.host,
                           "--port", str(web_port)], essential=True, where=web,
                env=login(logins.bridge() if logins else None))
            lines.append(f"  bridge  {web} (pid {web_child.process.pid})")
        for path in skills:
            child = supervisor.spawn(f"skill {path.stem}",
                                     [*verbosity, "skill", "run", str(path), *common],
                                     essential=False, where=str(path), nice=config.skills_nice,
                                     env=login(logins.skill(path) if logins else None))
            lines.append(f"  skill   {path.stem}: {path} (pid {child.process.pid})")
        if not skills:
            lines.append(f"  (no skills in {config.skills_dir})")
        click.echo("atlas is starting:\n" + "\n".join(lines))
        sys.stdout.flush()

        def bridge_listens() -> None:
            # From now on a crashed bridge is started again, like a skill.
            if web_child is not None:
                web_child.essential = False

        def say(text: str) -> None:
            click.echo(text)
            sys.stdout.flush()

        awaited = Awaited([path.stem for path in skills], bridge=web is not None)
        watcher = logins.operator() if logins else config.broker
        waiter = InThread(wait_until_ready(watcher, awaited, web, since, say,
                                           bridge_listens)).start()
        stack.callback(waiter.stop)

        def daemon_served() -> None:
            # From now on a daemon that dies (killed, out of memory) is started again,
            # like a skill: its channels are in its store, and it serves them again.
            daemon.essential = False

        announced = threading.Thread(target=_announce, args=(waiter, web, say, daemon_served),
                                     daemon=True)
        announced.start()
        code = supervisor.watch(lambda: stopping)
        if code and not waiter.finished.is_set():
            click.echo("atlas could not start: see the error above", err=True)
        click.echo("stopping…", err=True)
    click.echo("stopped", err=True)
    sys.exit(code)


def _announce(waiter: InThread, web: str | None, say: Callable[[str], None],
              ready: Callable[[], None]) -> None:
    while not waiter.finished.wait(0.5):
        if not waiter.running and not waiter.finished.is_set():
            if waiter.error is not None:
                say(f"(cannot tell when atlas is ready: {waiter.error})")
            return
    ready()
    say("atlas is ready: chat with `atlas chat` in another terminal"
        + (f", or open {web}" if web else "") + "; Ctrl-C stops it.")


def _verbosity() -> list[str]:
    level = logging.getLogger().getEffectiveLevel()
    return ["-v"] if level <= logging.DEBUG else ["-q"] if level >= logging.WARNING else []
