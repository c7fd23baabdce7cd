"""Turns per second, latency and memory of the daemon, against a Mosquitto it starts.

    python benchmarks/turns.py [--quick] [--soak SECONDS] [--profile] [--json PATH]

One run measures, against the same broker and with the same independent load
generator (benchmarks/loadgen.py: plain paho, its own process and network thread):

1. the floor: QoS 1 request/reply between two plain paho clients;
2. the ceiling: a single-threaded paho loop playing daemon and skill with the same
   seven QoS 1 messages per turn, no interpretation (sequential, and 100 sids);
   and the load generator's own cap (an echo answering each parse at once);
3. turn latency through a real ``atlas daemon`` and a trivial SDK skill, each in its
   own process, ``dialog/parse`` to ``channel/terminate``, sequential;
4. throughput with 1, 10, 100 and 1,000 concurrent sids, repeated and all-different;
5. the interpreter's parse, in this process, for the trivial and the bundled skills;
6. the daemon's resident memory with 10,000 and 100,000 idle sids, then over a soak;
7. the time from a new skill's pong to its intent being dispatched, 1/10/100 skills live.

It prints a table with the targets of issue 12 and writes everything as JSON.
``--profile`` also samples the daemon and the skill with py-spy during the 100-sid
repeated run (``--profile-at`` another, or ``latency``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(HERE))

import loadgen  # noqa: E402
from brokers import Mosquitto  # noqa: E402

PYTHON = sys.executable
SKILL_NAME = "bench_weather"
INTENT = "get_weather"
TRAINING = """
%[get_weather]
  what is the weather like
  what's the weather today
  tell me the weather forecast
  tell me the weather forecast @[when]
  what will the weather be like @[when]
  how is the weather going to be @[when]
  weather forecast @[when] please
  will it rain @[when]

@[when](type=snips/datetime)
  tomorrow
  in 3 days
  this weekend
  in 5 days
"""
TRIVIAL_SKILL = f'''
from atlas.sdk import Skill

skill = Skill("{SKILL_NAME}", version="1.0", author="bench")
skill.training("en", """{TRAINING}""")


@skill.intent("{INTENT}")
async def weather(req):
    await req.show("sunny")


if __name__ == "__main__":
    skill.run()
'''
# N small skills in one process, each with its own connection; SIGTERM says bye.
FLEET = '''
import asyncio, contextlib, signal, sys
from atlas.sdk import Skill

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vi", "zo", "be", "du"]


def word(i):
    return "".join(SYLLABLES[(i // 10 ** k) % 10] for k in range(3)) + "x"


def make(prefix, i):
    skill = Skill(f"{prefix}{i}", version="1.0", author="bench")
    intent = f"{prefix}{i}_run"
    w = word(i)
    skill.training("en", f"%[{intent}]\\n  activate the {w} module\\n  please run {w}\\n"
                         f"  start {w} now\\n  switch on {w}\\n")

    @skill.intent(intent)
    async def run(req):
        await req.show("done")

    return skill


async def main(url, prefix, count):
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        running = [await stack.enter_async_context(make(prefix, i).connect(url, retry=True))
                   for i in range(count)]
        serving = [asyncio.create_task(each.serve()) for each in running]
        print("ready", flush=True)
        await stop.wait()
        for task in serving:
            task.cancel()
        await asyncio.gather(*serving, return_exceptions=True)


asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
'''
NEWCOMER = '''
import sys
from atlas.sdk import Skill

skill = Skill(sys.argv[2], version="1.0", author="bench")
skill.training("en", """
%[{intent}]
  launch the zorblax rocket
  fire the zorblax rocket
  zorblax rocket lift off
  start the zorblax launch
""".replace("{intent}", sys.argv[2] + "_launch"))


@skill.intent(sys.argv[2] + "_launch")
async def launch(req):
    await req.show("launched")

skill.run(sys.argv[1])
'''


# -- processes ------------------------------------------------------------------------

def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}


@contextlib.contextmanager
def process(args: list[str], log: Path, *, ready: str | None = None,
            timeout: float = 60) -> Iterator[subprocess.Popen[str]]:
    """A child process, stopped with SIGTERM on exit; ``ready``: wait for that stdout line."""
    with log.open("a") as err:
        child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True,
                                 env=env(), cwd=log.parent)
    try:
        if ready is not None:
            line = _readline(child, timeout)
            if ready not in line:
                raise RuntimeError(f"{args[1:3]} did not start ({line!r}); see {log}")
        yield child
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _readline(child: subprocess.Popen[str], timeout: float) -> str:
    found: list[str] = []
    reader = threading.Thread(target=lambda: found.append(child.stdout.readline()  # type: ignore
                                                          ), daemon=True)
    reader.start()
    reader.join(timeout)
    return found[0] if found else ""


def role(url: str, name: str, *args: str, log: Path, timeout: float = 900,
         cpu_of: dict[str, int] | None = None) -> dict[str, Any]:
    """Run one loadgen role to completion and return its JSON.

    With ``cpu_of``, the CPU time of those processes between the load generator's
    window marks is added, per completed turn (``cpu_ms_per_turn``).
    """
    with log.open("a") as err:
        child = subprocess.Popen([PYTHON, str(HERE / "loadgen.py"), name, url, *args],
                                 stdout=subprocess.PIPE, stderr=err, text=True, env=env())
    marks: dict[str, dict[str, float]] = {}
    last: dict[str, Any] = {}
    assert child.stdout is not None
    for line in child.stdout:
        with contextlib.suppress(ValueError):
            last = json.loads(line)
        if "mark" in last and cpu_of:
            marks[last["mark"]] = {k: cpu_seconds(pid) for k, pid in cpu_of.items()}
    child.wait(timeout)
    if child.returncode != 0 or not last or "mark" in last:
        raise RuntimeError(f"loadgen {name} failed (exit {child.returncode}); see {log}")
    if cpu_of and {"start", "end"} <= marks.keys():
        turns = max(last.get("turns", 0), 1)
        last["cpu_ms_per_turn"] = {
            k: round(1000 * (marks["end"][k] - marks["start"][k]) / turns, 3) for k in cpu_of}
    return last


def settle(pids: dict[str, int], timeout: float = 60.0) -> None:
    """Wait until these processes are idle (under 5 % of a core together over half a
    second): after 1,000 sids, the daemon still closes them and writes their state
    for seconds, and a stage measured meanwhile measures that too."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = sum(cpu_seconds(pid) for pid in pids.values() if pid)
        time.sleep(0.5)
        if sum(cpu_seconds(pid) for pid in pids.values() if pid) - before < 0.025:
            return


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def load_average() -> tuple[float, float, float]:
    one, five, fifteen = os.getloadavg()
    return round(one, 2), round(five, 2), round(fifteen, 2)


class Watcher:
    """The harness's own eyes on the broker (plain paho): pongs, skill lists, dispatches."""

    def __init__(self, url: str) -> None:
        self.lock = threading.Lock()
        self.pongs: dict[str, float] = {}
        self.skills: set[str] = set()
        self.skills_changed = threading.Condition(self.lock)
        self.dispatched: dict[str, float] = {}
        self.terminated = threading.Event()
        self.client = loadgen.connect(url, "watcher", on_message=self._on_message, subscriptions=(
            # The seed's pong topic, and each skill's own (the SDK's since issue 8).
            "atlas/discovery/pong", "atlas/discovery/pong/+", "atlas/discovery/skills",
            "atlas/intents/#",
            "atlas/bench-probe/channel/#"))
        loadgen.wait_subscribed(self.client)
        self.client.loop_start()

    def _on_message(self, client: Any, _: Any, message: Any) -> None:
        now = time.perf_counter()
        topic: str = message.topic
        if topic.startswith("atlas/discovery/pong"):
            with contextlib.suppress(ValueError, KeyError, TypeError):
                self.pongs.setdefault(json.loads(message.payload)["name"], now)
        elif topic == "atlas/discovery/skills":
            names: set[str] = set()
            with contextlib.suppress(ValueError, KeyError, TypeError):
                names = {s["name"] for s in json.loads(message.payload or b"{}")["skills"]}
            with self.skills_changed:
                self.skills = names
                self.skills_changed.notify_all()
        elif topic.startswith("atlas/intents/"):
            self.dispatched.setdefault(topic.removeprefix("atlas/intents/"), now)
        elif topic.endswith("/channel/terminate"):
            self.terminated.set()

    def wait_skills(self, check: Any, timeout: float) -> bool:
        with self.skills_changed:
            return self.skills_changed.wait_for(lambda: check(self.skills), timeout)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


# -- stages -----------------------------------------------------------------------------

def stage(title: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {title} (load {load_average()[0]})", flush=True)


def floor(url: str, count: int, logs: Path) -> dict[str, Any]:
    stage("floor: paho request/reply")
    with process([PYTHON, str(HERE / "loadgen.py"), "floor-responder", url],
                 logs / "floor.log", ready="ready"):
        return role(url, "floor", "--count", str(count), log=logs / "floor.log")


def ceiling(url: str, count: int, seconds: float, logs: Path, broker: int) -> dict[str, Any]:
    stage("ceiling: single-threaded paho daemon+skill, and the load generator's own cap")
    log = logs / "ceiling.log"
    out: dict[str, Any] = {}
    with process([PYTHON, str(HERE / "loadgen.py"), "ceiling", url], log,
                 ready="ready") as player:
        out["sequential"] = role(url, "turns", "--sids", "1", "--count", str(count),
                                 "--warmup", "0.5", log=log)
        pids = {"ceiling": player.pid, "broker": broker}
        out["sids100"] = role(url, "turns", "--sids", "100", "--duration", str(seconds),
                              log=log, cpu_of=pids)
    with process([PYTHON, str(HERE / "loadgen.py"), "ceiling", url, "--echo"], log,
                 ready="ready"):
        out["loadgen_cap"] = role(url, "turns", "--sids", "100", "--duration", str(seconds),
                                  log=log)
    return out


#: Sequential turns are measured in rounds, each right after a floor of its own: the
#: machine's speed drifts by a quarter from minute to minute here (other work, the
#: host), and a ratio of two figures taken minutes apart would measure that drift.
LATENCY_ROUNDS = 10


def latency(url: str, count: int, logs: Path, pids: dict[str, int]) -> dict[str, Any]:
    stage(f"turn latency: sequential, {LATENCY_ROUNDS} rounds alternating with the floor")
    per = max(100, count // LATENCY_ROUNDS)
    floors: list[float] = []
    turns: list[float] = []
    rounds: list[dict[str, Any]] = []
    with process([PYTHON, str(HERE / "loadgen.py"), "floor-responder", url],
                 logs / "floor.log", ready="ready"):
        for _ in range(LATENCY_ROUNDS):
            floor = role(url, "floor", "--count", str(per), "--samples", log=logs / "floor.log")
            turn = role(url, "turns", "--sids", "1", "--count", str(per), "--warmup", "0.5",
                        "--samples", log=logs / "load.log", cpu_of=pids)
            floors += floor.pop("samples_ms")
            turns += turn.pop("samples_ms")
            rounds.append({"floor": floor, "turn": turn})
    out = loadgen.quantiles([ms / 1000 for ms in turns])
    out["floor"] = loadgen.quantiles([ms / 1000 for ms in floors])
    out["rounds"] = rounds
    spent = [r["turn"]["cpu_ms_per_turn"] for r in rounds if "cpu_ms_per_turn" in r["turn"]]
    if spent:
        out["cpu_ms_per_turn"] = {k: round(statistics.median(s[k] for s in spent), 3)
                                  for k in spent[0]}
    return out


#: The processes --profile samples, and where their raw stacks go (beside the JSON).
PROFILED = {"daemon": ".profile.txt", "skill": ".skill-profile.txt"}


@contextlib.contextmanager
def spying(pids: dict[str, int], folder: Path | None) -> Iterator[None]:
    """py-spy the daemon and the skill while the block runs (nothing if ``folder`` is None)."""
    if folder is None:
        yield
        return
    spies = [subprocess.Popen(
        ["py-spy", "record", "--pid", str(pids[name]), "--format", "raw", "--rate", "250",
         "--nonblocking", "-o", str(folder / f"{name}{suffix}")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name, suffix in PROFILED.items()]
    try:
        yield
    finally:
        for spy in spies:
            spy.send_signal(signal.SIGINT)   # py-spy writes its stacks and stops
        for spy in spies:
            try:
                spy.wait(60)
            except subprocess.TimeoutExpired:
                spy.kill()


def throughput(url: str, seconds: float, logs: Path, pids: dict[str, int],
               profile: Path | None, profile_at: str = "repeated/100") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for mode in ("repeated", "different"):
        for sids in (1, 10, 100, 1000):
            stage(f"throughput: {sids} sids, {mode}")
            with spying(pids, profile if f"{mode}/{sids}" == profile_at else None):
                out[f"{mode}/{sids}"] = role(
                    url, "turns", "--sids", str(sids), "--mode", mode, "--duration",
                    str(seconds), "--warmup", "1", log=logs / "load.log", cpu_of=pids)
    return out


def parse_times(count: int) -> dict[str, Any]:
    """The daemon's interpreter and its parse call, in this process, on idle cores.

    Texts are never training examples (those take an exact-match shortcut): the
    trivial skill gets the all-different sentences, the bundled skills the requests
    of benchmarks/nlu_typos.py with polite variations. Each text is parsed twice:
    "first" and "again" (the second time shows any caching).
    """
    from nlu_typos import REQUESTS

    from atlas.daemon import training
    from atlas.daemon.understanding import NluUnderstanding
    from atlas.sdk import Skill
    from atlas.sdk.loader import load_skill

    trivial = Skill(SKILL_NAME, version="1", author="bench")
    trivial.training("en", TRAINING)
    trivial.intent(INTENT)(lambda req: None)
    bundled = [load_skill(path) for path in sorted((ROOT / "skills").iterdir())
               if (path / "skill.py").is_file()]
    polite = {"en": ("{}", "please {}", "{} please", "hey {}", "ok {}"),
              "fr": ("{}", "s'il te plaît {}", "{} s'il te plaît", "dis {}", "alors {}")}
    out: dict[str, Any] = {}
    for label, skills in (("trivial", [trivial]), ("bundled", bundled)):
        pongs = {s.name: s.pong() for s in skills}
        interpreters = training.train(pongs, None)
        understanding = NluUnderstanding(interpreters)
        scope = frozenset(i for p in pongs.values() for i in p.intents)
        for lang in sorted(interpreters):
            if label == "trivial":
                samples = [loadgen.different(n) for n in range(count)]
            else:
                samples = [form.format(text) for form in polite[lang] for text in REQUESTS[lang]]
            times: dict[str, list[float]] = {"first": [], "again": []}
            for key in ("first", "again"):
                for text in samples:
                    began = time.perf_counter()
                    understanding.parse(lang, text, scope)
                    times[key].append(time.perf_counter() - began)
            for key, values in times.items():
                out[f"{label}/{lang}/{key}"] = loadgen.quantiles(values)
    return out


def memory(url: str, daemon: int, sizes: tuple[int, ...], soak: float, rate: float,
           logs: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"baseline_kib": rss_kib(daemon), "idle": {}}
    made = 0
    for size in sizes:
        stage(f"memory: {size} idle sids")
        result = role(url, "create", "--prefix", "idle", "--start", str(made), "--stop",
                      str(size), log=logs / "load.log")
        made = size
        time.sleep(1)
        out["idle"][str(size)] = {**result, "rss_kib": rss_kib(daemon)}
    if len(sizes) >= 2:
        low, high = (out["idle"][str(s)]["rss_kib"] for s in sizes[:2])
        out["kib_per_idle_sid"] = (high - low) / (sizes[1] - sizes[0])
    stage(f"memory: soak of {soak:.0f} s at {rate:.0f} turns/s, all-different, 100 sids")
    samples: list[tuple[float, int]] = []
    every = max(1.0, soak / 30)
    with log_open(logs / "load.log") as err:
        load = subprocess.Popen(
            [PYTHON, str(HERE / "loadgen.py"), "turns", url, "--sids", "100", "--mode",
             "different", "--rate", str(rate), "--duration", str(soak), "--warmup", "0"],
            stdout=subprocess.PIPE, stderr=err, text=True, env=env())
    began = time.monotonic()
    while load.poll() is None:
        samples.append((round(time.monotonic() - began, 1), rss_kib(daemon)))
        time.sleep(every)
    output, _ = load.communicate()
    out["soak"] = {"seconds": soak, "rate": rate, "samples": samples,
                   "load": json.loads(output.strip().splitlines()[-1]) if output.strip() else {},
                   "slope_kib_per_min": slope(samples),
                   "slope_second_half_kib_per_min": slope(samples[len(samples) // 2:])}
    return out


def log_open(path: Path) -> Any:
    return path.open("a")


def slope(samples: list[tuple[float, int]]) -> float:
    if len(samples) < 3:
        return float("nan")
    xs = [t / 60 for t, _ in samples]
    ys = [float(kib) for _, kib in samples]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


def newcomer(url: str, watcher: Watcher, folder: Path, logs: Path) -> dict[str, Any]:
    """Time from a new skill's first pong to the first dispatch of its intent."""
    fleet_file = folder / "fleet.py"
    fleet_file.write_text(FLEET)
    new_file = folder / "newcomer.py"
    new_file.write_text(NEWCOMER)
    out: dict[str, Any] = {}
    probe = loadgen.connect(url, "probe", subscriptions=("atlas/bench-probe/channel/#",))
    loadgen.wait_subscribed(probe)
    probe.loop_start()
    probe.publish("atlas/bench-probe/channel/create", b'{"uid":"bench"}', qos=1)
    for live in (1, 10, 100):
        # The trivial skill counts as one of the live skills.
        stage(f"new skill: {live} skills live")
        prefix = f"fleet{live}x"
        with process([PYTHON, str(fleet_file), url, prefix, str(live - 1)], logs / "fleet.log",
                     ready="ready", timeout=120):
            names = {f"{prefix}{i}" for i in range(live - 1)}
            if not watcher.wait_skills(lambda s, names=names: names <= s, 120):
                raise RuntimeError(f"the daemon never listed the {live - 1} fleet skills")
            name = f"newcomer{live}"
            intent = f"{name}_launch"
            with process([PYTHON, str(new_file), url, name], logs / "fleet.log"):
                deadline = time.monotonic() + 60
                polls = 0
                while intent not in watcher.dispatched and time.monotonic() < deadline:
                    watcher.terminated.clear()
                    probe.publish("atlas/bench-probe/dialog/parse",
                                  b"launch the zorblax rocket", qos=1)
                    polls += 1
                    watcher.terminated.wait(5)
                pong = watcher.pongs.get(name)
                dispatched = watcher.dispatched.get(intent)
                out[str(live)] = {
                    "seconds": (dispatched - pong) if pong and dispatched else None,
                    "polls": polls}
                # Leave the daemon retrained without the newcomer before the next round.
            watcher.wait_skills(lambda s, name=name: name not in s, 30)
        watcher.wait_skills(lambda s, names=names: not (names & s), 60)
    probe.loop_stop()
    return out


# -- the report -------------------------------------------------------------------------

def summarise(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Rows of (what, figure, target, verdict), for the stages that ran."""
    rows: list[tuple[str, str, str, str]] = []
    floor_ms = r["floor"]["median_ms"] if "floor" in r else None
    cap100 = r["ceiling"]["sids100"]["turns_per_s"] if "ceiling" in r else None

    def verdict(ok: bool | None) -> str:
        return "" if ok is None else ("pass" if ok else "FAIL")

    def cpu(result: dict[str, Any]) -> str:
        spent = result.get("cpu_ms_per_turn", {})
        return " (CPU ms/turn: " + ", ".join(f"{k} {v:.2f}" for k, v in spent.items()) + ")"

    def times_floor(ms: float) -> str:
        return f" ({ms / floor_ms:.1f}x floor)" if floor_ms else ""

    if floor_ms is not None:
        rows.append(("floor: paho QoS 1 request/reply, median / p99",
                     f"{floor_ms:.2f} / {r['floor']['p99_ms']:.2f} ms", "", ""))
    if cap100 is not None:
        seq = r["ceiling"]["sequential"]
        rows.append(("ceiling (paho daemon+skill): sequential turn, median / p99",
                     f"{seq['median_ms']:.2f} / {seq['p99_ms']:.2f} ms"
                     + times_floor(seq["median_ms"]), "", ""))
        rows.append(("ceiling: turns/s, 100 sids",
                     f"{cap100:.0f}" + cpu(r["ceiling"]["sids100"]), "", ""))
        own = r["ceiling"]["loadgen_cap"]["turns_per_s"]
        rows.append(("load generator's own cap (echo): turns/s, 100 sids", f"{own:.0f}",
                     ">= 1.5x the ceiling", verdict(own >= 1.5 * cap100)))
    if "latency" in r:
        turn = r["latency"]
        beside = turn.get("floor", {}).get("median_ms")   # measured in the same rounds
        if beside:
            rows.append((f"floor, in {len(turn['rounds'])} rounds between the turns below",
                         f"{beside:.2f} / {turn['floor']['p99_ms']:.2f} ms", "", ""))
        base = beside or floor_ms
        ratio = f" ({turn['median_ms'] / base:.1f}x floor)" if base else ""
        ok = turn["median_ms"] <= 4 * base if base else None
        rows.append(("daemon turn, sequential, median / p99",
                     f"{turn['median_ms']:.2f} / {turn['p99_ms']:.2f} ms" + ratio + cpu(turn),
                     "median <= 4x floor", verdict(ok)))
    for key, value in r.get("throughput", {}).items():
        mode, sids = key.split("/")
        target, ok = "", None
        if sids == "100" and mode == "repeated":
            target, ok = ">= 1000/s", value["turns_per_s"] >= 1000
            if cap100:
                share = value["turns_per_s"] / cap100
                target = f">= 1000/s and >= 90 % of ceiling ({share:.0%})"
                ok = ok and share >= 0.9
        elif sids == "100":
            target, ok = ">= 600/s", value["turns_per_s"] >= 600
        lost = value["not_understood"] + value["other_endings"] + value["unfinished"]
        rows.append((f"turns/s, {sids} sids, {mode} (p50 {value['median_ms']:.1f} ms)",
                     f"{value['turns_per_s']:.0f}" + (f" ({lost} not nominal)" if lost else "")
                     + cpu(value),
                     target, verdict(ok)))
    for key, value in r.get("parse", {}).items():
        rows.append((f"interpreter parse {key}, p50 / p99",
                     f"{value['median_ms']:.2f} / {value['p99_ms']:.2f} ms", "p50 <= 0.5 ms",
                     verdict(value["median_ms"] <= 0.5)))
    if "memory" in r:
        mem = r["memory"]
        rows.append(("daemon RSS before idle sids", f"{mem['baseline_kib'] / 1024:.1f} MiB",
                     "", ""))
        for size, value in mem["idle"].items():
            rows.append((f"daemon RSS with {int(size):,} idle sids",
                         f"{value['rss_kib'] / 1024:.1f} MiB (created {value['per_s']:.0f}/s)",
                         "", ""))
        if "kib_per_idle_sid" in mem:
            per = mem["kib_per_idle_sid"]
            rows.append(("memory per idle sid (between the two sizes)", f"{per * 1024:.0f} bytes",
                         "<= 2 KiB", verdict(per <= 2)))
        soak = mem["soak"]
        if soak["samples"]:
            first, last = soak["samples"][0][1], soak["samples"][-1][1]
            rows.append((f"RSS over a {soak['seconds']:.0f} s soak "
                         f"({soak['load'].get('turns', 0)} turns)",
                         f"{first / 1024:.1f} -> {last / 1024:.1f} MiB, slope "
                         f"{soak['slope_kib_per_min']:.0f} KiB/min (2nd half "
                         f"{soak['slope_second_half_kib_per_min']:.0f})",
                         f"flat: 2nd half <= {FLAT_KIB_PER_MIN} KiB/min",
                         verdict(soak["slope_second_half_kib_per_min"] <= FLAT_KIB_PER_MIN)))
    for live, value in r.get("newcomer", {}).items():
        seconds = value["seconds"]
        ok = None if live != "100" else seconds is not None and seconds <= 1
        rows.append((f"new skill understood, {live} skills live",
                     "never" if seconds is None else f"{seconds * 1000:.0f} ms",
                     "<= 1 s" if live == "100" else "", verdict(ok)))
    return rows


#: A soak is flat when its second half grows by less than 1 MiB in 10 minutes: its
#: first half fills the bounded caches (recent texts, numbers, budgets, parses).
FLAT_KIB_PER_MIN = 100


def print_table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


def profile_summary(path: Path) -> dict[str, Any]:
    """Self time by layer, and the functions with the most inclusive time (py-spy raw)."""
    self_by_group: Counter[str] = Counter()
    self_by_function: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames:
            continue
        total += count
        self_by_group[group(frames[-1])] += count
        self_by_function[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    share = lambda c: round(100 * c / max(total, 1), 1)  # noqa: E731
    # A sample in epoll is the loop waiting (py-spy counts a runnable thread as
    # active, and on a loaded machine a woken thread waits for a core there):
    # shares of the busy samples leave it out.
    busy = total - self_by_group["waiting in epoll"]
    busy_share = lambda c: round(100 * c / max(busy, 1), 1)  # noqa: E731
    return {"samples": total,
            "self_by_layer": {k: share(v) for k, v in self_by_group.most_common()},
            "busy_by_layer": {k: busy_share(v) for k, v in self_by_group.most_common()
                              if k != "waiting in epoll"},
            "top_self": [(k, share(v)) for k, v in self_by_function.most_common(25)],
            "top_inclusive": [(k, share(v)) for k, v in inclusive.most_common(40)]}


LAYERS = (
    ("aiomqtt", "aiomqtt"), ("paho", "paho"), ("json", "JSON"),
    ("atlas/nlu", "NLU parse"), ("atlas/core", "core"), ("atlas/protocol", "protocol"),
    ("atlas/store/conversations", "conversation state writer"),
    ("atlas/store", "store lookups"), ("sqlite3", "store lookups"), ("atlas/sdk", "SDK"),
    ("atlas/transport", "atlas transport"), ("atlas/daemon", "daemon shell"),
    ("selectors", "waiting in epoll"), ("asyncio", "asyncio"), ("logging", "logging"),
    ("socket", "socket"), ("uuid", "uuid"), ("dataclasses", "dataclasses"),
    ("numpy", "NLU parse"), ("sklearn", "NLU parse"), ("scipy", "NLU parse"),
)


def group(frame: str) -> str:
    where = frame[frame.find("(") + 1:]
    for needle, name in LAYERS:
        if needle in where:
            return name
    return f"other ({where.split(':')[0].rsplit('/', 1)[-1]})"


STAGES = ["floor", "ceiling", "latency", "throughput", "parse", "memory", "newcomer"]


# -- the run ----------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter stages (2-3 minutes)")
    parser.add_argument("--soak", type=float, help="soak seconds (default 60 quick, 600 full)")
    parser.add_argument("--soak-rate", type=float, default=200, help="turns/s during the soak")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the daemon and the skill during one run (--profile-at)")
    parser.add_argument("--profile-at", default="repeated/100", metavar="MODE/SIDS",
                        help="the throughput run to profile (default repeated/100), or "
                             "'latency' for the sequential turns")
    parser.add_argument("--json", type=Path, default=HERE / "results" / "turns.json")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs)")
    parser.add_argument("--report", type=Path, metavar="JSON",
                        help="print the table of an earlier run's JSON and stop")
    parser.add_argument("--only", nargs="+", choices=STAGES, default=STAGES, metavar="STAGE",
                        help=f"run only these stages ({', '.join(STAGES)})")
    args = parser.parse_args()
    if args.report is not None:
        report(json.loads(args.report.read_text()), args.report)
        return
    quick = args.quick
    count = 1000 if quick else 3000
    seconds = 3.0 if quick else 10.0
    soak = args.soak if args.soak is not None else (60.0 if quick else 600.0)
    # Creating sids runs at ~1,500/s on this machine: --quick stops at 40,000.
    sizes = (10_000, 40_000) if quick else (10_000, 100_000)
    if args.profile and shutil.which("py-spy") is None:
        parser.error("--profile needs py-spy (pip install py-spy)")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="atlas-turns-"))
    logs = folder
    results: dict[str, Any] = {
        "started": datetime.now(UTC).isoformat(timespec="seconds"), "quick": quick,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_average_before": load_average()}}
    began = time.monotonic()
    try:
        # Mosquitto's default queue (1,000 messages per client) would drop QoS 1
        # messages with 1,000 busy sids: the queue is made deep enough to lose none.
        with Mosquitto(folder, extra="max_queued_messages 1000000\n") as broker:
            url = broker.url
            broker_pid = broker.process.pid if broker.process is not None else 0
            if "floor" in args.only:
                results["floor"] = floor(url, count, logs)
            if "ceiling" in args.only:
                results["ceiling"] = ceiling(url, count, seconds, logs, broker_pid)
            config = folder / "atlas.yml"
            config.write_text(f"broker: {url}\ndata_dir: {folder / 'data'}\n"
                              "default_lang: en\n")
            skill_file = folder / "bench_weather.py"
            skill_file.write_text(TRIVIAL_SKILL)
            watcher = Watcher(url)
            stage("starting the daemon and the trivial skill")
            with process([PYTHON, "-m", "atlas", "daemon", "--config", str(config)],
                         logs / "daemon.log") as daemon, \
                    process([PYTHON, "-m", "atlas", "skill", "run", str(skill_file),
                             "--broker", url, "--config", str(config)],
                            logs / "skill.log") as skill:
                if not watcher.wait_skills(lambda s: SKILL_NAME in s, 120):
                    raise RuntimeError(f"the daemon never trained for the skill; see {logs}")
                results["daemon_rss_start_kib"] = rss_kib(daemon.pid)
                pids = {"daemon": daemon.pid, "skill": skill.pid, "broker": broker_pid}
                profile = folder if args.profile else None
                if "latency" in args.only:
                    with spying(pids, profile if args.profile_at == "latency" else None):
                        results["latency"] = latency(url, count, logs, pids)
                if "throughput" in args.only:
                    results["throughput"] = throughput(url, seconds, logs, pids, profile,
                                                       args.profile_at)
                for name, suffix in PROFILED.items():
                    if (stacks := folder / f"{name}{suffix}").exists():
                        results[f"{name}_profile"] = profile_summary(stacks)
                        shutil.copy(stacks, args.json.with_suffix(suffix))
                if "parse" in args.only:
                    settle(pids)
                    stage("interpreter parse, in this process")
                    results["parse"] = parse_times(200 if quick else 500)
                if "memory" in args.only:
                    results["memory"] = memory(url, daemon.pid, sizes, soak, args.soak_rate,
                                               logs)
                if "newcomer" in args.only:
                    results["newcomer"] = newcomer(url, watcher, folder, logs)
                results["daemon_rss_end_kib"] = rss_kib(daemon.pid)
            watcher.close()
    finally:
        results["seconds"] = round(time.monotonic() - began, 1)
        results["machine"]["load_average_after"] = load_average()
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1) + "\n")
        if args.keep:
            print(f"logs in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(results, args.json)


def report(results: dict[str, Any], path: Path) -> None:
    print()
    print_table([("what", "figure", "target", ""), *summarise(results)])
    machine = results["machine"]
    print(f"\nload average before {machine['load_average_before']}, after "
          f"{machine.get('load_average_after')}; {results.get('seconds')} s; JSON in {path}")
    for name, suffix in PROFILED.items():
        stacks = path.with_suffix(suffix)
        if not stacks.exists():
            continue
        summary = profile_summary(stacks)
        print(f"\n{name} profile (py-spy, {summary['samples']} samples), share of busy samples"
              f" by layer ({summary['self_by_layer'].get('waiting in epoll', 0)} % of all"
              " samples were in epoll):")
        for layer, share in summary["busy_by_layer"].items():
            if share >= 0.5:
                print(f"  {share:5.1f} %  {layer}")

if __name__ == "__main__":
    main()
