"""Translations per language, with the SDK's own few sentences built in."""

from __future__ import annotations

from collections.abc import Mapping

#: What the SDK itself says (when a handler fails), so every skill speaks French too.
SDK_STRINGS: dict[str, dict[str, str]] = {
    "fr": {
        "Sorry, something went wrong.": "Désolé, quelque chose s'est mal passé.",
    },
}


class Translations:
    """``lang -> {source text: translated text}``; lookups fall back to the source text."""

    def __init__(self) -> None:
        self._tables: dict[str, dict[str, str]] = {
            lang: dict(table) for lang, table in SDK_STRINGS.items()
        }

    def add(self, lang: str, table: Mapping[str, str]) -> None:
        if not isinstance(lang, str) or not lang:
            raise ValueError("a language code such as 'fr' is required")
        for key, value in table.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(f"translations for {lang!r} must map strings to strings")
        self._tables.setdefault(_base(lang), {}).update(table)

    def get(self, lang: str, text: str) -> str:
        # "fr-CA" uses the "fr" table: skills rarely ship regional variants.
        table = self._tables.get(lang) or self._tables.get(_base(lang)) or {}
        return table.get(text, text)

    @property
    def languages(self) -> list[str]:
        return sorted(self._tables)


def _base(lang: str) -> str:
    return lang.replace("_", "-").split("-", 1)[0].lower()
