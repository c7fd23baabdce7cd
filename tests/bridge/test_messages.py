"""The bridge's WebSocket protocol as pure functions: client frames, mapping, resume."""

from __future__ import annotations

import json

import pytest

from atlas.bridge.messages import (
    MAX_FRAME,
    Authenticate,
    ClientError,
    Close,
    Session,
    UserMessage,
    on_channel,
    parse_client,
    resume,
    sid_for,
    strip_markdown,
)
from atlas.protocol import (
    ChannelAsk,
    ChannelContext,
    ChannelCreated,
    ChannelDestroyed,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    Reason,
    valid_level,
)

SID = "web-0123"


# -- client frames -------------------------------------------------------------------


def test_authenticate_defaults_to_the_web_device() -> None:
    assert parse_client('{"type": "authenticate", "token": "abc"}') == Authenticate("abc", "web")
    assert parse_client('{"type":"authenticate","token":"t","device":"phone-1"}') \
        == Authenticate("t", "phone-1")


def test_message_is_stripped() -> None:
    assert parse_client('{"type": "message", "message": "  hello "}') == UserMessage("hello")


@pytest.mark.parametrize(("frame", "reason"), [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ('{"token": "x"}', "needs a 'type'"),
    ('{"type": "hello"}', "unknown message type 'hello'"),
    ('{"type": "authenticate"}', "'token'"),
    ('{"type": "authenticate", "token": 12}', "'token'"),
    ('{"type": "authenticate", "token": "t", "device": "../x"}', "'device'"),
    ('{"type": "authenticate", "token": "t", "device": "a/+/#"}', "'device'"),
    ('{"type": "message", "message": "   "}', "non-empty"),
    ('{"type": "message"}', "non-empty"),
    ('{"type": "message", "message": "' + "a" * 2001 + '"}', "longer than"),
])
def test_bad_frames_say_why(frame: str, reason: str) -> None:
    with pytest.raises(ClientError, match=reason.replace("(", r"\(")):
        parse_client(frame)


def test_oversized_frame_is_refused_before_decoding() -> None:
    with pytest.raises(ClientError, match="larger than"):
        parse_client(json.dumps({"type": "message", "message": "é" * MAX_FRAME}))


def test_sids_are_per_user_and_device_and_valid_levels() -> None:
    sids = {sid_for(uid, device) for uid in ("alice", "bob", "alice\x00web")
            for device in ("web", "phone")}
    assert len(sids) == 6
    assert all(valid_level(sid) for sid in sids)
    assert sid_for("alice", "web") == sid_for("alice", "web")
    assert sid_for("alice", "web").startswith("web-")
    assert "alice" not in sid_for("alice", "web")


def test_close_reasons_fit_a_control_frame() -> None:
    long = Close(4001, "authentication required").because("x" * 500)
    assert long.code == 4001
    assert len(long.reason.encode()) <= 123
    assert long.reason.startswith("authentication required: x")


# -- channel messages → bridge messages -------------------------------------------------


def test_show_becomes_answer_with_cards_raw_text_and_other_properties() -> None:
    card = {"header": "Paris", "subhead": "Sunny", "text": "21°", "media": "https://x/y.png",
            "header_link": "https://x"}
    show = ChannelShow(SID, "It is **sunny** in [Paris](https://x)",
                       {"cards": [card], "lang": "en", "extra": 1})
    session, out = on_channel(Session(), show)
    assert session == Session()
    assert out == [{"type": "answer", "data": {
        "text": "It is **sunny** in [Paris](https://x)", "raw_text": "It is sunny in Paris",
        "cards": [card], "lang": "en", "extra": 1}}]


def test_show_without_cards_has_an_empty_card_list() -> None:
    _, out = on_channel(Session(), ChannelShow(SID, "hi"))
    assert out[0]["data"]["cards"] == []
    _, out = on_channel(Session(), ChannelShow(SID, "hi", {"cards": "nope"}))
    assert out[0]["data"]["cards"] == []


def test_ask_is_followed_by_done_requiring_input_and_is_remembered() -> None:
    ask = ChannelAsk(SID, "Start a timer for *5 minutes*?", None, ("yes", "no"), {"icon": "t"})
    session, out = on_channel(Session(working=True), ask)
    data = {"text": "Start a timer for *5 minutes*?", "raw_text": "Start a timer for 5 minutes?",
            "slot": None, "choices": ["yes", "no"], "icon": "t"}
    assert out == [{"type": "ask", "data": data}, {"type": "done", "require_input": True}]
    assert session.pending_ask == data
    assert not session.working


def test_ask_for_a_slot() -> None:
    _, out = on_channel(Session(), ChannelAsk(SID, "For how long?", "duration"))
    assert out[0]["data"]["slot"] == "duration"
    assert out[0]["data"]["choices"] is None


def test_work_is_thinking_and_clears_the_pending_ask() -> None:
    session, out = on_channel(Session(pending_ask={"text": "?"}), ChannelWork(SID))
    assert out == [{"type": "thinking"}]
    assert session.pending_ask is None
    assert session.working


@pytest.mark.parametrize("reason", list(Reason))
def test_terminate_is_done_without_input(reason: Reason) -> None:
    session, out = on_channel(Session(working=True, pending_ask={"text": "?"}),
                              ChannelTerminate(SID, reason))
    assert out == [{"type": "done", "require_input": False, "reason": reason.value}]
    assert session == Session()


def test_context_is_forwarded_and_kept() -> None:
    session, out = on_channel(Session(), ChannelContext(SID, "lights"))
    assert out == [{"type": "context", "name": "lights"}]
    assert session.context == "lights"
    session, out = on_channel(session, ChannelContext(SID, None))
    assert out == [{"type": "context", "name": None}]
    assert session.context is None


def test_destroyed_forgets_the_conversation() -> None:
    session, out = on_channel(Session(lang="fr", context="x", pending_ask={"text": "?"}),
                              ChannelDestroyed(SID))
    assert session == Session(lang="fr")
    assert out == [{"type": "done", "require_input": False}]


def test_created_is_not_for_sockets_and_records_the_language() -> None:
    assert on_channel(Session(), ChannelCreated(SID, "fr")) == (Session(lang="fr"), [])


# -- resume -----------------------------------------------------------------------------


def test_resume_of_an_idle_session_is_empty() -> None:
    assert resume(Session(lang="en")) == []


def test_resume_re_sends_the_pending_ask_after_context() -> None:
    session = Session()
    for message in (ChannelContext(SID, "timer"), ChannelWork(SID),
                    ChannelAsk(SID, "Sure?", None, ("yes", "no"))):
        session, _ = on_channel(session, message)
    assert resume(session) == [
        {"type": "context", "name": "timer"},
        {"type": "ask", "data": {"text": "Sure?", "raw_text": "Sure?", "slot": None,
                                 "choices": ["yes", "no"]}},
        {"type": "done", "require_input": True},
    ]


def test_resume_while_a_skill_works_says_thinking() -> None:
    session, _ = on_channel(Session(), ChannelWork(SID))
    assert resume(session) == [{"type": "thinking"}]


# -- markdown ---------------------------------------------------------------------------


@pytest.mark.parametrize(("markdown", "plain"), [
    ("plain text", "plain text"),
    ("**bold** and __bold__", "bold and bold"),
    ("*it* and _it_", "it and it"),
    ("snake_case_name stays", "snake_case_name stays"),
    ("2 * 3 * 4", "2 * 3 * 4"),
    ("`code` here", "code here"),
    ("# Title\nbody", "Title\nbody"),
    ("- one\n- two\n1. three", "one\ntwo\nthree"),
    ("> quoted", "quoted"),
    ("![a cat](http://x/c.png) [link](http://x)", "a cat link"),
    ("~~old~~ new", "old new"),
    ("```\ncode block\n```", "code block"),
])
def test_strip_markdown(markdown: str, plain: str) -> None:
    assert strip_markdown(markdown) == plain


def test_pytlas_mobile_frames_and_the_additions() -> None:
    from atlas.bridge.messages import UserData

    # pytlas-mobile sends {"message"} with no type, as pytlas-server accepted.
    assert parse_client('{"message": " hi "}') == UserMessage("hi")
    assert parse_client('{"type": "data", "data": {"choice": "yes"}}') == UserData(
        {"choice": "yes"})
    assert parse_client('{"type": "authenticate", "token": "t", "welcome": true}') == \
        Authenticate("t", "web", True)
    for bad in ('{"type": "data", "data": [1]}', '{"type": "data"}', '{"message": ""}'):
        with pytest.raises(ClientError):
            parse_client(bad)


@pytest.mark.parametrize(("frame", "why"), [
    ("[" * 5000 + "]" * 5000, "frame is nested too deeply"),
    ('{"type": "message", "message": ' + "1" * 5000 + "}", "frame holds a number too long"),
    ('{"type": "message", "message": "\\ud800"}',
     "frame holds an escaped lone surrogate, not text"),
], ids=["nesting", "long integer", "lone surrogate"])
def test_frames_json_cannot_carry_are_refused_as_client_errors(frame: str, why: str) -> None:
    """What the WebSocket fuzz found: each of these used to end the socket with an
    exception (a lone surrogate only when it reached MQTT, as UTF-8)."""
    with pytest.raises(ClientError, match=why):
        parse_client(frame)
    assert parse_client('{"type": "message", "message": "caf\\u00e9"}') == UserMessage("café")
