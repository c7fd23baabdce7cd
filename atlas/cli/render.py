"""Text the CLI prints: tables and chat lines. Pure functions, tested without a terminal."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from ..protocol import (
    ChannelAsk,
    ChannelContext,
    ChannelShow,
    ChannelWork,
    Message,
    SkillSummary,
)
from ..store import User

INDENT = "    "


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def users_table(users: Sequence[User]) -> str:
    if not users:
        return "no users (add one with: atlas users add UID)"
    return table(("UID", "LANG", "PASSWORD", "SETTINGS"),
                 ((u.uid, u.lang, "yes" if u.has_password else "no", ", ".join(sorted(u.env)))
                  for u in users))


def _intents(intents: dict[str, list[str]]) -> str:
    return ", ".join(f"{name}({', '.join(slots)})" if slots else name
                     for name, slots in sorted(intents.items()))


def _training(summary: SkillSummary) -> str:
    """Where the daemon got the skill's training (``?`` when no daemon said)."""
    if summary.training_from == "skill":
        return "skill " + ",".join(summary.languages)
    if summary.training_from:
        return f"{summary.training_from} " + ",".join(summary.languages)
    return "none" if summary.untrained else "?"


def skills_table(skills: Sequence[SkillSummary]) -> str:
    if not skills:
        return "no live skill answered"
    ordered = sorted(skills, key=lambda s: s.name)
    text = table(("NAME", "VERSION", "AUTHOR", "INTENTS", "ENV", "TRAINING"),
                 ((s.name, s.version, s.author, _intents(s.intents),
                   ", ".join(f"{k}:{v}" for k, v in sorted(s.env.items())), _training(s))
                  for s in ordered))
    warnings = [f"warning: {s.name}: no training data for {', '.join(s.untrained)} "
                f"(give some in the training_dir, {s.name}/<lang>.chatl)"
                for s in ordered if s.untrained]
    return "\n".join([text, *warnings])


def skills_json(skills: Sequence[SkillSummary]) -> str:
    return json.dumps([s.to_dict() for s in sorted(skills, key=lambda s: s.name)], indent=2,
                      ensure_ascii=False)


def card_lines(card: Any) -> list[str]:
    """A card (header, subhead, text, media, header_link) as an indented block."""
    if not isinstance(card, dict):
        return [INDENT + str(card)]
    title = " — ".join(str(card[k]) for k in ("header", "subhead") if card.get(k))
    lines = [f"┌ {title}"] if title else []
    lines += [f"│ {line}" for line in str(card.get("text") or "").splitlines()]
    lines += [f"│ <{card[k]}>" for k in ("media", "header_link") if card.get(k)]
    return [INDENT + line for line in lines or ["┌ (empty card)"]]


def message_lines(message: Message) -> list[str]:
    """What the terminal shows for a channel message (nothing for some)."""
    match message:
        case ChannelShow():
            lines = [message.text] if message.text else []
            for card in message.extra.get("cards") or []:
                lines += card_lines(card)
            return lines
        case ChannelAsk():
            return [message.text, *(f"{INDENT}{n}. {choice}"
                                    for n, choice in enumerate(message.choices or (), 1))]
        case ChannelWork():
            return ["…"]
    # A terminate says nothing: the daemon already showed why (cancelled, timeout…)
    # in the user's language.
    return []


def prompt(context: str | None) -> str:
    return f"[{context}] > " if context else "> "


def choice_answer(line: str, choices: Sequence[str] | None) -> str:
    """A number typed in answer to an ask with choices stands for that choice."""
    text = line.strip()
    if choices and text.isdigit() and 1 <= int(text) <= len(choices):
        return choices[int(text) - 1]
    return text


def context_of(message: Message, current: str | None) -> str | None:
    return message.name if isinstance(message, ChannelContext) else current
