"""Timer: set one (asking for the duration and a confirmation), list them, cancel them.

A timer that fires is announced with a notification on the sid it was set from,
so it reaches the user even while another conversation is going on.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from atlas.sdk import Card, Request, Skill

skill = Skill("timer", version="1.0.0", author="atlas",
              description={"en": "Sets timers and tells you when they are done.",
                           "fr": "Lance des minuteurs et vous prévient quand ils sonnent."})
skill.training_dir(Path(__file__).parent / "training")

#: Longer than this is a calendar's job, not a kitchen timer's.
LONGEST = 7 * 24 * 3600

UNITS = {
    "en": (("hour", "hours"), ("minute", "minutes"), ("second", "seconds")),
    "fr": (("heure", "heures"), ("minute", "minutes"), ("seconde", "secondes")),
}
AND = {"en": "and", "fr": "et"}


def language(lang: str) -> str:
    base = lang.split("-")[0].split("_")[0].lower()
    return base if base in UNITS else "en"


def humanize(seconds: float, lang: str) -> str:
    """``1 hour, 5 minutes and 3 seconds`` / ``1 heure, 5 minutes et 3 secondes``."""
    lang = language(lang)
    total = max(1, math.ceil(seconds))
    amounts = (total // 3600, total % 3600 // 60, total % 60)
    parts = [f"{amount} {names[amount > 1]}"
             for amount, names in zip(amounts, UNITS[lang], strict=True) if amount]
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} {AND[lang]} {parts[-1]}"


def as_adjective(seconds: float, lang: str) -> str:
    """The duration before "timer": ``30-second``, ``1-hour-30-minute`` in English
    (a compound adjective: hyphens, singular units); French says it as ``humanize``."""
    if language(lang) != "en":
        return humanize(seconds, lang)
    total = max(1, math.ceil(seconds))
    amounts = (total // 3600, total % 3600 // 60, total % 60)
    return "-".join(f"{amount}-{names[0]}"
                    for amount, names in zip(amounts, UNITS["en"], strict=True) if amount)


def seconds_of(value: Any) -> float | None:
    """The duration slot's value in seconds (the interpreter resolves it to a number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    if isinstance(value, dict):
        return seconds_of(value.get("seconds", value.get("value")))
    return None


@dataclass
class Timer:
    number: int
    seconds: float
    ends_at: float  # time.monotonic()
    task: asyncio.Task[None] | None = field(default=None, repr=False)

    def left(self) -> float:
        return max(0.0, self.ends_at - time.monotonic())


class Timers:
    """The running timers of each sid."""

    def __init__(self) -> None:
        self._by_sid: dict[str, dict[int, Timer]] = {}
        self._numbers = itertools.count(1)

    def add(self, sid: str, seconds: float) -> Timer:
        timer = Timer(next(self._numbers), seconds, time.monotonic() + seconds)
        self._by_sid.setdefault(sid, {})[timer.number] = timer
        return timer

    def of(self, sid: str) -> list[Timer]:
        return sorted(self._by_sid.get(sid, {}).values(), key=lambda t: t.ends_at)

    def remove(self, sid: str, timer: Timer) -> None:
        timers = self._by_sid.get(sid, {})
        timers.pop(timer.number, None)
        if not timers:
            self._by_sid.pop(sid, None)

    def cancel(self, sid: str, timer: Timer) -> None:
        self.remove(sid, timer)
        if timer.task is not None:
            timer.task.cancel()


TIMERS = Timers()


def labels(timers: list[Timer], lang: str) -> dict[str, Timer]:
    """A choice label per timer: its duration, numbered when two share one."""
    counts: dict[str, int] = {}
    for timer in timers:
        text = humanize(timer.seconds, lang)
        counts[text] = counts.get(text, 0) + 1
    return {(humanize(t.seconds, lang) if counts[humanize(t.seconds, lang)] == 1
             else f"{humanize(t.seconds, lang)} #{t.number}"): t for t in timers}


skill.translations("fr", {
    "For how long?": "Pour combien de temps ?",
    "Start a timer for {}?": "Je lance un minuteur de {} ?",
    "yes": "oui",
    "no": "non",
    "OK, no timer.": "D'accord, pas de minuteur.",
    "Timer set for {}. I'll tell you when it's done.":
        "Minuteur de {} lancé. Je vous préviens quand il sonne.",
    "I can only set timers from one second to seven days.":
        "Je ne sais régler un minuteur que d'une seconde à sept jours.",
    "Timer": "Minuteur",
    "Rings at {}": "Sonne à {}",
    "Done": "Terminé",
    "Time's up! Your {} timer is done.": "C'est l'heure ! Votre minuteur de {} est terminé.",
    "You have no timer running.": "Vous n'avez aucun minuteur en cours.",
    "Your {} timer has {} left.": "Il reste {1} à votre minuteur de {0}.",
    "You have {} timers running.": "Vous avez {} minuteurs en cours.",
    "{} left": "encore {}",
    "You have no timer to cancel.": "Vous n'avez aucun minuteur à annuler.",
    "Which timer should I cancel?": "Quel minuteur dois-je annuler ?",
    "all of them": "tous",
    "Timer of {} cancelled.": "Minuteur de {} annulé.",
    "All your timers are cancelled.": "Tous vos minuteurs sont annulés.",
})


def rings_at(seconds: float) -> str:
    return (datetime.now() + timedelta(seconds=seconds)).strftime("%H:%M:%S")


@skill.intent("set_timer")
async def set_timer(req: Request) -> None:
    seconds = seconds_of(req.slot("duration"))
    if seconds is None:
        await req.ask("duration", req._("For how long?"))
        return
    if not 0 < seconds <= LONGEST:
        await req.show(req._("I can only set timers from one second to seven days."))
        return
    length = humanize(seconds, req.lang)
    if req.choice is None:
        await req.ask_choice(req._("Start a timer for {}?", length), [req._("yes"), req._("no")])
        return
    if req.choice != req._("yes"):
        await req.show(req._("OK, no timer."))
        return
    timer = TIMERS.add(req.sid, seconds)
    timer.task = req.spawn(ring(req, timer))
    await req.show(req._("Timer set for {}. I'll tell you when it's done.", length),
                   cards=[Card(req._("Timer"), length, subhead=req._("Rings at {}",
                                                                      rings_at(seconds)))])


async def ring(req: Request, timer: Timer) -> None:
    try:
        await asyncio.sleep(timer.seconds)
    finally:
        # Fired or cancelled (by the user, or because the skill stops): forget it.
        TIMERS.remove(req.sid, timer)
    # The card says what rang, not the text again.
    await req.notify(req._("Time's up! Your {} timer is done.",
                           as_adjective(timer.seconds, req.lang)),
                     cards=[Card(req._("Timer"), humanize(timer.seconds, req.lang),
                                 subhead=req._("Done"))])


@skill.intent("list_timers")
async def list_timers(req: Request) -> None:
    timers = TIMERS.of(req.sid)
    if not timers:
        await req.show(req._("You have no timer running."))
        return
    cards = [Card(humanize(t.seconds, req.lang), req._("{} left", humanize(t.left(), req.lang)),
                  subhead=req._("Timer")) for t in timers]
    if len(timers) == 1:
        only = timers[0]
        text = req._("Your {} timer has {} left.", as_adjective(only.seconds, req.lang),
                     humanize(only.left(), req.lang))
    else:
        text = req._("You have {} timers running.", len(timers))
    await req.show(text, cards=cards)


@skill.intent("cancel_timer")
async def cancel_timer(req: Request) -> None:
    timers = TIMERS.of(req.sid)
    if not timers:
        await req.show(req._("You have no timer to cancel."))
        return
    if len(timers) == 1:
        TIMERS.cancel(req.sid, timers[0])
        await req.show(req._("Timer of {} cancelled.", humanize(timers[0].seconds, req.lang)))
        return
    named = labels(timers, req.lang)
    if req.choice is None or (req.choice not in named and req.choice != req._("all of them")):
        await req.ask_choice(req._("Which timer should I cancel?"),
                             [*named, req._("all of them")])
        return
    if req.choice in named:
        TIMERS.cancel(req.sid, named[req.choice])
        await req.show(req._("Timer of {} cancelled.", humanize(named[req.choice].seconds,
                                                                 req.lang)))
        return
    for timer in timers:
        TIMERS.cancel(req.sid, timer)
    await req.show(req._("All your timers are cancelled."))


if __name__ == "__main__":
    skill.run()
