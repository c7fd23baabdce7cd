"""`atlas nlu ...`: train, parse and evaluate the built-in interpreter."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import click

from atlas.nlu import (
    Dataset,
    Interpreter,
    SnipsLikeInterpreter,
    TrainingDataError,
    create_interpreter,
)
from atlas.nlu.evaluate import evaluate
from atlas.nlu.files import load_paths

_PATHS = click.Path(exists=True, path_type=Path)


def _load(paths: tuple[Path, ...], lang: str) -> Dataset:
    try:
        return load_paths(paths, lang)
    except TrainingDataError as e:
        raise click.ClickException(str(e)) from e


_WORKERS = click.option(
    "--workers", default=0, show_default=True, type=click.IntRange(min=0),
    help="Processes training the slot fillers of large datasets (0: one per core).")


def _create(lang: str, engine: str, workers: int) -> Interpreter:
    interpreter = create_interpreter(lang, engine)
    if isinstance(interpreter, SnipsLikeInterpreter):
        # The command's __main__ is guarded, so worker processes can be spawned.
        interpreter.workers = workers or os.cpu_count() or 1
    return interpreter


@click.group("nlu")
def nlu() -> None:
    """Train, run and measure the built-in interpreter."""


@nlu.command()
@click.option("--lang", required=True, help="Language of the training data (en, fr...).")
@click.option("--data", "data", multiple=True, required=True, type=_PATHS,
              help="chatl / JSON file or directory (repeatable).")
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="Directory to save the model to.")
@click.option("--engine", default="default", show_default=True)
@_WORKERS
def train(lang: str, data: tuple[Path, ...], out: Path, engine: str, workers: int) -> None:
    """Train a model from training files and save it."""
    dataset = _load(data, lang)
    interpreter = _create(lang, engine, workers)
    started = time.perf_counter()
    interpreter.fit(dataset)
    elapsed = time.perf_counter() - started
    save = getattr(interpreter, "save", None)
    if save is None:
        raise click.ClickException(f"engine {engine!r} cannot save models")
    save(out)
    count = sum(len(u) for u in dataset.intents.values())
    click.echo(f"trained {len(dataset.intents)} intents ({count} utterances) "
               f"in {elapsed:.2f}s -> {out}", err=True)


@nlu.command()
@click.option("--model", required=True, type=_PATHS, help="Directory written by `train`.")
def parse(model: Path) -> None:
    """Parse stdin, one utterance per line, into JSON lines."""
    interpreter = SnipsLikeInterpreter.load(model)
    for line in sys.stdin:
        text = line.rstrip("\n")
        if not text.strip():
            continue
        result = interpreter.parse(text)
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False, default=str))


@nlu.command("eval")
@click.option("--lang", required=True)
@click.option("--train", "train_paths", multiple=True, required=True, type=_PATHS)
@click.option("--test", "test_paths", multiple=True, required=True, type=_PATHS)
@click.option("--engine", default="default", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@_WORKERS
def eval_(lang: str, train_paths: tuple[Path, ...], test_paths: tuple[Path, ...],
          engine: str, as_json: bool, workers: int) -> None:
    """Train on some files, evaluate on others."""
    train_set, test_set = _load(train_paths, lang), _load(test_paths, lang)
    interpreter = _create(lang, engine, workers)
    started = time.perf_counter()
    interpreter.fit(train_set)
    train_seconds = time.perf_counter() - started
    report = evaluate(interpreter, test_set)
    report.train_seconds = train_seconds
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
        return
    rows = [
        ("queries", f"{report.queries}"),
        ("intent accuracy", f"{report.intent_accuracy:.2%}"),
        ("slot precision (micro)", f"{report.slot_precision:.4f}"),
        ("slot recall (micro)", f"{report.slot_recall:.4f}"),
        ("slot F1 (micro)", f"{report.slot_f1:.4f}"),
        ("slot F1 (per slot, then intent)", f"{report.slot_f1_per_slot_intent:.4f}"),
        ("  Snips' convention: micro", f"{report.snips_slot_f1:.4f}"),
        ("  Snips' convention: per slot", f"{report.snips_slot_f1_per_slot_intent:.4f}"),
        ("sentence accuracy", f"{report.sentence_accuracy:.2%}"),
        ("training time", f"{train_seconds:.2f} s"),
        ("parse p50", f"{report.parse_p50_ms:.2f} ms"),
        ("parse p99", f"{report.parse_p99_ms:.2f} ms"),
    ]
    for name, value in rows:
        click.echo(f"{name:34s} {value}")


__all__ = ["nlu"]
