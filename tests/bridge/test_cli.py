"""`atlas bridge` as a user runs it: a process that prints its address and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

ATLAS = [sys.executable, "-c", "from atlas.cli import main; main()"]


def start(data_dir: Path, *args: str, **variables: str) -> subprocess.Popen[str]:
    env = {**os.environ, "ATLAS_DATA_DIR": str(data_dir), **variables}
    return subprocess.Popen([*ATLAS, "bridge", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def test_prints_its_address_serves_the_page_and_stops_on_ctrl_c(amqtt_url: str,
                                                                 data_dir: Path) -> None:
    process = start(data_dir, "--host", "127.0.0.1", "--port", "0", "--broker", amqtt_url)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("atlas bridge: open http://127.0.0.1:"), line
        url = line.split()[3]
        with urllib.request.urlopen(url, timeout=20) as response:
            page = response.read().decode()
        assert response.status == 200 and "<title>atlas</title>" in page
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
        assert (data_dir / "bridge-secret").stat().st_mode & 0o777 == 0o600
    finally:
        process.send_signal(signal.SIGINT)
        err = finish(process)
    assert process.returncode == 0, err


def finish(process: subprocess.Popen[str]) -> str:
    """The process's stderr once it has exited; a hang is a failure that shows it."""
    try:
        return process.communicate(timeout=60)[1]
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError(f"atlas bridge did not stop:\n{process.communicate()[1]}") \
            from None


def test_a_taken_port_is_a_one_line_error(amqtt_url: str, data_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = start(data_dir, "--port", str(port), "--broker", amqtt_url)
        err = finish(process)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_a_bad_broker_url_is_a_usage_error(data_dir: Path) -> None:
    process = start(data_dir, "--port", "0", "--broker", "http://nope")
    err = finish(process)
    assert process.returncode == 2
    assert "unsupported broker scheme" in err


def test_the_configured_state_keeps_the_sid_records_in_redis(amqtt_url: str, data_dir: Path,
                                                             redis_url: str) -> None:
    process = start(data_dir, "--port", "0", "--broker", amqtt_url, ATLAS_STATE=redis_url)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("atlas bridge: open http://")
    finally:
        process.send_signal(signal.SIGINT)
        err = finish(process)
    assert process.returncode == 0, err
    assert f"sid records {redis_url}" in err


def test_a_bad_state_url_is_a_usage_error(data_dir: Path) -> None:
    process = start(data_dir, "--port", "0", ATLAS_STATE="redis://u:secret@host:6379/x")
    err = finish(process)
    assert process.returncode == 2
    assert "the database must be a number" in err and "secret" not in err
