"""The one error a skill author sees when their training data is wrong."""

from __future__ import annotations


class TrainingDataError(ValueError):
    """Bad training data; names the skill (source), the language and the line."""

    def __init__(
        self, message: str, *, source: str = "", lang: str = "", line: int | None = None
    ) -> None:
        self.message = message
        self.source = source
        self.lang = lang
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"skill '{self.source}'" if self.source else "training data"
        if self.lang:
            where += f" ({self.lang})"
        if self.line is not None:
            where += f", line {self.line}"
        return f"{where}: {self.message}"
