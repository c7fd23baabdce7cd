"""The understanding adapter: the moment a text was said comes with the event."""

from __future__ import annotations

from datetime import datetime

from atlas.daemon.training import train
from atlas.daemon.understanding import NluUnderstanding
from atlas.protocol import Pong

TRAINING = """\
%[remind]
  remind me @[when]
  remind me to call mum @[when]
  set a reminder for @[when]
  wake me up @[when]
  I need a reminder @[when]

@[when](type=snips/datetime)
  tomorrow at 9am
  in ten minutes
  on monday at noon
"""


def understanding() -> NluUnderstanding:
    pong = Pong(name="reminders", intents={"remind": ["when"]}, training={"en": TRAINING})
    return NluUnderstanding(train({"reminders": pong}, None))


def test_dates_count_from_the_moment_in_the_event() -> None:
    adapter = understanding()
    scope = frozenset({"remind"})
    first = datetime(2030, 1, 5, 12, 0).timestamp()
    later = datetime(2030, 3, 7, 12, 0).timestamp()
    said = adapter.parse("en", "remind me tomorrow at 9am", scope, first)
    assert said.intent == "remind"
    assert said.slots["when"][0]["value"].startswith("2030-01-06T09:00")
    # The same event replayed gives the same answer, whenever it is replayed.
    assert adapter.parse("en", "remind me tomorrow at 9am", scope, first) == said
    assert adapter.parse("en", "remind me tomorrow at 9am", scope, later).slots["when"][0][
        "value"].startswith("2030-03-08T09:00")
    answer = adapter.parse_slot("en", "remind", "when", "tomorrow at 9am", later)
    assert answer[0]["value"].startswith("2030-03-08T09:00")
