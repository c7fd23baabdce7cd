"""One daemon against two sharing Redis: turns per second and latency, one machine.

    python benchmarks/scale.py [--seconds 5] [--count 500] [--json PATH]

Against a Mosquitto (MQTT 5) and a redis-server it starts, with the trivial skill and
the independent load generator of benchmarks/turns.py, it measures three set-ups in
one sitting:

- ``memory``: one daemon as a home runs it (no ``state``: SQLite durability);
- ``redis x1``: one daemon with ``state: redis://…`` (every batch written to Redis
  before its messages leave);
- ``redis x2``: two daemons with the same ``state``, sharing the sids.

For each: the sequential turn (median, p99) and turns per second with 100 sids
(repeated sentences), with the CPU each process spent per turn. It prints a table
and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))

from brokers import Mosquitto  # noqa: E402
from redis_server import RedisServer  # noqa: E402
from turns import (  # noqa: E402  (the same processes, load generator and skill)
    PYTHON,
    SKILL_NAME,
    TRIVIAL_SKILL,
    Watcher,
    load_average,
    process,
    role,
    stage,
)


def measure(url: str, folder: Path, name: str, daemons: int, state: str | None,
            count: int, seconds: float, broker: int, redis: int) -> dict[str, Any]:
    logs = folder / name.replace(" ", "-")
    logs.mkdir()
    configs = []
    for n in range(daemons):
        config = logs / f"atlas-{n}.yml"
        config.write_text(f"broker: {url}\ndata_dir: {logs / f'data-{n}'}\ndefault_lang: en\n"
                          + (f"state: {state}\n" if state else ""))
        configs.append(config)
    skill_file = logs / "bench_weather.py"
    skill_file.write_text(TRIVIAL_SKILL)
    watcher = Watcher(url)
    stage(f"{name}: starting {daemons} daemon(s) and the skill")
    with contextlib.ExitStack() as stack:
        pids = {"broker": broker}
        if redis:
            pids["redis"] = redis
        for n, config in enumerate(configs):
            daemon = stack.enter_context(process(
                [PYTHON, "-m", "atlas", "daemon", "--config", str(config)],
                logs / f"daemon-{n}.log"))
            pids[f"daemon-{n}"] = daemon.pid
        skill = stack.enter_context(process(
            [PYTHON, "-m", "atlas", "skill", "run", str(skill_file), "--broker", url,
             "--config", str(configs[0])], logs / "skill.log"))
        pids["skill"] = skill.pid
        if not watcher.wait_skills(lambda s: SKILL_NAME in s, 120):
            raise RuntimeError(f"the daemons never trained for the skill; see {logs}")
        time.sleep(3)   # every daemon trained, not only the one that published the list
        stage(f"{name}: sequential turns")
        sequential = role(url, "turns", "--sids", "1", "--count", str(count), "--warmup", "1",
                          log=logs / "load.log")
        stage(f"{name}: 100 sids")
        sids100 = role(url, "turns", "--sids", "100", "--mode", "repeated", "--duration",
                       str(seconds), "--warmup", "1", log=logs / "load.log", cpu_of=pids)
    watcher.close()
    return {"daemons": daemons, "state": "redis" if state else "sqlite",
            "sequential": sequential, "sids100": sids100}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the 100-sid run")
    parser.add_argument("--count", type=int, default=500, help="sequential turns")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "scale.json")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="atlas-scale-"))
    results: dict[str, Any] = {"load_average_before": load_average(), "runs": {}}
    try:
        with Mosquitto(folder, extra="max_queued_messages 1000000\n") as broker, \
                RedisServer(folder) as redis_server:
            url = f"{broker.url}?protocol=5"
            broker_pid = broker.process.pid if broker.process else 0
            redis_pid = redis_server.process.pid if redis_server.process else 0
            for name, daemons, state in (("memory", 1, None), ("redis x1", 1, redis_server.url),
                                         ("redis x2", 2, redis_server.url)):
                redis_server.client().flushdb()
                results["runs"][name] = measure(url, folder, name, daemons, state, args.count,
                                                args.seconds, broker_pid,
                                                redis_pid if state else 0)
    finally:
        results["load_average_after"] = load_average()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\n{'set-up':10} {'turn p50':>9} {'turn p99':>9} {'100 sids':>10}  CPU ms/turn")
    for name, run in results["runs"].items():
        seq, many = run["sequential"], run["sids100"]
        cpu = ", ".join(f"{k} {v}" for k, v in many.get("cpu_ms_per_turn", {}).items())
        print(f"{name:10} {seq['median_ms']:>7.2f}ms {seq['p99_ms']:>7.2f}ms "
              f"{many['turns_per_s']:>8.0f}/s  {cpu}")
    print(f"(load average {results['load_average_before']} before, "
          f"{results['load_average_after']} after; JSON in {args.json})")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
