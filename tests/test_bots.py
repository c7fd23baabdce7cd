"""``atlas bots``: a bot's id and token, shown once and stored hashed; a new token
replaces the old one at once; guests take the bot's language and env."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from atlas.cli.bots import bots
from atlas.store import Store


def run(data_dir: Path, *args: str) -> str:
    result = CliRunner().invoke(bots, list(args), env={"ATLAS_DATA_DIR": str(data_dir)})
    assert result.exit_code == 0, result.output
    return result.output


def test_add_list_token_env_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    out = run(data, "add", "shop", "--lang", "fr", "--open")
    bot_id = re.search(r"id:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    token = re.search(r"token:\s+(\S+)", out).group(1)  # type: ignore[union-attr]
    store = Store.in_data_dir(data)
    raw = store._db.execute("SELECT token_hash FROM bots").fetchone()[0]
    assert token not in raw and raw.startswith("$argon2")
    assert store.verify_bot_token(bot_id, token) is not None
    assert "shop" in run(data, "list") and token not in run(data, "list")
    new = re.search(r"token:\s+(\S+)", run(data, "token", "shop")).group(1)  # type: ignore
    assert store.verify_bot_token(bot_id, token) is None      # the old one stops at once
    assert store.verify_bot_token(bot_id, new) is not None
    run(data, "env", "shop", "CITY=Paris")
    guest = store.guest("shop/abc")
    assert guest is not None and (guest.lang, guest.env) == ("fr", {"CITY": "Paris"})
    assert store.guest("nobody/abc") is None and store.guest("shop") is None
    session = store.add_guest_session("shop", "", {}, 0.0, limit=1)
    assert session is not None
    assert store.add_guest_session("shop", "", {}, 0.0, limit=1) is None   # bounded
    assert store.reclaim_guest_session("shop", 0.0) is None     # not idle since before 0.0
    other = store.add_guest_session("shop", "", {}, 0.5, limit=2)
    assert other is not None
    reclaimed = store.reclaim_guest_session("shop", 1.0)        # the one idle longest
    assert reclaimed is not None and reclaimed.id == session.id
    assert store.guest_session("shop", session.id) is None
    session = other
    assert [s.id for s in store.expire_guest_sessions(1.0)] == [session.id]
    run(data, "remove", "shop")
    assert store.bot("shop") is None
    failed = CliRunner().invoke(bots, ["remove", "shop"], env={"ATLAS_DATA_DIR": str(data)})
    assert failed.exit_code != 0 and "no bot shop" in failed.output
