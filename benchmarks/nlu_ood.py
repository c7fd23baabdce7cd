"""Off-topic requests and in-domain paraphrases, through the daemon, as a user meets them.

Run from the repository root:  python benchmarks/nlu_ood.py [--part all|tune|held-out] [--json]

For each language (en, fr), an embedded broker, the daemon and the bundled
skills (clock, timer, lights, help) are started (atlas.sdk.testing.SkillTester),
and a user of that language says each request of benchmarks/ood/ on a channel.
A reply is:

- rejected: the daemon's not-understood answer (channel/terminate, reason
  not_understood);
- dispatched: an intent request went to a skill (seen on atlas/intents/#
  through a protocol-typed subscription); right when it is the expected intent;
- anything else (a cancel, a timeout) is counted as such.

A question a skill asks back (the timer's confirmation, the lights' room) is
closed with "cancel" before the next request. Off-topic requests should be
rejected, in-domain paraphrases dispatched to their intent.

The lists were written for this benchmark. Their odd lines (1st, 3rd...) are
the half the vocabulary check was tuned on, their even lines are held out:
`--part` picks one. `--engine` adds in-process figures for other set-ups:
each skill alone and the skills less one (another skill's paraphrases are then
off-topic too), and each skill's intents behind a context
(`<skill>/<intent>`, parsed within that context).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from atlas.core.phrases import say  # noqa: E402
from atlas.nlu import SnipsLikeInterpreter, load_chatl, merge  # noqa: E402
from atlas.protocol import (  # noqa: E402
    ChannelAsk,
    ChannelTerminate,
    ChannelWork,
    IntentRequest,
    Reason,
    parse_message,
)
from atlas.sdk.testing import SkillTester  # noqa: E402

SKILLS = ROOT / "skills"
BUNDLED = ("clock", "timer", "lights", "help")
LISTS = Path(__file__).resolve().parent / "ood"
LANGS = ("en", "fr")


def _lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def _part(items: list, part: str) -> list:
    if part == "tune":
        return items[0::2]
    if part == "held-out":
        return items[1::2]
    return items


def off_topic(lang: str, part: str = "all") -> list[str]:
    return _part(_lines(LISTS / f"off_topic.{lang}.txt"), part)


def in_domain(lang: str, part: str = "all") -> list[tuple[str, str]]:
    """(expected intent, request) pairs."""
    pairs = [line.split(None, 1) for line in _lines(LISTS / f"in_domain.{lang}.txt")]
    return _part([(intent, text) for intent, text in pairs], part)


@dataclass
class Outcome:
    text: str
    expected: str | None  # None: off-topic
    got: str  # "rejected", the dispatched intent, or what else happened
    answer: str = ""

    @property
    def good(self) -> bool:
        return self.got == ("rejected" if self.expected is None else self.expected)


@dataclass
class Tally:
    off: list[Outcome] = field(default_factory=list)
    on: list[Outcome] = field(default_factory=list)

    def figures(self) -> dict[str, object]:
        def rate(items: list[Outcome]) -> float:
            return round(sum(o.good for o in items) / len(items), 4) if items else 0.0

        return {
            "off_topic": len(self.off), "off_topic_rejected": sum(o.good for o in self.off),
            "off_topic_rejected_rate": rate(self.off),
            "in_domain": len(self.on), "in_domain_understood": sum(o.good for o in self.on),
            "in_domain_understood_rate": rate(self.on),
            "in_domain_wrong_intent": sum(o.got not in ("rejected", o.expected)
                                          for o in self.on),
            "off_topic_accepted": [f"{o.text} -> {o.got}" for o in self.off if not o.good],
            "in_domain_missed": [f"{o.text} -> {o.got} (want {o.expected})"
                                 for o in self.on if not o.good],
        }


async def _turn(tester: SkillTester, text: str) -> tuple[str, str]:
    """Say `text`; what happened (the dispatched intent, "rejected"...) and
    the first answer shown."""
    replies = await tester.say(text)
    answer = replies.texts[0] if replies.texts else ""
    dispatched = None
    if any(isinstance(m, ChannelWork) for m in replies):  # a skill was given the floor
        while dispatched is None:
            topic, payload = await tester.published(timeout=10)
            message = parse_message(topic, payload, (IntentRequest,))
            if isinstance(message, IntentRequest):
                dispatched = message.intent
    if isinstance(replies[-1], ChannelAsk):
        await tester.say("cancel")  # close the skill's question before the next request
    if dispatched is not None:
        return dispatched, answer
    last = replies[-1]
    if isinstance(last, ChannelTerminate):
        return ("rejected" if last.reason is Reason.NOT_UNDERSTOOD else str(last.reason)), answer
    return type(last).__name__, answer


async def through_daemon(lang: str, part: str) -> Tally:
    tally = Tally()
    async with SkillTester(*(SKILLS / name for name in BUNDLED), lang=lang,
                           watch=[IntentRequest.subscription()]) as tester:
        for text in off_topic(lang, part):
            got, answer = await _turn(tester, text)
            tally.off.append(Outcome(text, None, got, answer))
        for intent, text in in_domain(lang, part):
            got, answer = await _turn(tester, text)
            tally.on.append(Outcome(text, intent, got, answer))
    return tally


def in_process(part: str) -> dict[str, dict[str, object]]:
    """Each skill alone, the skills less one, and each skill behind a context."""
    results: dict[str, dict[str, object]] = {}
    for lang in LANGS:
        sources = {name: (SKILLS / name / "training" / f"{lang}.chatl").read_text("utf-8")
                   for name in BUNDLED}
        owner = {intent: name for name, text in sources.items()
                 for intent in load_chatl(text, source=name, lang=lang).intents}
        sets = [(f"{name} alone", {name}) for name in BUNDLED]
        sets += [(f"all but {name}", set(BUNDLED) - {name}) for name in BUNDLED]
        for label, names in sets:
            engine = SnipsLikeInterpreter(lang)
            engine.fit(merge([load_chatl(sources[n], source=n, lang=lang) for n in sorted(names)]))
            expected = {i: i if name in names else None for i, name in owner.items()}
            results[f"{lang}: {label}"] = _score(engine, frozenset(engine.intents), lang, part,
                                                 expected)
        for name in BUNDLED:
            # The skill's intents as a context's (`<name>/<intent>`), the
            # others at the root; parsed within the context.
            parts = []
            for other, text in sources.items():
                data = load_chatl(text, source=other, lang=lang)
                if other == name:
                    data.intents = {f"{name}/{i}": u for i, u in data.intents.items()}
                parts.append(data)
            engine = SnipsLikeInterpreter(lang)
            engine.fit(merge(parts))
            scope = frozenset(i for i in engine.intents if i.startswith(name + "/"))
            expected = {i: f"{name}/{i}" if other == name else None for i, other in owner.items()}
            results[f"{lang}: context {name}/"] = _score(engine, scope, lang, part, expected)
    return results


def _score(engine: SnipsLikeInterpreter, scope: frozenset[str], lang: str, part: str,
           expected: dict[str, str | None]) -> dict[str, object]:
    """Off-topic requests and the paraphrases of intents not expected here
    should be rejected; the others understood as their `expected` intent."""
    def parse(text: str) -> str:
        return engine.parse(text, scope).intent or "rejected"

    pairs = in_domain(lang, part)
    tally = Tally([Outcome(t, None, parse(t)) for t in off_topic(lang, part)]
                  + [Outcome(t, None, parse(t)) for i, t in pairs if expected[i] is None],
                  [Outcome(t, expected[i], parse(t)) for i, t in pairs if expected[i] is not None])
    return {k: v for k, v in tally.figures().items() if not isinstance(v, list)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--part", choices=("all", "tune", "held-out"), default="all")
    parser.add_argument("--engine", action="store_true",
                        help="also in-process figures: skill subsets and contexts")
    parser.add_argument("--json", action="store_true", help="print only the JSON")
    parser.add_argument("--verbose", action="store_true", help="list every miss")
    args = parser.parse_args()

    report: dict[str, object] = {"part": args.part, "daemon": {}}
    for lang in LANGS:
        started = time.perf_counter()
        tally = asyncio.run(through_daemon(lang, args.part))
        figures = tally.figures()
        figures["seconds"] = round(time.perf_counter() - started, 1)
        answers = Counter(o.answer for o in tally.off if o.got == "rejected")
        figures["not_understood_answer"] = answers.most_common(1)[0][0] if answers else ""
        # The help skill is live: the answer points to it.
        figures["answer_points_to_help"] = set(answers) <= {say("not_understood_help", lang)}
        report["daemon"][lang] = figures  # type: ignore[index]
    if args.engine:
        report["in_process"] = in_process(args.part)
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return
    print(f"Through the daemon, bundled skills, lists of benchmarks/ood/ ({args.part}):\n")
    print("| language | off-topic rejected | in-domain understood | wrong intent |")
    print("|---|---|---|---|")
    for lang, f in report["daemon"].items():  # type: ignore[attr-defined]
        print(f"| {lang} | {f['off_topic_rejected']}/{f['off_topic']} "
              f"({f['off_topic_rejected_rate']:.1%}) | {f['in_domain_understood']}/"
              f"{f['in_domain']} ({f['in_domain_understood_rate']:.1%}) | "
              f"{f['in_domain_wrong_intent']} |")
    for lang, f in report["daemon"].items():  # type: ignore[attr-defined]
        print(f"\n{lang}, the answer when rejected: {f['not_understood_answer']}")
    for lang, f in report["daemon"].items():  # type: ignore[attr-defined]
        misses = f["off_topic_accepted"] + f["in_domain_missed"]
        if misses:
            print(f"\n{lang} misses:" if args.verbose else f"\n{lang}: {len(misses)} misses")
            for miss in misses if args.verbose else []:
                print(f"  {miss}")
    if args.engine:
        print("\nIn process (same lists; other skills' paraphrases count as off-topic):\n")
        print("| set-up | off-topic rejected | in-domain understood | wrong intent |")
        print("|---|---|---|---|")
        for label, f in report["in_process"].items():  # type: ignore[attr-defined]
            print(f"| {label} | {f['off_topic_rejected']}/{f['off_topic']} "
                  f"({f['off_topic_rejected_rate']:.1%}) | {f['in_domain_understood']}/"
                  f"{f['in_domain']} ({f['in_domain_understood_rate']:.1%}) | "
                  f"{f['in_domain_wrong_intent']} |")
    print("\n" + json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
