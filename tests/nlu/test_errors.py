from __future__ import annotations

from atlas.nlu.errors import TrainingDataError


def test_error_message_without_line() -> None:
    err = TrainingDataError("boom", source="timer", lang="en")
    assert str(err) == "skill 'timer' (en): boom"
    assert str(TrainingDataError("boom")) == "training data: boom"
