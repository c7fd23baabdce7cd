"""What a daemon taking a sid over replays: what the last holder heard but did not handle."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from atlas.daemon.hearing import HEARD, TAIL, Hearing, digest, handled_tail, unhandled
from atlas.protocol import DialogAsk, DialogParse


def tail_of(messages: list[str]) -> list[str]:
    tail: list[str] = []
    for message in messages:
        tail = handled_tail(tail, message)
    return tail


@given(st.integers(0, 200), st.integers(0, HEARD - TAIL))
def test_distinct_messages_line_up_exactly(handled: int, after: int) -> None:
    stream = [f"m{n}" for n in range(handled + after)]
    heard = stream[-HEARD:]
    assert unhandled(heard, tail_of(stream[:handled])) == after


@given(st.lists(st.sampled_from("ab"), max_size=40), st.integers(0, 6))
def test_repeated_handled_messages_do_not_hide_new_ones(done: list[str], after: int) -> None:
    new = [f"new{n}" for n in range(after)]
    heard = (done + new)[-HEARD:]
    expected = len(heard) if not done else after
    assert unhandled(heard, tail_of(done)) == expected


def test_a_user_saying_the_same_thing_twice_is_heard_twice() -> None:
    handled = ["hello", "set a timer", "yes"]
    assert unhandled([*handled, "yes"], tail_of(handled)) == 1
    assert unhandled(handled, tail_of(handled)) == 0
    assert unhandled(["yes"], []) == 1          # nothing was ever handled


def test_a_daemon_that_heard_nothing_before_takes_everything_after_the_tail() -> None:
    # Started after the holder handled "a" and "b": it heard only what came next.
    assert unhandled(["c", "d"], tail_of(["a", "b"])) == 2
    assert unhandled(["b", "c", "d"], tail_of(["a", "b"])) == 2


def test_take_over_replays_kept_messages_the_holder_did_not_handle_in_order() -> None:
    hearing = Hearing()
    said = [DialogParse("s1", text) for text in ("hello", "what time is it", "red")]
    asked = DialogAsk("s1", "c1", "Which color?", slot="color")
    kept = []
    for message in (said[0], said[1], asked, said[2]):
        kind, position, _ = hearing.note("s1", message, now=1.0)
        hearing.keep("s1", kind, position, message)
        kept.append(message)
    # The holder handled the two first texts and the question, then died.
    handled = {"DialogParse": tail_of([digest(m) for m in said[:2]]),
               "DialogAsk": tail_of([digest(asked)])}
    assert hearing.take_over("s1", handled) == [said[2]]
    assert not hearing.keeping("s1")
    assert hearing.take_over("s1", handled) == []     # let go once taken


def test_prune_lets_go_of_what_the_live_holder_handled() -> None:
    hearing = Hearing()
    for text in ("one", "two", "three"):
        message = DialogParse("s1", text)
        kind, position, _ = hearing.note("s1", message, now=1.0)
        hearing.keep("s1", kind, position, message)
    hearing.prune("s1", {"DialogParse": tail_of([digest(DialogParse("s1", t))
                                                 for t in ("one", "two")])})
    assert hearing.take_over("s1", None) == [DialogParse("s1", "three")]


def test_idle_sids_are_forgotten_unless_they_keep_something() -> None:
    hearing = Hearing()
    hearing.note("idle", DialogParse("idle", "hi"), now=1.0)
    kind, position, _ = hearing.note("kept", DialogParse("kept", "hi"), now=1.0)
    hearing.keep("kept", kind, position, DialogParse("kept", "hi"))
    assert hearing.forget_idle(before=2.0) == 1
    assert len(hearing) == 1 and hearing.keeping("kept")


def test_digests_are_of_the_content() -> None:
    assert digest(DialogParse("s1", "hi")) == digest(DialogParse("s1", "hi"))
    assert digest(DialogParse("s1", "hi")) != digest(DialogParse("s1", "hi!"))
