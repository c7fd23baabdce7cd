"""Token buckets: a burst passes, a sustained flood is cut to the rate; per sid and
per skill, in messages and in bytes."""

from __future__ import annotations

from dataclasses import replace

import pytest

from atlas.core import Channel, Conversation, OverBudget
from atlas.daemon import budgets
from atlas.daemon.budgets import Budget, Limit, Limits, SkillBudgets
from atlas.protocol import DialogNotify, DialogShow


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


# -- every budget of skills' messages together -----------------------------------------

def working(sid: str, cid: str, skill: str) -> Channel:
    return Channel(sid, "u", "en", conversation=Conversation(cid, "greet", skill, "hi", "en"))


def skills_limits(**changes: Limit) -> Limits:
    return replace(Limits(sid_messages=Limit(1000, 1000), sid_bytes=Limit(1e9, 1e9),
                          skill_messages=Limit(1000, 1000), skill_bytes=Limit(1e9, 1e9)),
                   **changes)


def test_a_skill_flooding_many_sids_is_held_to_one_skills_budget() -> None:
    """Ten sids, each well within its own budget: the skill's sum is what stops it,
    each of its conversations ends once, and another skill is untouched."""
    checked = SkillBudgets(skills_limits(skill_messages=Limit(1.0, 30)))
    channels = {f"s{n}": working(f"s{n}", f"c{n}", "flooder") for n in range(10)}
    channels["calm"] = working("calm", "c-calm", "calm")
    admitted, over = [], []
    for _ in range(5):
        for n in range(10):
            for item in checked.admit(DialogShow(f"s{n}", f"c{n}", "spam"), channels, 0.0):
                (over if isinstance(item, OverBudget) else admitted).append(item)
    assert len(admitted) == 30
    assert sorted(o.sid for o in over) == [f"s{n}" for n in range(10)]   # once each
    assert {o.reason for o in over} == {"more than 1 messages a second over all its "
                                        "conversations"}
    assert checked.admit(DialogShow("calm", "c-calm", "fine"), channels, 0.0) == [
        DialogShow("calm", "c-calm", "fine")]


def test_bytes_are_budgeted_per_sid_and_unclaimed_messages_end_nothing() -> None:
    checked = SkillBudgets(skills_limits(sid_bytes=Limit(1024.0, 1000.0)))
    channels = {"s": working("s", "c", "talker")}
    big = DialogShow("s", "c", "x" * 400)
    got = [checked.admit(big, channels, 0.0) for _ in range(4)]
    assert got[:2] == [[big], [big]]
    assert got[2] == [OverBudget("s", "c", "more than 1 KiB a second in a conversation")]
    assert got[3] == []                                         # ended once
    assert checked.admit(big, channels, 100.0) == [big]         # refilled in time
    # A message no conversation claims (forged cid, a notification) is only dropped.
    stranger = DialogShow("s", "forged", "x" * 900)
    assert checked.admit(stranger, channels, 100.0) == []
    assert checked.admit(DialogNotify("other", "ding"), channels, 100.0) == [
        DialogNotify("other", "ding")]
