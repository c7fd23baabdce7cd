"""The protocol's additions for chat widgets: structured input, session data, welcome."""

from __future__ import annotations

import json

import pytest

from atlas.protocol import (
    DAEMON_INBOX,
    ChannelCreate,
    DialogData,
    DialogSession,
    ProtocolError,
    parse_message,
)
from atlas.protocol.dialog import MAX_DATA


@pytest.mark.parametrize("kind", [DialogData, DialogSession])
def test_data_messages_round_trip_and_refuse_what_is_not_an_object(kind: type) -> None:
    message = kind("s1", {"echo": "Bob", "n": [1, 2]})
    assert message.topic() == f"atlas/s1/dialog/{'data' if kind is DialogData else 'session'}"
    assert parse_message(message.topic(), message.to_payload(), DAEMON_INBOX) == message
    for bad in (b"{}", b'{"data": [1]}', b'{"data": "x"}', b"[]", b"nope"):
        with pytest.raises(ProtocolError):
            parse_message(message.topic(), bad, DAEMON_INBOX)
    big = json.dumps({"data": {"x": "y" * MAX_DATA}}).encode()
    with pytest.raises(ProtocolError, match="larger"):
        parse_message(message.topic(), big, DAEMON_INBOX)


def test_channel_create_takes_session_and_welcome_and_stays_compatible() -> None:
    plain = ChannelCreate("s1", "alice")
    assert json.loads(plain.to_payload()) == {"uid": "alice"}   # as before: nothing added
    rich = ChannelCreate("s1", "shop/1", {"first_name": "Ada"}, True)
    assert parse_message(rich.topic(), rich.to_payload(), DAEMON_INBOX) == rich
    for bad in (b'{"uid": "a", "session": 3}', b'{"uid": "a", "welcome": "yes"}'):
        with pytest.raises(ProtocolError):
            parse_message(plain.topic(), bad, DAEMON_INBOX)
