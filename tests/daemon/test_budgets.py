"""Per-sid token buckets: a burst passes, a sustained flood is cut to the rate."""

from __future__ import annotations

import pytest

from atlas.daemon import budgets
from atlas.daemon.budgets import Budget


def test_a_burst_passes_then_the_rate_holds_per_sid() -> None:
    budget = Budget("test", rate=10.0, burst=5.0)
    assert [budget.allow("a", 0.0) for _ in range(7)] == [True] * 5 + [False] * 2
    assert budget.allow("b", 0.0)                 # another sid has its own budget
    assert budget.allow("a", 0.1) and not budget.allow("a", 0.1)   # 10/s: one per 0.1 s
    passed = sum(budget.allow("a", 1.0 + n / 1000) for n in range(1000))   # 1000/s for 1 s
    assert 5 <= passed <= 16
    assert budget.dropped["a"] == 2 + 1 + 1000 - passed


def test_idle_buckets_are_forgotten_when_there_are_too_many(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(budgets, "MAX_BUCKETS", 3)
    budget = Budget("test", rate=1.0, burst=2.0)
    for sid in ("a", "b", "c"):
        budget.allow(sid, 0.0)
    budget.allow("d", 10.0)                       # a, b and c are full again: forgotten
    assert set(budget._buckets) == {"d"}
