"""Replies: the shortcuts SkillTester's turns offer to assertions."""

from __future__ import annotations

from atlas.protocol import ChannelAsk, ChannelShow, ChannelTerminate, ChannelWork, Reason
from atlas.sdk.testing import Replies


def test_a_turn_ending_with_a_question() -> None:
    replies = Replies([ChannelWork("s"), ChannelShow("s", "Hi", {"cards": [{"header": "H"}]}),
                       ChannelAsk("s", "Which?", "room", ("a", "b"))])
    assert replies.texts == ["Hi", "Which?"]
    assert [show.text for show in replies.shows] == ["Hi"]
    assert replies.cards == [{"header": "H"}]
    assert replies.ask is not None and replies.ask.choices == ("a", "b")
    assert replies.reason is None


def test_a_turn_ending_the_conversation() -> None:
    replies = Replies([ChannelShow("s", "Bye"), ChannelTerminate("s", Reason.TIMEOUT)])
    assert replies.ask is None and replies.reason == Reason.TIMEOUT
    assert Replies().reason is None and Replies().ask is None and Replies().cards == []
