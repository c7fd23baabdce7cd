"""Cards: the rich part of a ``show`` (header, subhead, text, media, header link).

Channels render them (the bridge's page draws them; pytlas skills know them), and
the daemon forwards them untouched as the ``cards`` property of ``channel/show``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Card:
    """One card; empty fields are left out of the payload."""

    header: str
    text: str = ""
    subhead: str = ""
    media: str = ""
    header_link: str = ""

    def __post_init__(self) -> None:
        for name in ("header", "text", "subhead", "media", "header_link"):
            if not isinstance(getattr(self, name), str):
                raise TypeError(f"Card.{name} must be a string")

    def to_dict(self) -> dict[str, str]:
        data = {"header": self.header, "text": self.text, "subhead": self.subhead,
                "media": self.media, "header_link": self.header_link}
        return {key: value for key, value in data.items() if value}


def cards_payload(cards: Iterable[Card | Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Cards as JSON-ready dicts; plain mappings pass through for custom channels."""
    result: list[dict[str, Any]] = []
    for card in cards:
        if isinstance(card, Card):
            result.append(card.to_dict())
        elif isinstance(card, Mapping):
            result.append(dict(card))
        else:
            raise TypeError(f"a card must be a Card or a mapping, not {type(card).__name__}")
    return result
