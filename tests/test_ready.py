"""What ``atlas up`` waits for and says, without processes; and its port check."""

from __future__ import annotations

import socket
from datetime import datetime

import pytest

from atlas.cli.ready import Awaited, PortInUse, check_port, fresh, local_url
from atlas.protocol import Skills, SkillSummary


def listing(*names: str, started_at: str = "2026-01-01T10:00:00") -> Skills:
    return Skills("1", started_at, tuple(SkillSummary.from_dict({"name": name})
                                         for name in names))


def test_waiting_names_what_is_missing() -> None:
    awaited = Awaited(["clock", "timer"], bridge=True)
    assert awaited.waiting() == "waiting for the daemon to train for clock, timer and the bridge…"
    assert awaited.heard(listing("clock")) == ["clock"]
    assert not awaited.done
    assert awaited.waiting() == "waiting for the daemon to train for timer and the bridge…"
    assert awaited.heard(listing("clock", "timer")) == ["timer"]
    assert awaited.waiting() == "waiting for the bridge…"
    awaited.bridge = False
    assert awaited.done


def test_skills_named_otherwise_than_their_folder_count() -> None:
    awaited = Awaited(["my-clock"], bridge=False)
    awaited.heard(listing("clock"))
    assert awaited.done


def test_no_skills_waits_for_the_daemon_alone() -> None:
    awaited = Awaited([], bridge=False)
    assert awaited.waiting() == "waiting for the daemon…"
    assert not awaited.done
    awaited.heard(listing())
    assert awaited.done


def test_a_list_left_by_an_earlier_daemon_is_stale() -> None:
    since = datetime(2026, 1, 1, 10, 0, 0)
    assert fresh(listing(started_at="2026-01-01T10:00:01.5"), since)
    assert not fresh(listing(started_at="2026-01-01T09:59:00"), since)


def test_local_url() -> None:
    assert local_url("0.0.0.0", 80) == "http://127.0.0.1:80/"
    assert local_url("::", 80) == "http://[::1]:80/"
    assert local_url("192.168.1.2", 8080) == "http://192.168.1.2:8080/"


def test_check_port() -> None:
    free = check_port("127.0.0.1", 0)
    assert free > 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUse) as error:
            check_port("127.0.0.1", port)
        assert error.value.port == port
