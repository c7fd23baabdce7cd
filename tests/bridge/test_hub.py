"""The hub: which sockets hear which sid, and the session records it keeps."""

from __future__ import annotations

import pytest

from atlas.bridge.link import BACKLOG, Hub
from atlas.bridge.messages import INVALID_TOKEN, TOO_SLOW
from atlas.protocol import ChannelAsk, ChannelCreated, ChannelShow, ChannelWork


async def test_sockets_of_a_sid_hear_it_and_only_it() -> None:
    hub = Hub()
    await hub.enroll("web-a", "alice")
    await hub.enroll("web-b", "bob")
    a1, _ = hub.attach("web-a")
    a2, _ = hub.attach("web-a")
    b, _ = hub.attach("web-b")
    hub.deliver(ChannelShow("web-a", "for alice"))
    hub.deliver(ChannelShow("term-x", "another channel's sid"))
    await hub.flush()
    for listener in (a1, a2):
        message = listener.queue.get_nowait()
        assert message is not None and message["data"]["text"] == "for alice"
        assert listener.queue.empty()
    assert b.queue.empty()
    assert hub.sids_of("alice") == ["web-a"]
    assert hub.session("term-x") is None


async def test_a_joining_socket_gets_the_pending_question_once() -> None:
    hub = Hub()
    await hub.enroll("web-a", "alice")
    hub.deliver(ChannelCreated("web-a", "fr"))
    hub.deliver(ChannelWork("web-a"))
    hub.deliver(ChannelAsk("web-a", "Sure?", None, ("yes", "no")))
    await hub.flush()
    listener, pending = hub.attach("web-a")
    assert [m["type"] for m in pending] == ["ask", "done"]
    assert listener.queue.empty()
    session = hub.session("web-a")
    assert session is not None and session.lang == "fr"


async def test_detached_sockets_hear_nothing_and_the_record_stays() -> None:
    hub = Hub()
    await hub.enroll("web-a", "alice")
    listener, _ = hub.attach("web-a")
    hub.detach(listener)
    hub.deliver(ChannelAsk("web-a", "Still there?", "answer"))
    await hub.flush()
    assert listener.queue.empty()
    assert hub.listened() == []
    _, pending = hub.attach("web-a")
    assert pending[0]["data"]["text"] == "Still there?"


async def test_a_sid_belongs_to_one_user() -> None:
    hub = Hub()
    await hub.enroll("web-a", "alice")
    with pytest.raises(ValueError, match="another user"):
        await hub.enroll("web-a", "mallory")


async def test_a_socket_that_does_not_read_overflows() -> None:
    hub = Hub()
    await hub.enroll("web-a", "alice")
    listener, _ = hub.attach("web-a")
    for i in range(BACKLOG):
        hub.deliver(ChannelShow("web-a", str(i)))
    await hub.flush()
    assert listener.ended is None
    hub.deliver(ChannelShow("web-a", "one too many"))
    await hub.flush()
    assert listener.ended == TOO_SLOW


async def test_revoking_a_sign_in_ends_its_sockets_only() -> None:
    hub = Hub()
    await hub.enroll("web-a", "alice")
    revoked, _ = hub.attach("web-a", "family-1")
    other, _ = hub.attach("web-a", "family-2")
    assert hub.end_family("family-1", INVALID_TOKEN) == 1
    assert revoked.ended == INVALID_TOKEN
    assert revoked.queue.get_nowait() is None  # wakes its writer
    assert other.ended is None and other.queue.empty()
