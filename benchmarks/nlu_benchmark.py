"""Reproduce the Snips NLU benchmark figures on a development split.

Run from the repository root:  python benchmarks/nlu_benchmark.py [--runs 3]

The official test half is held out on purpose, so the development split is
built from the training files: per intent, 100 queries of train_X_full.json
that are not in train_X.json. The full regime trains on the rest of
train_X_full.json; the 70-per-intent regime on 70 queries drawn from
train_X.json (minus the development queries). Sentences are de-duplicated.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from atlas.nlu import Dataset, Entity, SnipsLikeInterpreter, load_chatl, load_snips
from atlas.nlu.dataset import Utterance
from atlas.nlu.evaluate import evaluate
from atlas.nlu.files import read_text

DATA = Path("../shared/data/nlu-benchmark")
DEV_PER_INTENT = 100


# A typical atlas skill set for timing: 7 intents x 50 examples, English and
# French, one or two slots each, as skills declare them in chatl.
SKILLS_EN = """
%[lights_on]
  ~[please?] turn on the lights in the @[room]
  ~[please?] switch on the @[room] light
  ~[please?] light up the @[room]
  ~[please?] I need some light in the @[room]
%[lights_off]
  ~[please?] turn off the lights in the @[room]
  ~[please?] switch off the @[room] light
  ~[please?] kill the lights in the @[room]
  ~[please?] no more light in the @[room]
%[set_timer]
  ~[please?] set a timer for @[duration]
  ~[please?] start a @[duration] timer
  ~[please?] count down @[duration]
  ~[please?] timer for @[duration] called @[label]
%[get_weather]
  ~[please?] what's the weather like in @[city] @[date]
  ~[please?] will it rain in @[city]
  ~[please?] weather forecast for @[city] @[date]
  ~[please?] is it cold in @[city]
%[play_music]
  ~[please?] play some @[genre]
  ~[please?] put on @[genre] music
  ~[please?] I want to listen to @[genre]
  ~[please?] play @[genre] in the @[room]
%[add_to_list]
  ~[please?] add @[item] to my shopping list
  ~[please?] put @[item] on the list
  ~[please?] we need @[item]
  ~[please?] don't forget to buy @[item]
%[get_time]
  ~[please?] what time is it
  ~[please?] tell me the time
  ~[please?] what's the time
  ~[please?] do you know what time it is
~[please]
  please
  could you
  hey atlas
  can you
  would you
  atlas
  ok
  hey
  hi atlas
  I'd like you to
  now
  quickly
@[room](extensible=false)
  kitchen
  living room
  bedroom
  bathroom
  garage
  office
@[duration](type=snips/duration)
  ten minutes
  1 hour
  30 seconds
  an hour and a half
@[label]
  pasta
  eggs
  laundry
@[city]
  paris
  london
  new york
  berlin
@[date](type=snips/datetime)
  tomorrow
  today
  monday
@[genre]
  jazz
  rock
  classical
  hip hop
@[item]
  milk
  eggs
  bread
  apples
"""

SKILLS_FR = """
%[lights_on]
  ~[stp?] allume la lumière de la @[room]
  ~[stp?] allume le @[room]
  ~[stp?] éclaire la @[room]
  ~[stp?] mets de la lumière dans la @[room]
%[lights_off]
  ~[stp?] éteins la lumière de la @[room]
  ~[stp?] éteins le @[room]
  ~[stp?] coupe la lumière dans la @[room]
  ~[stp?] plus de lumière dans la @[room]
%[set_timer]
  ~[stp?] mets un minuteur de @[duration]
  ~[stp?] lance un minuteur pour @[duration]
  ~[stp?] compte à rebours de @[duration]
  ~[stp?] minuteur de @[duration] pour les @[label]
%[get_weather]
  ~[stp?] quel temps fait-il à @[city] @[date]
  ~[stp?] est-ce qu'il va pleuvoir à @[city]
  ~[stp?] météo pour @[city] @[date]
  ~[stp?] il fait froid à @[city]
%[play_music]
  ~[stp?] joue du @[genre]
  ~[stp?] mets de la musique @[genre]
  ~[stp?] je veux écouter du @[genre]
  ~[stp?] lance du @[genre] dans la @[room]
%[add_to_list]
  ~[stp?] ajoute @[item] à ma liste de courses
  ~[stp?] mets @[item] sur la liste
  ~[stp?] il nous faut @[item]
  ~[stp?] n'oublie pas d'acheter @[item]
%[get_time]
  ~[stp?] quelle heure est-il
  ~[stp?] donne-moi l'heure
  ~[stp?] il est quelle heure
  ~[stp?] tu as l'heure
~[stp]
  s'il te plaît
  tu peux
  atlas
  dis atlas
  est-ce que tu peux
  ok atlas
  hé
  dis-moi
  je voudrais que tu
  vite
  maintenant
  atlas tu peux
@[room](extensible=false)
  cuisine
  salon
  chambre
  salle de bain
  garage
  bureau
@[duration](type=snips/duration)
  dix minutes
  une heure
  30 secondes
  une heure et demie
@[label]
  pâtes
  oeufs
  lessive
@[city]
  paris
  londres
  lyon
  berlin
@[date](type=snips/datetime)
  demain
  aujourd'hui
  lundi
@[genre]
  jazz
  rock
  classique
  rap
@[item]
  lait
  oeufs
  pain
  pommes
"""

SKILL_EXAMPLES_PER_INTENT = 50


def skill_set() -> dict[str, Dataset]:
    result = {}
    for lang, source in (("en", SKILLS_EN), ("fr", SKILLS_FR)):
        ds = load_chatl(source, source="skillset", lang=lang)
        ds.intents = {name: utts[:SKILL_EXAMPLES_PER_INTENT] for name, utts in ds.intents.items()}
        result[lang] = ds
    return result


def _unique(utterances: list[Utterance]) -> dict[str, Utterance]:
    seen: dict[str, Utterance] = {}
    for u in utterances:
        seen.setdefault(" ".join(u.text.lower().split()), u)
    return seen


def _load(path: Path) -> dict[str, list[Utterance]]:
    return load_snips(json.loads(read_text(path)), lang="en").intents


def splits(data: Path, seed: int) -> tuple[Dataset, Dataset, Dataset]:
    rng = random.Random(seed)
    full, small, dev = Dataset("en"), Dataset("en"), Dataset("en")
    for folder in sorted(p for p in data.iterdir() if p.is_dir()):
        intent = folder.name
        full_u = _unique(_load(folder / f"train_{intent}_full.json")[intent])
        pool_u = _unique(_load(folder / f"train_{intent}.json")[intent])
        candidates = sorted(k for k in full_u if k not in pool_u)
        dev_keys = set(rng.sample(candidates, DEV_PER_INTENT))
        dev.intents[intent] = [full_u[k] for k in sorted(dev_keys)]
        full.intents[intent] = [u for k, u in full_u.items() if k not in dev_keys]
        pool = sorted(k for k in pool_u if k not in dev_keys)
        small.intents[intent] = [pool_u[k] for k in rng.sample(pool, 70)]
    for ds in (full, small):
        ds.entities = {}
        for utterances in ds.intents.values():
            for u in utterances:
                for c in u.chunks:
                    if c.entity:
                        ds.entities.setdefault(c.entity, _entity(c.entity))
    return full, small, dev


def _entity(name: str) -> Entity:
    return Entity(name)


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the CRF workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(train: Dataset, dev: Dataset) -> dict[str, float]:
    engine = SnipsLikeInterpreter("en", workers=os.cpu_count() or 1)
    cpu, t0 = _cpu_seconds(), time.perf_counter()
    engine.fit(train)
    train_s, train_cpu = time.perf_counter() - t0, _cpu_seconds() - cpu
    report = evaluate(engine, dev)
    result = {k: v for k, v in report.to_dict().items() if isinstance(v, float | int)}
    result["train_seconds"] = train_s
    result["train_cpu_seconds"] = train_cpu
    return result


def skill_set_timing(runs: int) -> dict[str, float]:
    """Training the typical skill set: 7 intents x 50 examples, English + French."""
    datasets = skill_set()
    walls, cpus = [], []
    for _ in range(runs):
        cpu, t0 = _cpu_seconds(), time.perf_counter()
        for lang, dataset in datasets.items():
            SnipsLikeInterpreter(lang).fit(dataset)
        walls.append(time.perf_counter() - t0)
        cpus.append(_cpu_seconds() - cpu)
    return {"train_seconds": statistics.median(walls),
            "train_cpu_seconds": statistics.median(cpus)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--runs", type=int, default=3, help="random splits (seeds)")
    parser.add_argument("--regime", choices=["full", "70", "skills", "all"], default="all")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {"full": [], "70": []}
    for seed in range(args.runs):
        full, small, dev = splits(args.data, seed)
        for regime, train in (("full", full), ("70", small)):
            if args.regime in (regime, "all"):
                results[regime].append(run(train, dev))
                print(f"seed {seed} {regime}: {results[regime][-1]}", file=sys.stderr)
    summary = {
        regime: {key: statistics.median(r[key] for r in runs) for key in runs[0]}
        for regime, runs in results.items()
        if runs
    }
    if args.regime in ("skills", "all"):
        summary["skills 7x50x2"] = skill_set_timing(max(3, args.runs))
    if args.json:
        print(json.dumps(summary, indent=2))
        return
    for regime, figures in summary.items():
        print(f"[{regime}] median of the runs")
        for key, value in figures.items():
            print(f"  {key:28s} {value:.4f}")


if __name__ == "__main__":
    main()
