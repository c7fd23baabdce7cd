"""The daemon's waiting line: per-sid order, sids in turn, and what waits plain."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from atlas.daemon.inbox import FairInbox


def test_each_sid_keeps_its_order_and_sids_take_turns() -> None:
    inbox: FairInbox[str] = FairInbox()
    for n in range(3):
        inbox.put("flood", f"f{n}")
    inbox.put("alice", "a0")
    inbox.put("alice", "a1")
    taken = [inbox.get_nowait() for _ in range(5)]
    assert taken == ["f0", "a0", "f1", "a1", "f2"]   # alice does not wait behind the flood
    assert inbox.get_nowait() is None and len(inbox) == 0


# Operations: put (key, plain) or take the next event.
OPERATIONS = st.lists(st.one_of(st.tuples(st.sampled_from("ab"), st.booleans()),
                                st.none()), max_size=60)


@given(OPERATIONS)
def test_all_plain_says_whether_every_waiting_event_was_put_plain(operations: list) -> None:
    inbox: FairInbox[tuple[str, int, bool]] = FairInbox()
    waiting: dict[str, list[tuple[str, int, bool]]] = {"a": [], "b": []}
    for n, operation in enumerate(operations):
        if operation is None:
            item = inbox.get_nowait()
            if item is not None:
                assert waiting[item[0]].pop(0) == item      # per key, in order
            else:
                assert not any(waiting.values())
        else:
            key, plain = operation
            inbox.put(key, (key, n, plain), plain=plain)
            waiting[key].append((key, n, plain))
        for key, items in waiting.items():
            assert inbox.all_plain(key) == all(plain for _, _, plain in items)
    assert len(inbox) == sum(len(items) for items in waiting.values())
