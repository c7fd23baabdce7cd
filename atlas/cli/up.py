"""``atlas up``: broker, daemon, web bridge and every skill, on this machine, in one command."""

from __future__ import annotations

import contextlib
import importlib.util
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from .common import config_option, load_config
from .daemon import embedded_url
from .logins import Logins, secured_broker
from .supervise import Supervisor, find_skills


@click.command()
@click.option("--broker", help="Broker URL, or 'embedded' (default: the configuration).")
@click.option("--broker-port", default=1883, show_default=True, type=click.IntRange(0, 65535),
              help="Port of the embedded broker (0: any free port).")
@click.option("--skills-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder of skills to run (default: the configuration's skills_dir).")
@click.option("--bridge/--no-bridge", default=True, help="Run the web bridge.")
@config_option
def up(broker: str | None, broker_port: int, skills_dir: Path | None, bridge: bool,
       config_path: Path | None) -> None:
    """Run the whole stack until Ctrl-C."""
    config = load_config(config_path, broker=broker, skills_dir=skills_dir)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    supervisor = Supervisor()
    code = 0
    with contextlib.ExitStack() as stack:
        stack.callback(lambda: [signal.signal(s, h) for s, h in previous.items()])
        skills = find_skills(config.skills_dir)
        logins: Logins | None = None
        if config.embedded:
            # One login per component, each allowed only what it needs (atlas acl).
            config, broker_pid, logins = secured_broker(config, broker_port, skills, stack)
        else:
            config, broker_pid = embedded_url(config, broker_port, stack)
        # Children read the same file; the environment gives them the broker actually
        # used (an embedded one may be on a free port), their login, and the data dir.
        supervisor.env = {**os.environ, "ATLAS_BROKER": config.broker,
                          "ATLAS_DATA_DIR": str(config.data_dir)}

        def login(url: str | None) -> dict[str, str]:
            return {"ATLAS_BROKER": url} if url else {}

        common = ["--config", str(config_path)] if config_path else []
        verbosity = _verbosity()
        stack.callback(supervisor.stop)
        lines = [f"  broker  {config.broker}"
                 + (f" (embedded, pid {broker_pid})" if broker_pid else "")
                 + (f", a login per component in {logins.deployment.folder}" if logins else "")]
        daemon = supervisor.spawn("daemon", [*verbosity, "daemon", *common], essential=True,
                                  env=login(logins.daemon() if logins else None))
        lines.append(f"  daemon  pid {daemon.process.pid}")
        if bridge and importlib.util.find_spec("atlas.cli.bridge") is not None:
            web = f"http://{config.bridge.host}:{config.bridge.port}/"
            child = supervisor.spawn("bridge", [*verbosity, "bridge", *common],
                                     essential=False, where=web,
                                     env=login(logins.bridge() if logins else None))
            lines.append(f"  bridge  {web} (pid {child.process.pid})")
        for path in skills:
            child = supervisor.spawn(f"skill {path.stem}",
                                     [*verbosity, "skill", "run", str(path), *common],
                                     essential=False, where=str(path),
                                     env=login(logins.skill(path) if logins else None))
            lines.append(f"  skill   {path.stem}: {path} (pid {child.process.pid})")
        if not skills:
            lines.append(f"  (no skills in {config.skills_dir})")
        click.echo("atlas is up:\n" + "\n".join(lines))
        click.echo("Chat with `atlas chat`; stop with Ctrl-C.", err=True)
        sys.stdout.flush()
        code = supervisor.watch(stopping)
        click.echo("stopping…", err=True)
    click.echo("stopped", err=True)
    sys.exit(code)


def _verbosity() -> list[str]:
    level = logging.getLogger().getEffectiveLevel()
    return ["-v"] if level <= logging.DEBUG else ["-q"] if level >= logging.WARNING else []
