"""The dialects' pure parts: Phoenix frames, btu_msg, MCC turns and events, image types."""

from __future__ import annotations

from pathlib import Path

import pytest

from atlas.bridge.images import image_type
from atlas.bridge.mcc import ClientError, Turns, parse_event
from atlas.bridge.phoenix import Frame, FrameError, btu_msg, decode, encode, reply


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
def test_frames_round_trip(vsn: str) -> None:
    frame = Frame("3", "7", "bot:x", "utb_msg", {"session": "s", "text": "hi"})
    assert decode(encode(frame, vsn), vsn) == frame
    answered = reply(frame, "ok", {"session": "s"})
    assert answered.event == "phx_reply" and (answered.join_ref, answered.ref) == ("3", "7")
    assert answered.payload == {"status": "ok", "response": {"session": "s"}}


def test_the_two_serializers() -> None:
    assert decode('[null,"1","phoenix","heartbeat",{}]', "2.0.0") == \
        Frame(None, "1", "phoenix", "heartbeat", {})
    assert decode('{"topic":"phoenix","event":"heartbeat","payload":{},"ref":1}', "1.0.0") == \
        Frame(None, "1", "phoenix", "heartbeat", {})
    assert encode(Frame(None, "1", "t", "e", {}), "1.0.0") == \
        '{"topic": "t", "event": "e", "payload": {}, "ref": "1"}'
    for text, vsn in (("nope", "2.0.0"), ('{"topic": 1}', "1.0.0"), ("[1, 2]", "2.0.0"),
                      ('["1","2","t","e",{}]', "1.0.0"), ('[{},"1","t","e",{}]', "2.0.0")):
        with pytest.raises(FrameError):
            decode(text, vsn)


def test_btu_msg_keeps_the_text_and_adds_the_rest() -> None:
    ask = {"type": "ask", "data": {"text": "Which?", "raw_text": "Which?", "slot": None,
                                   "choices": ["a", "b"]}}
    assert btu_msg("s1", ask) == {"session": "s1", "text": "Which?", "choices": ["a", "b"]}
    show = {"type": "answer", "data": {"text": "**Hi**", "raw_text": "Hi", "cards": []}}
    assert btu_msg("s1", show) == {"session": "s1", "text": "**Hi**"}
    for other in ({"type": "thinking"}, {"type": "done", "require_input": False},
                  {"type": "context", "name": None}):
        assert btu_msg("s1", other) is None


def answer(text: str, **data: object) -> dict[str, object]:
    return {"type": "answer", "data": {"text": text, "raw_text": text, "cards": [], **data}}


def test_a_turn_is_one_frame_and_a_notification_its_own() -> None:
    turns = Turns().expect()
    turns, frames = turns.step({"type": "thinking"})
    turns, more = turns.step(answer("One.", cards=[{"header": "h"}]))
    assert frames == more == []
    turns, more = turns.step({"type": "ask", "data": {"text": "Two?", "raw_text": "Two?",
                                                      "slot": None, "choices": ["y", "n"]}})
    turns, frames = turns.step({"type": "done", "require_input": True})
    assert frames == [{"utterance": "One.\nTwo?", "payload": {
        "require_input": True, "cards": [{"header": "h"}], "choices": ["y", "n"]}}]
    assert turns == Turns()
    # Nothing owed: what the assistant says is a notification, a frame at once.
    turns, frames = turns.step(answer("Ding!"))
    assert frames == [{"utterance": "Ding!", "payload": {}}] and turns == Turns()
    turns, frames = turns.step({"type": "done", "require_input": False})
    assert frames == []


def test_events() -> None:
    assert parse_event({"type": "utterance", "utterance": " hi "}) == ("utterance", "hi")
    assert parse_event({"type": "data", "payload": {"echo": 1}}) == ("data", {"echo": 1})
    for bad in ({"type": "utterance"}, {"type": "data", "payload": 1}, {"type": "x"}, [],
                {"type": "utterance", "utterance": "x" * 3000}):
        with pytest.raises(ClientError):
            parse_event(bad)


@pytest.mark.parametrize(("data", "kind"), [
    (b"\x89PNG\r\n\x1a\nrest", "image/png"), (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
    (b"GIF89a...", "image/gif"), (b"GIF87a...", "image/gif"),
    (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None), (b"%PDF-1.7", None), (b"", None),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
])
def test_images_are_told_by_their_first_bytes(data: bytes, kind: str | None) -> None:
    assert image_type(data) == kind


def test_every_rest_route_is_described(tmp_path: Path) -> None:
    from starlette.routing import Route

    from atlas.bridge import Link, broker_address, create_app
    from atlas.bridge.openapi import SPEC
    from atlas.config import Config
    from atlas.store import Store

    config = Config(data_dir=tmp_path)
    app = create_app(config, Store.in_data_dir(tmp_path), Link(broker_address(config)))
    paths = {route.path for route in app.routes if isinstance(route, Route)
             and route.path not in ("/", "/api/openapi.json") and not route.path.endswith("/")}
    assert paths == set(SPEC["paths"])
