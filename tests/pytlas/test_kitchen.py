"""A pytlas skill, unchanged, through the real host, daemon and broker, in English and French."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from brokers import running_task

from atlas.channel import Channel
from atlas.config import Config
from atlas.daemon import serve
from atlas.protocol import (
    ChannelAsk,
    ChannelContext,
    ChannelShow,
    ChannelTerminate,
    Message,
    Reason,
)
from atlas.store import Store
from tests.daemon.helpers import wait_skills

from .conftest import SKILLS


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "kitchen.log"


@pytest.fixture
def kitchen(pytlas_python: Path, config: Config, log_file: Path
            ) -> Iterator[subprocess.Popen[bytes]]:
    """``atlas skill run`` on the pytlas skill folder, as a user would start it."""
    # Settings: the user's __env first, then this environment, then the default.
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2]),
           "KITCHEN_CHEF": "the chef from the environment"}
    env.pop("KITCHEN_OVEN", None)
    with open(log_file, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "atlas", "skill", "run", str(SKILLS / "kitchen"),
             "--broker", config.broker], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
async def stack(config: Config, kitchen: subprocess.Popen[bytes]) -> AsyncIterator[Config]:
    store = Store.in_data_dir(config.data_dir)
    store.add_user("alice", "en")
    store.add_user("berthe", "fr")
    store.set_env("berthe", {"KITCHEN_CHEF": "Berthe"})
    async with running_task(serve(config, store)):
        await wait_skills(config.broker, {"kitchen"}, timeout=60)
        yield config
    store.close()


def texts(messages: list[Message]) -> list[str]:
    return [m.text for m in messages if isinstance(m, ChannelShow | ChannelAsk)]


def last(messages: list[Message]) -> Any:
    return messages[-1]


async def test_english(stack: Config, kitchen: subprocess.Popen[bytes], log_file: Path) -> None:
    async with Channel(stack.broker, uid="alice") as channel:
        said = await channel.converse("hello kitchen")
        show = next(m for m in said if isinstance(m, ChannelShow))
        # No __env value: pytlas settings read the environment, then the default.
        assert show.text == "Hello the chef from the environment!"
        assert show.extra["mood"] == "cheerful" and show.extra["oven"] == "cold"
        assert show.extra["cards"] == [{"header": "Menu", "subhead": "Today",
                                        "text": "tomato, onion, pumpkin",
                                        "header_link": "https://example.org/menu"}]
        assert last(said).reason is Reason.NOMINAL

        # Asks: with choices (the answer comes back as the slot), then without.
        said = await channel.converse("i would like some soup")
        ask = last(said)
        assert isinstance(ask, ChannelAsk) and ask.text == "Which soup?"
        assert ask.slot == "soup" and ask.choices == ("tomato", "onion", "pumpkin")
        said = await channel.converse("pumpkin")
        assert isinstance(last(said), ChannelAsk) and last(said).text == "How many bowls?"
        said = await channel.converse("three")
        assert isinstance(last(said), ChannelAsk) and last(said).text == "Any topping?"
        said = await channel.converse("crispy bacon")
        assert texts(said) == ["3 bowls of pumpkin soup with crispy bacon, coming."]

        # A context, its intents, its own fallback, and leaving it.
        said = await channel.converse("open the pantry")
        assert ChannelContext(channel.sid, "pantry") in said
        assert texts(said) == ["You are in the pantry."]
        said = await channel.converse("grab the sugar")
        assert texts(said) == ["You take the sugar."]
        said = await channel.converse("dance with the broom")
        assert texts(said) == ['Nothing happens when you say "dance with the broom".']
        said = await channel.converse("leave the pantry")
        assert ChannelContext(channel.sid, None) in said
        assert texts(said) == ["Back in the kitchen."]

        # The root fallback gets the text, as pytlas's does.
        said = await channel.converse("sing me a lullaby")
        assert texts(said) == ['The kitchen does not understand "sing me a lullaby".']

        # A raising handler ends with reason error; the host keeps serving.
        said = await channel.converse("burn the toast")
        assert isinstance(last(said), ChannelTerminate) and last(said).reason is Reason.ERROR
        logged = log_file.read_text()
        assert "Traceback" in logged and "RuntimeError: the toast is on fire" in logged
        assert "in on_burn" in logged      # the skill's own frame, from the host
        said = await channel.converse("hi kitchen")
        assert texts(said)[0] == "Hello the chef from the environment!"

        # Hooks: this channel's agent was created (on the channel's creation).
        said = await channel.converse("count the cooks")
        assert texts(said) and texts(said)[0].startswith("created=")
        created = int(texts(said)[0].split()[0].split("=")[1])
        assert created >= 1

    # Destroying the channel destroys its agent: a new channel sees it (channels are
    # served side by side, so the destruction may land just after the question).
    async with Channel(stack.broker, uid="alice") as other:
        for _ in range(50):
            said = await other.converse("count the cooks")
            counts = {k: int(v) for k, v in (p.split("=") for p in texts(said)[0].split())}
            if counts["destroyed"]:
                break
            await asyncio.sleep(0.1)
        assert counts == {"created": created + 1, "destroyed": 1}
    assert kitchen.poll() is None


async def test_french(stack: Config) -> None:
    async with Channel(stack.broker, uid="berthe") as channel:
        said = await channel.converse("bonjour la cuisine")
        show = next(m for m in said if isinstance(m, ChannelShow))
        assert show.text == "Bonjour Berthe !"      # the user's __env setting first
        assert show.extra["cards"][0]["header"] == "Carte"
        said = await channel.converse("je veux une soupe à la tomate")
        assert isinstance(last(said), ChannelAsk) and last(said).text == "Combien de bols ?"
        said = await channel.converse("deux")
        assert texts(said) == ["Une garniture ?"]
        said = await channel.converse("de la crème")
        assert texts(said) == ["2 bols de soupe (tomate) avec de la crème, ça arrive."]
        said = await channel.converse("entre dans le garde-manger")
        assert texts(said) == ["Vous êtes dans le garde-manger."]
        said = await channel.converse("prends la farine")
        assert texts(said) == ["Vous prenez : farine."]
        said = await channel.converse("chante une chanson")
        assert texts(said) == ["Il ne se passe rien quand vous dites « chante une chanson »."]
        said = await channel.converse("sors du garde-manger")
        assert texts(said) == ["Retour en cuisine."]
        said = await channel.converse("chante une chanson")
        assert texts(said) == ["La cuisine ne comprend pas « chante une chanson »."]
        said = await channel.converse("mets le feu à la cuisine")
        assert last(said).reason is Reason.ERROR
        assert texts(said) == ["Désolé, quelque chose s'est mal passé."]


async def test_the_skill_stops_with_an_error_when_its_host_dies(
        stack: Config, kitchen: subprocess.Popen[bytes], log_file: Path) -> None:
    hosts = subprocess.run(["pgrep", "-P", str(kitchen.pid)], capture_output=True, text=True)
    [host] = hosts.stdout.split()
    os.kill(int(host), signal.SIGKILL)
    code = await asyncio.to_thread(kitchen.wait, 30)
    assert code != 0                          # so that `atlas up` starts it again
    assert "the pytlas host exited" in log_file.read_text()


def test_a_pytlas_skill_that_cannot_load_says_why(pytlas_python: Path, tmp_path: Path) -> None:
    skill = tmp_path / "broken.py"
    skill.write_text("from pytlas import intent\nimport no_such_module_here\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    done = subprocess.run([sys.executable, "-m", "atlas", "skill", "run", str(skill),
                           "--broker", "mqtt://127.0.0.1:1"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 1
    assert "ModuleNotFoundError: No module named 'no_such_module_here'" in done.stderr
    assert done.stderr.strip().endswith("the pytlas host could not load the skill "
                                        "(its error is above)")


async def test_after_a_cancel_in_a_context_the_root_fallback_is_the_root_one(
        stack: Config) -> None:
    async with Channel(stack.broker, uid="alice") as channel:
        said = await channel.converse("open the pantry")
        assert texts(said) == ["You are in the pantry."]
        said = await channel.converse("cancel")
        assert ChannelContext(channel.sid, None) in said
        said = await channel.converse("sing me a lullaby")
        assert texts(said) == ['The kitchen does not understand "sing me a lullaby".']


async def test_a_slow_handler_holds_up_its_own_channel_only(stack: Config) -> None:
    async with Channel(stack.broker, uid="alice") as one, \
            Channel(stack.broker, uid="alice") as other:
        # "simmer" waits until "stir" runs: on a host serving one message at a
        # time, the stir would wait behind the simmer forever.
        simmering = asyncio.ensure_future(one.converse("simmer the stock"))
        said = await other.converse("stir the pot")
        assert texts(said) == ["Stirred."]
        assert texts(await simmering) == ["The stock is ready."]
