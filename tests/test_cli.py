"""The ``atlas`` command: in-process (CliRunner) for local commands, real processes otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
import yaml
from brokers import free_port, running_daemon, watching
from click.testing import CliRunner, Result

from atlas.broker import EmbeddedBroker
from atlas.channel import Channel
from atlas.cli import main
from atlas.cli.ready import fresh, skills_lists
from atlas.cli.render import (
    card_lines,
    choice_answer,
    message_lines,
    prompt,
    skills_table,
    users_table,
)
from atlas.cli.supervise import find_skills
from atlas.cli.users import parse_assignment
from atlas.config import Config, load
from atlas.protocol import (
    ChannelAsk,
    ChannelDestroyed,
    ChannelShow,
    ChannelTerminate,
    ChannelWork,
    DialogNotify,
    Ping,
    Pong,
    Reason,
    SkillSummary,
)
from atlas.store import Store, User
from atlas.transport import Session, on

REPO = Path(__file__).resolve().parent.parent

# -- rendering, pure ----------------------------------------------------------------


def test_a_show_with_a_card() -> None:
    show = ChannelShow("s", "Here", {"cards": [{"header": "Paris", "subhead": "Sunny",
                                                "text": "21°C\nlight wind",
                                                "media": "https://x/sun.png"}]})
    assert message_lines(show) == [
        "Here", "    ┌ Paris — Sunny", "    │ 21°C", "    │ light wind",
        "    │ <https://x/sun.png>"]


def test_odd_cards_still_render() -> None:
    assert card_lines("just text") == ["    just text"]
    assert card_lines({}) == ["    ┌ (empty card)"]


def test_an_ask_lists_its_choices() -> None:
    ask = ChannelAsk("s", "Start it?", choices=("yes", "no"))
    assert message_lines(ask) == ["Start it?", "    1. yes", "    2. no"]


def test_work_and_ends() -> None:
    assert message_lines(ChannelWork("s")) == ["…"]
    assert message_lines(ChannelTerminate("s", Reason.NOMINAL)) == []
    assert message_lines(ChannelTerminate("s", Reason.TIMEOUT)) == []


def test_numbers_answer_choices() -> None:
    assert choice_answer("2", ("yes", "no")) == "no"
    assert choice_answer(" 1 ", ("yes", "no")) == "yes"
    assert choice_answer("3", ("yes", "no")) == "3"
    assert choice_answer("2", None) == "2"
    assert choice_answer("  yes ", ("yes", "no")) == "yes"


def test_the_prompt_shows_the_context() -> None:
    assert prompt(None) == "> "
    assert prompt("shopping") == "[shopping] > "


def test_tables() -> None:
    assert users_table([]).startswith("no users")
    text = users_table([User("bob", "fr", {"B": 1, "A": 2}, True)])
    assert text.splitlines()[1].split() == ["bob", "fr", "yes", "A,", "B"]
    skills = skills_table([SkillSummary("timer", "1.0", "me", "", {"set_timer": ["duration"],
                                        "stop": []}, {"SOUND": "string"}, ["en"])])
    assert "set_timer(duration), stop" in skills and "SOUND:string" in skills
    skills = skills_table([SkillSummary("old", "1.0", "me", "", {"a": [], "b": []}, {}, ["fr"],
                                        training_from="/srv/training/old", untrained=["b"])])
    _first, row, warning = skills.splitlines()
    assert row.split()[-2:] == ["/srv/training/old", "fr"]
    assert warning == ("warning: old: no training data for b "
                       "(give some in the training_dir, old/<lang>.chatl)")


@pytest.mark.parametrize(("text", "expected"), [
    ("TOPIC=z2m/{room}", ("TOPIC", "z2m/{room}")),
    ("A=x=y", ("A", "x=y")),
    ("ROOMS:=[\"kitchen\"]", ("ROOMS", ["kitchen"])),
    ("DIM:=40", ("DIM", 40)),
    ("GONE=", ("GONE", None)),
])
def test_assignments(text: str, expected: tuple[str, Any]) -> None:
    assert parse_assignment(text) == expected


@pytest.mark.parametrize("text", ["nothing", "=x", "A B=c", "J:={bad"])
def test_bad_assignments(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_assignment(text)


def test_finding_skills(tmp_path: Path) -> None:
    for folder, file in (("clock", "skill.py"), ("timer", "__main__.py"), ("notes", "README")):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / file).write_text("")
    for name in ("single.py", "_private.py", "data.json"):
        (tmp_path / name).write_text("")
    assert [p.name for p in find_skills(tmp_path)] == ["clock", "single.py", "timer"]
    assert find_skills(tmp_path / "missing") == []
    # A pytlas skill folder has neither file: its code importing pytlas is enough.
    (tmp_path / "weather").mkdir()
    (tmp_path / "weather" / "__init__.py").write_text("from pytlas import intent\n")
    assert "weather" in [p.name for p in find_skills(tmp_path)]


# -- local commands, in process --------------------------------------------------------


@pytest.fixture
def cli(tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)  # no config/atlas.yml of the repo
    monkeypatch.delenv("ATLAS_BROKER", raising=False)
    return CliRunner(env={"ATLAS_DATA_DIR": str(data_dir)})


def run(cli: CliRunner, *args: str, input: str | None = None) -> Result:
    return cli.invoke(main, list(args), input=input, catch_exceptions=False)


def test_users_add_list_env(cli: CliRunner, data_dir: Path) -> None:
    assert run(cli, "users", "add", "alice", "--lang", "fr", "--password-stdin",
               input="s3cret\n").exit_code == 0
    assert run(cli, "users", "add", "kid").exit_code == 0
    listed = run(cli, "users", "list")
    assert listed.exit_code == 0
    assert [line.split()[:3] for line in listed.output.splitlines()[1:]] == [
        ["alice", "fr", "yes"], ["kid", "en", "no"]]
    assert "argon2" not in listed.output and "s3cret" not in listed.output
    env = run(cli, "users", "env", "alice", "TOPIC=z2m/{room}", "ROOMS:=[\"salon\"]")
    assert env.exit_code == 0
    assert env.output.splitlines() == ['ROOMS=["salon"]', "TOPIC=z2m/{room}"]
    assert run(cli, "users", "env", "alice", "TOPIC=").output.splitlines() == [
        'ROOMS=["salon"]']
    store = Store.in_data_dir(data_dir)
    assert store.verify_password("alice", "s3cret")
    assert store.user("alice") == User("alice", "fr", {"ROOMS": ["salon"]}, True)
    as_json = json.loads(run(cli, "users", "list", "--json").output)
    assert as_json[0] == {"uid": "alice", "lang": "fr", "password": True, "env": ["ROOMS"]}


def test_users_passwd_lang_remove(cli: CliRunner, data_dir: Path) -> None:
    run(cli, "users", "add", "bob")
    assert run(cli, "users", "passwd", "bob", "--password-stdin", input="pw\n").exit_code == 0
    assert run(cli, "users", "lang", "bob", "fr").exit_code == 0
    store = Store.in_data_dir(data_dir)
    assert store.verify_password("bob", "pw") and store.user("bob").lang == "fr"  # type: ignore[union-attr]
    assert run(cli, "users", "remove", "bob").exit_code == 0
    assert store.user("bob") is None


def test_users_are_the_same_from_any_folder(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """No config file and no ATLAS_DATA_DIR: the data lives in XDG_DATA_HOME."""
    monkeypatch.delenv("ATLAS_DATA_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()
    monkeypatch.chdir(tmp_path / "one")
    assert run(CliRunner(), "users", "add", "carol", "--password-stdin",
               input="pw\n").exit_code == 0
    monkeypatch.chdir(tmp_path / "two")
    assert "carol" in run(CliRunner(), "users", "list").output
    assert (tmp_path / "xdg" / "atlas" / "atlas.sqlite3").is_file()
    assert not (tmp_path / "one" / "data").exists()


def test_user_errors(cli: CliRunner) -> None:
    run(cli, "users", "add", "bob")
    again = run(cli, "users", "add", "bob")
    assert again.exit_code == 1 and "already exists" in again.output
    for args in (("users", "env", "nobody", "A=b"), ("users", "remove", "nobody"),
                 ("users", "lang", "nobody", "fr"), ("users", "passwd", "nobody")):
        result = run(cli, *args)
        assert result.exit_code == 1 and "no user nobody" in result.output
    empty = run(cli, "users", "passwd", "bob", "--password-stdin", input="\n")
    assert empty.exit_code == 2 and "password is required" in empty.output
    bad = run(cli, "users", "env", "bob", "oops")
    assert bad.exit_code == 2 and "KEY=VALUE" in bad.output


def test_a_bad_config_is_one_line_and_exit_2(cli: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("brokr: x\n")
    result = run(cli, "users", "list", "--config", str(tmp_path / "bad.yml"))
    assert result.exit_code == 2
    expected = f"Error: configuration: {tmp_path / 'bad.yml'}: unknown key 'brokr'"
    assert result.output.strip() == expected


def test_state_is_validated_and_needs_mqtt_5(cli: CliRunner) -> None:
    bad = cli.invoke(main, ["users", "list"], env={"ATLAS_STATE": "redis://h:6379/x"})
    assert bad.exit_code == 2 and "the database must be a number" in bad.output
    for broker in ("embedded", "mqtt://127.0.0.1:1", "mqtt://127.0.0.1:1?protocol=4"):
        refused = cli.invoke(main, ["daemon", "--broker", broker],
                             env={"ATLAS_STATE": "redis://u:pw@h:6379/1"})
        assert refused.exit_code != 0
        assert "redis://h:6379/1: daemons sharing Redis share the work over MQTT 5" \
            in refused.output
        assert ":pw@" not in refused.output


def test_broker_user(cli: CliRunner, tmp_path: Path) -> None:
    result = run(cli, "broker-user", str(tmp_path / "passwd"), "daemon", "--password-stdin",
                 input="pw\n")
    assert result.exit_code == 0
    assert (tmp_path / "passwd").read_text().startswith("daemon:$argon2id$")


def test_unknown_command_is_a_usage_error(cli: CliRunner) -> None:
    result = cli.invoke(main, ["frobnicate"])
    assert result.exit_code == 2 and "No such command" in result.output


def test_every_command_takes_config(cli: CliRunner) -> None:
    for name in ("broker", "chat", "daemon", "skills", "up"):
        assert "--config" in run(cli, name, "--help").output, name
    for group, name in (("users", "add"), ("users", "list"), ("users", "env"),
                        ("skill", "run")):
        assert "--config" in run(cli, group, name, "--help").output, name


# -- real processes -------------------------------------------------------------------


def atlas_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    return {**env, **extra}


async def atlas(*args: str, env: dict[str, str] | None = None, stdin: bytes | None = None,
                cwd: Path | None = None, timeout: float = 120) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atlas", *args, env=env or atlas_env(), cwd=cwd,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@contextlib.asynccontextmanager
async def ponging(url: str, *names: str) -> AsyncIterator[None]:
    """Raw skills that answer pings (one connection each, as real skills)."""
    async with contextlib.AsyncExitStack() as stack:
        for name in names:
            client = await stack.enter_async_context(Session(url, name))
            await client.subscribe(Ping)
            pong = Pong(name=name, version="2.1", author="tests",
                        intents={"set_timer": ["duration"]}, env={"SOUND": "string"},
                        training={"en": "%[set_timer]\n  set a timer\n"})

            async def answer(client: Session = client, pong: Pong = pong) -> None:
                async for message in client:
                    if isinstance(message, Ping):
                        client.publish(pong)

            task = asyncio.create_task(answer())
            stack.callback(task.cancel)
        yield


async def test_skills_json_lists_live_skills(broker_url: str) -> None:
    async with ponging(broker_url, "timer", "clock"):
        code, out, err = await atlas("skills", "--json", "--wait", "1",
                                     env=atlas_env(ATLAS_BROKER=broker_url))
    assert code == 0, err
    listed = json.loads(out)
    assert [skill["name"] for skill in listed] == ["clock", "timer"]
    assert listed[0] == {"name": "clock", "version": "2.1", "author": "tests",
                         "description": "", "intents": {"set_timer": ["duration"]},
                         "env": {"SOUND": "string"}, "languages": ["en"]}


async def test_skills_table(broker_url: str) -> None:
    async with ponging(broker_url, "timer"):
        code, out, err = await atlas("skills", "--broker", broker_url, "--wait", "1")
    assert code == 0, err
    header, row = out.splitlines()
    assert header.split() == ["NAME", "VERSION", "AUTHOR", "INTENTS", "ENV", "TRAINING"]
    # No daemon: nobody can say where its training comes from.
    assert row.split() == ["timer", "2.1", "tests", "set_timer(duration)", "SOUND:string", "?"]


async def test_skills_with_an_unreachable_broker_exits_3() -> None:
    code, _, err = await atlas("skills", "--broker", f"mqtt://127.0.0.1:{free_port()}")
    assert code == 3
    assert "retrying in" in err
    assert err.strip().splitlines()[-1].startswith("Error: broker mqtt://127.0.0.1:")


async def test_a_bad_broker_url_exits_2() -> None:
    code, _, err = await atlas("daemon", "--broker", "http://nope")
    assert code == 2 and "unsupported broker scheme" in err


async def test_skill_run_refuses_what_is_not_a_skill(tmp_path: Path) -> None:
    (tmp_path / "empty.py").write_text("x = 1\n")
    code, _, err = await atlas("skill", "run", str(tmp_path / "empty.py"), "--broker",
                               "mqtt://127.0.0.1:1")
    assert code == 2 and "skill = Skill(" in err
    code, _, err = await atlas("skill", "run", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err


async def test_skill_run_a_folder_that_runs_itself(tmp_path: Path) -> None:
    (tmp_path / "own").mkdir()
    (tmp_path / "own" / "__main__.py").write_text(
        "import os\nprint('broker is', os.environ['ATLAS_BROKER'])\n")
    code, out, err = await atlas("skill", "run", str(tmp_path / "own"), "--broker",
                                 "mqtt://127.0.0.1:1999")
    assert code == 0, err
    assert out.strip() == "broker is mqtt://127.0.0.1:1999"


async def test_chat(config: Config) -> None:
    async with running_daemon(config, {"alice": "fr"}), \
            watching(config.broker, on(ChannelDestroyed, sid="term-1"),
                     ChannelDestroyed) as destroyed:
        code, out, err = await atlas(
            "chat", "--uid", "bob", "--sid", "term-1", "--broker", config.broker,
            stdin=b"hello\nchoose a color\n2\n")
        # End of input (Ctrl-D) destroys the channel on the way out.
        await asyncio.wait_for(destroyed, 30)
    assert code == 0, err
    assert "connected as bob (en)" in err
    lines = [line.removeprefix("> ") for line in out.splitlines()]
    assert "Hello bob" in lines
    assert lines[lines.index("Which one?") + 1:][:2] == ["    1. red", "    2. blue"]
    assert "You chose blue" in lines


async def test_chat_prompts_again_after_a_notification(config: Config) -> None:
    async with running_daemon(config):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "atlas", "chat", "--uid", "bob", "--sid", "term-3",
            "--broker", config.broker, env=atlas_env(), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        assert process.stdin is not None and process.stdout is not None
        shown = b""

        async def until(wanted: bytes) -> None:
            nonlocal shown
            while wanted not in shown:
                chunk = await asyncio.wait_for(process.stdout.read(100), 60)  # type: ignore[union-attr]
                assert chunk, shown
                shown += chunk

        try:
            await until(b"> ")          # the prompt waits for a line
            async with Session(config.broker, "notifier") as notifier:
                notifier.publish(DialogNotify("term-3", "Ding!"))
                await notifier.drain(30)
            # on a line of its own, then the prompt again
            await until(b"> \nDing!\n> ")
            process.stdin.close()
            assert await asyncio.wait_for(process.wait(), 60) == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_chat_stops_when_its_reader_goes_away(config: Config) -> None:
    """``atlas chat | head -1``: the pipe closes, and chat ends instead of hanging."""
    read_end, write_end = os.pipe()
    async with running_daemon(config):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "atlas", "chat", "--uid", "bob", "--broker", config.broker,
            env=atlas_env(), stdin=asyncio.subprocess.PIPE, stdout=write_end,
            stderr=write_end)
        os.close(write_end)
        try:
            assert process.stdin is not None
            process.stdin.write(b"hello\nhello\nhello\n")
            await process.stdin.drain()
            with os.fdopen(read_end, "rb") as reader:
                # In a thread: the daemon answering the chat runs in this loop.
                assert b"connected as bob" in await asyncio.to_thread(reader.readline)
            assert await asyncio.wait_for(process.wait(), 60) == 1
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_chat_without_a_daemon_waits_then_says_so(amqtt_url: str) -> None:
    code, _, err = await atlas("chat", "--uid", "bob", "--broker", amqtt_url, "--wait", "4",
                               stdin=b"hi\n")
    assert code == 1
    assert err.count("waiting for the assistant…") == 1
    assert err.strip().splitlines()[-1] == (
        "Error: the assistant did not answer within 4 s: is `atlas up` (or `atlas daemon`) "
        "running on this broker?")


async def test_chat_started_before_the_daemon_waits_for_it(config: Config) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atlas", "chat", "--uid", "bob", "--broker", config.broker,
        env=atlas_env(), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    assert process.stdin is not None and process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stderr.readline(), 60)
        assert line.decode().strip() == "waiting for the assistant…"
        async with running_daemon(config):
            line = await asyncio.wait_for(process.stderr.readline(), 60)
            assert b"connected as bob (en)" in line
            out, err = await asyncio.wait_for(process.communicate(b"hello\n"), 60)
        assert process.returncode == 0, err
        assert "Hello bob" in out.decode()
        assert b"waiting" not in err  # said once
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_chat_interrupted_destroys_its_channel(config: Config) -> None:
    async with running_daemon(config), \
            watching(config.broker, on(ChannelDestroyed, sid="term-2"),
                     ChannelDestroyed) as destroyed:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "atlas", "chat", "--uid", "bob", "--sid", "term-2",
            "--broker", config.broker, env=atlas_env(), stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        assert process.stderr is not None
        try:
            line = await asyncio.wait_for(process.stderr.readline(), 60)
            assert b"connected as bob (en) on channel term-2" in line
            process.send_signal(signal.SIGINT)
            assert await asyncio.wait_for(process.wait(), 30) == 0
            await asyncio.wait_for(destroyed, 30)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


# -- atlas up ---------------------------------------------------------------------------

SKILL = '''
from atlas.sdk import Skill

skill = Skill("echo", version="1.0", author="tests")
skill.training("en", "%[echo_hello]\\n  hello there\\n  hi echo\\n")


@skill.intent("echo_hello")
async def hello(req):
    await req.show("hi")
    await req.terminate()
'''


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers signals: it is gone once its parent has reaped it.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" in status.read_text()


def children(parent: int) -> dict[int, str]:
    """The processes ``parent`` started that are still running: pid, command line."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == parent and fields[0] != "Z":
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes() \
                    .replace(b"\0", b" ").decode()
    return found


async def up_without_bridge(stack_dir: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atlas", "up", "--config", str(stack_dir / "atlas.yml"),
        "--broker-port", "0", "--no-bridge", env=atlas_env(), cwd=stack_dir,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        stdin=asyncio.subprocess.DEVNULL)


async def ready(process: asyncio.subprocess.Process) -> str:
    """What ``atlas up`` printed until it said it is ready."""
    assert process.stdout is not None
    text = ""
    while "atlas is ready" not in text:
        line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
        assert line, text
        text += line
    return text


def operator_url(stack_dir: Path) -> str:
    """The embedded broker ``atlas up`` started, with the operator's login: what
    ``atlas chat`` finds from the configuration alone."""
    return load(stack_dir / "atlas.yml").broker_url


async def listed_again(process: asyncio.subprocess.Process, operator: str,
                       since: datetime | None = None) -> None:
    """Wait until a daemon (started at or after ``since``) lists the echo skill, while
    ``atlas up`` keeps running."""
    async def listed() -> None:
        async for listing in skills_lists(operator):
            if (since is None or fresh(listing, since)) \
                    and [s.name for s in listing.skills] == ["echo"]:
                return

    waiting, ended = asyncio.create_task(listed()), asyncio.create_task(process.wait())
    done, _ = await asyncio.wait({waiting, ended}, timeout=90,
                                 return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    ended.cancel()
    assert waiting in done, f"atlas up ended with {process.returncode}" if ended in done \
        else "the skill was not listed again"


async def replaced_then_stopped(process: asyncio.subprocess.Process, old: int,
                                command: str) -> None:
    """``atlas up`` runs one ``atlas <command>`` child, another than ``old``; then a
    Ctrl-C stops it all, that one included."""
    new = [pid for pid, line in children(process.pid).items() if f" {command} " in line]
    assert len(new) == 1 and new[0] != old
    process.send_signal(signal.SIGINT)
    assert await asyncio.wait_for(process.wait(), 60) == 0
    assert gone(new[0])


async def kill_up(process: asyncio.subprocess.Process) -> None:
    """After a failure: ``atlas up`` and what it started (each child in a process group
    of its own would outlive it)."""
    if process.returncode is None:
        for pid in children(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        await process.wait()


@pytest.fixture
def stack_dir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "skills" / "echo").mkdir(parents=True)
    (tmp_path / "skills" / "echo" / "skill.py").write_text(SKILL)
    (tmp_path / "atlas.yml").write_text(
        f"broker: embedded\ndata_dir: {tmp_path / 'data'}\nskills_dir: {tmp_path / 'skills'}\n"
        f"discovery: {{interval: 1, timeout: 5}}\nbridge: {{port: {free_port()}}}\n")
    yield tmp_path


async def test_up_says_ready_once_ready_and_stops_everything(stack_dir: Path) -> None:
    web_port = free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atlas", "up", "--config", str(stack_dir / "atlas.yml"),
        "--broker-port", "0", "--bridge-port", str(web_port), "--host", "127.0.0.1",
        env=atlas_env(), cwd=stack_dir, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL)
    assert process.stdout is not None
    try:
        lines: list[str] = []
        while not lines or not lines[-1].startswith("atlas is ready"):
            line = (await asyncio.wait_for(process.stdout.readline(), 120)).decode()
            assert line, f"atlas up ended early: {lines}"
            lines.append(line.rstrip("\n"))
        text = "\n".join(lines)
        url = re.search(r"broker  (mqtt://\S+)", text)
        assert url is not None, text
        listing = lines[1:lines.index(next(x for x in lines if x.startswith("waiting")))]
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", "\n".join(listing))]
        assert [line.split()[0] for line in listing] == ["broker", "daemon", "bridge", "skill"]
        assert len(pids) == 4 and not any(gone(pid) for pid in pids)
        # The skill runs nicer than the rest (skills_nice, 10 by default): a skill stuck in
        # a loop takes CPU from other skills before it takes it from the conversations.
        here = os.getpriority(os.PRIO_PROCESS, process.pid)
        assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in pids[1:]] == [
            here, here, min(19, here + 10)]
        # Progress came before the ready line: the skill trained, the page listening.
        assert "  skill   echo ready" in lines
        assert f"  bridge  listening on http://127.0.0.1:{web_port}/" in lines
        assert lines[-1].startswith("atlas is ready") and f":{web_port}/" in lines[-1]
        # A login per component: none is printed, anonymous clients are refused, and
        # the operator's login is in the data dir (mode 600).
        logins_file = stack_dir / "data" / "broker" / "logins.yml"
        logins = yaml.safe_load(logins_file.read_text())
        assert set(logins) == {"daemon", "bridge", "operator", "skill-echo"}
        assert not any(password in "\n".join(lines) for password in logins.values())
        assert logins_file.stat().st_mode & 0o777 == 0o600
        code, _, _ = await atlas("skills", "--json", "--broker", url.group(1))
        assert code != 0
        operator = url.group(1).replace("mqtt://", f"mqtt://operator:{logins['operator']}@")
        # Ready means ready: no retry needed, the skill answers and the page is served.
        code, out, err = await atlas("skills", "--json", "--broker", operator)
        assert code == 0, err
        assert [skill["name"] for skill in json.loads(out)] == ["echo"]
        # The other commands find that broker (not on 1883) and log in by themselves,
        # from the configuration alone, as the README says to use them.
        config = str(stack_dir / "atlas.yml")
        code, out, err = await atlas("skills", "--json", "--config", config)
        assert code == 0, err
        assert [skill["name"] for skill in json.loads(out)] == ["echo"]
        code, out, err = await atlas("chat", "--uid", "bob", "--wait", "10", "--config", config,
                                     stdin=b"hello there\n")
        assert code == 0, err
        assert "hi" in [line.removeprefix("> ") for line in out.splitlines()]
        page = await asyncio.to_thread(urllib.request.urlopen, f"http://127.0.0.1:{web_port}/")
        assert page.status == 200
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 60) == 0
        assert all(gone(pid) for pid in pids)
    finally:
        await kill_up(process)


@pytest.mark.parametrize("option", ["--broker-port", "--bridge-port"])
async def test_up_with_a_port_in_use_fails_at_once(stack_dir: Path, option: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        other = "--bridge-port" if option == "--broker-port" else "--broker-port"
        code, out, err = await atlas("up", "--config", str(stack_dir / "atlas.yml"),
                                     option, str(port), other, "0", cwd=stack_dir, timeout=60)
    assert code == 1
    assert "ready" not in out and "starting" not in out  # nothing was started
    assert f"port {port} on 127.0.0.1" in err and "in use" in err
    assert f"with {option} PORT" in err


async def test_up_stops_on_sigterm_too(stack_dir: Path) -> None:
    process = await up_without_bridge(stack_dir)
    try:
        text = await ready(process)
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", text)]
        assert len(pids) == 3 and "bridge" not in text
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 60) == 0
        assert all(gone(pid) for pid in pids)
    finally:
        await kill_up(process)


async def test_up_starts_a_daemon_that_died_again_once_atlas_was_ready(
        stack_dir: Path) -> None:
    process = await up_without_bridge(stack_dir)
    try:
        text = await ready(process)
        daemon = int(re.search(r"daemon  pid (\d+)", text).group(1))  # type: ignore[union-attr]
        async with Channel(operator_url(stack_dir), uid="alice") as alice:
            assert ChannelShow(alice.sid, "hi") in await alice.converse("hello there")
            await asyncio.sleep(0.5)        # the channel's record committed (GATHER)
            killed = datetime.now(UTC).replace(tzinfo=None)
            os.kill(daemon, signal.SIGKILL)
            while not gone(daemon):
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.5)        # the broker has seen the connection go
            # Said while no daemon runs: the broker keeps it for the daemon's session,
            # and the next daemon answers it.
            await alice.say("hello there")
            said = await alice.until_turn_ends(timeout=60)
            assert ChannelShow(alice.sid, "hi") in said, said
        # Another daemon comes, trains and lists the skill again; atlas up goes on.
        await listed_again(process, operator_url(stack_dir), since=killed)
        await replaced_then_stopped(process, daemon, "daemon")
    finally:
        await kill_up(process)


async def test_up_starts_the_embedded_broker_again_on_its_port(stack_dir: Path) -> None:
    process = await up_without_bridge(stack_dir)
    try:
        text = await ready(process)
        broker = int(re.search(r"embedded, pid (\d+)", text).group(1))  # type: ignore[union-attr]
        os.kill(broker, signal.SIGKILL)
        while not gone(broker):      # the list below must not come from the old one
            await asyncio.sleep(0.01)
        # A new broker holds nothing retained: a list on the same URL is the daemon's,
        # published again once it reconnected.
        await listed_again(process, operator_url(stack_dir))
        await replaced_then_stopped(process, broker, "broker")
    finally:
        await kill_up(process)


async def test_up_stops_on_a_burst_of_signals(stack_dir: Path) -> None:
    """Ctrl-C pressed again and again, or SIGTERM from a service manager and from the
    ``timeout`` around it: a second signal while the first is being handled must not
    leave ``atlas up`` waiting forever on a lock it holds."""
    process = await up_without_bridge(stack_dir)
    try:
        text = await ready(process)
        pids = [int(pid) for pid in re.findall(r"pid (\d+)", text)]
        for n in range(200):
            process.send_signal(signal.SIGINT if n % 2 else signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 60) == 0
        assert all(gone(pid) for pid in pids)
    finally:
        await kill_up(process)


def test_embedded_broker_used_by_the_daemon_command(tmp_path: Path) -> None:
    """``atlas daemon`` with ``broker: embedded`` starts its broker, and stops it on SIGTERM."""
    port = free_port()
    (tmp_path / "atlas.yml").write_text(f"broker: embedded\ndata_dir: {tmp_path / 'data'}\n")
    daemon = subprocess.Popen(
        [sys.executable, "-m", "atlas", "daemon", "--config", str(tmp_path / "atlas.yml"),
         "--broker-port", str(port)], env=atlas_env(), stderr=subprocess.PIPE, text=True)
    try:
        assert daemon.stderr is not None
        for line in daemon.stderr:
            if "connected to" in line:
                break
        assert f"mqtt://127.0.0.1:{port}" in line
        # `atlas chat` and `atlas skills` find it by the configuration alone.
        assert load(tmp_path / "atlas.yml").broker_url == f"mqtt://127.0.0.1:{port}"
        # The broker answers as long as the daemon runs: a second one cannot bind.
        with pytest.raises(RuntimeError):
            EmbeddedBroker(port=port, stderr=subprocess.DEVNULL).start()
        daemon.terminate()
        assert daemon.wait(60) == 0
        with EmbeddedBroker(port=port) as again:  # the port is free: the broker stopped
            assert again.url.endswith(f":{port}")
    finally:
        if daemon.poll() is None:
            daemon.kill()


def test_the_shipped_acl_files_are_what_atlas_acl_writes_for_the_bundled_skills(
        cli: CliRunner, tmp_path: Path) -> None:
    """config/mosquitto.acl and config/amqtt-acl.yml come from the generator: after a
    change to the skills or the protocol, run the command their header names again."""
    root = Path(__file__).resolve().parent.parent
    done = run(cli, "acl", "--acl-only", "--skills-dir", str(root / "skills"),
               "--out", str(tmp_path / "out"), "--publish", "lights=zigbee2mqtt/#")
    assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "amqtt-acl.yml", "mosquitto.acl"]       # no password anywhere
    for name in ("mosquitto.acl", "amqtt-acl.yml"):
        assert (tmp_path / "out" / name).read_text() == (root / "config" / name).read_text()
