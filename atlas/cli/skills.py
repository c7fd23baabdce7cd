"""``atlas skills``: which skills are live, as a table or JSON."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from ..protocol import Skills, SkillSummary
from .common import broker_address, config_option, connected, load_config
from .probe import probe
from .render import skills_json, skills_table


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--wait", default=1.5, show_default=True, type=click.FloatRange(0.1, 60),
              help="Seconds to collect answers to the ping.")
@click.option("--broker", help="Broker URL (default: ATLAS_BROKER, then the configuration).")
@config_option
def skills(as_json: bool, wait: float, broker: str | None, config_path: Path | None) -> None:
    """Ping the skills and list those that answer."""
    config = load_config(config_path, broker=broker)
    address = broker_address(config.broker_url)

    async def collect() -> tuple[list[SkillSummary], Skills | None]:
        async with connected(address, "atlas-skills", attempts=4) as client:
            return await probe(client, wait)

    found, daemon = asyncio.run(collect())
    click.echo(skills_json(found) if as_json else skills_table(found))
    if daemon is not None and not as_json:
        for name, why in sorted(daemon.throttled.items()):
            click.echo(f"throttled: {name}: {why}")
