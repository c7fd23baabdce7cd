"""The SQLite store, on real files."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from atlas.store import (
    Armed,
    SqliteConversationState,
    Store,
    Stored,
    UnknownUser,
    User,
    UserExists,
)


@pytest.fixture
def store(data_dir: Path) -> Store:
    return Store.in_data_dir(data_dir)


def test_users_are_kept_in_a_file_in_the_data_dir(data_dir: Path, store: Store) -> None:
    store.add_user("bob", "en")
    store.add_user("alice", "fr")
    store.close()
    reopened = Store.in_data_dir(data_dir)
    assert (data_dir / "atlas.sqlite3").is_file()
    assert [u.uid for u in reopened.users()] == ["alice", "bob"]
    assert reopened.user("alice") == User("alice", "fr", {}, False)
    assert reopened.user("nobody") is None


def test_the_data_dir_is_created(tmp_path: Path) -> None:
    Store.in_data_dir(tmp_path / "new" / "dir").add_user("bob", "en")
    assert (tmp_path / "new" / "dir" / "atlas.sqlite3").is_file()


def test_a_uid_is_unique(store: Store) -> None:
    store.add_user("bob", "en")
    with pytest.raises(UserExists):
        store.add_user("bob", "fr")
    assert store.user("bob") == User("bob", "en")


def test_passwords_are_argon2_hashes_never_clear_text(data_dir: Path, store: Store) -> None:
    store.add_user("bob", "en", "correct horse battery staple")
    store.close()
    raw = b"".join(path.read_bytes() for path in data_dir.iterdir())
    assert b"correct horse battery staple" not in raw
    with sqlite3.connect(data_dir / "atlas.sqlite3") as db:
        (stored,) = db.execute("SELECT password_hash FROM users WHERE uid = 'bob'").fetchone()
    assert stored.startswith("$argon2id$")


def test_verify_password(store: Store) -> None:
    user = store.add_user("bob", "en", "right")
    assert user.has_password
    assert store.verify_password("bob", "right")
    assert not store.verify_password("bob", "wrong")
    assert not store.verify_password("bob", "")
    assert not store.verify_password("nobody", "right")


def test_a_user_without_password_cannot_sign_in(store: Store) -> None:
    assert not store.add_user("kid", "fr").has_password
    assert not store.verify_password("kid", "")
    store.set_password("kid", "now")
    assert store.verify_password("kid", "now") and store.user("kid").has_password  # type: ignore[union-attr]


def test_set_password_replaces_the_old_one(store: Store) -> None:
    store.add_user("bob", "en", "old")
    store.set_password("bob", "new")
    assert store.verify_password("bob", "new")
    assert not store.verify_password("bob", "old")


def test_language(store: Store) -> None:
    store.add_user("bob", "en")
    store.set_lang("bob", "fr")
    assert store.user("bob").lang == "fr"  # type: ignore[union-attr]
    with pytest.raises(UnknownUser):
        store.set_lang("nobody", "fr")


def test_env_values_keep_their_json_types(store: Store) -> None:
    store.add_user("bob", "en")
    store.set_env("bob", {"TOPIC": "z2m/{room}", "ROOMS": ["kitchen", "salon"], "DIM": 40})
    store.set_env("bob", {"DIM": None, "SOUND": True})
    assert store.user("bob").env == {  # type: ignore[union-attr]
        "ROOMS": ["kitchen", "salon"], "SOUND": True, "TOPIC": "z2m/{room}"}
    with pytest.raises(UnknownUser):
        store.set_env("nobody", {"A": "b"})


def test_removing_a_user_removes_their_settings(data_dir: Path, store: Store) -> None:
    store.add_user("bob", "en", "pw")
    store.set_env("bob", {"A": "b"})
    store.delete_user("bob")
    assert store.user("bob") is None
    with sqlite3.connect(data_dir / "atlas.sqlite3") as db:
        assert db.execute("SELECT COUNT(*) FROM user_env").fetchone() == (0,)
    with pytest.raises(UnknownUser):
        store.delete_user("bob")


def test_two_stores_on_one_file_see_each_other(data_dir: Path, store: Store) -> None:
    other = Store.in_data_dir(data_dir)
    store.add_user("bob", "en")
    other.set_env("bob", {"A": "1"})
    assert store.user("bob").env == {"A": "1"}  # type: ignore[union-attr]


# -- lookups remembered until the file changes ------------------------------------------

def test_a_remembered_user_is_read_again_after_any_change(data_dir: Path, store: Store) -> None:
    other = Store.in_data_dir(data_dir)   # another process: `atlas users`, the bridge
    store.add_user("bob", "en")
    assert store.user("bob") == User("bob", "en")
    assert store.user("carol") is None    # an absence is remembered too
    other.set_lang("bob", "fr")
    other.set_env("bob", {"A": [1]})
    assert store.user("bob") == User("bob", "fr", {"A": [1]})
    other.add_user("carol", "fr", "pw")
    assert store.user("carol") == User("carol", "fr", {}, has_password=True)
    store.set_lang("carol", "en")         # this store's own change
    assert store.user("carol").lang == "en"  # type: ignore[union-attr]
    other.delete_user("bob")
    assert store.user("bob") is None


def test_a_look_at_the_version_can_hold_for_a_while(data_dir: Path) -> None:
    store = Store.in_data_dir(data_dir, version_holds=0.2)   # the daemon's is 1 ms
    other = Store.in_data_dir(data_dir)
    store.add_user("bob", "en")
    began = time.monotonic()
    assert store.user("bob") == User("bob", "en")   # looked: its own change before
    other.set_lang("bob", "fr")
    first = store.user("bob")
    if time.monotonic() - began < 0.2:    # a slow machine may have let the hold pass
        assert first == User("bob", "en")
    store.set_env("bob", {"A": 1})        # its own change: looked at once
    assert store.user("bob") == User("bob", "fr", {"A": 1})
    other.set_lang("bob", "de")
    time.sleep(0.2)
    assert store.user("bob") == User("bob", "de", {"A": 1})


def test_a_caller_changing_what_it_was_given_changes_nothing(store: Store) -> None:
    store.add_user("bob", "en")
    store.set_env("bob", {"ROOMS": ["kitchen"]})
    given = store.user("bob")
    assert given is not None
    given.env["ROOMS"].append("salon")
    given.env["NEW"] = 1
    assert store.user("bob").env == {"ROOMS": ["kitchen"]}  # type: ignore[union-attr]


def test_a_bot_change_is_seen_by_its_guests_next_lookup(data_dir: Path, store: Store) -> None:
    other = Store.in_data_dir(data_dir)
    assert store.guest("shop/1") is None
    other.add_bot("shop", "fr")
    assert store.guest("shop/1") == User("shop/1", "fr")
    other.set_bot_env("shop", {"X": 2})
    assert store.guest("shop/2") == User("shop/2", "fr", {"X": 2})
    other.remove_bot("shop")
    assert store.bot("shop") is None and store.guest("shop/1") is None


def test_the_remembered_lookups_are_bounded(store: Store, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    monkeypatch.setattr("atlas.store.sqlite.REMEMBERED", 10)
    store.add_user("bob", "en")
    for n in range(100):
        assert store.guest(f"nobot{n}/s") is None and store.user(f"guest{n}") is None
    assert len(store._users) + len(store._bots) <= 12
    assert store.user("bob") == User("bob", "en")


# -- the daemon's channels ------------------------------------------------------------

def test_conversation_state_keeps_the_latest_of_each_sid_and_forgets_on_none(
        tmp_path: Path) -> None:
    state = SqliteConversationState(tmp_path / "state.sqlite3")
    for n in range(500):   # saved faster than written: coalesced, the last one wins
        state.save({"s1": Stored({"n": n}, Armed(n, 1000.0 + n)), "s2": Stored({"n": -n})})
    state.save({"s2": None})
    state.close()
    again = SqliteConversationState(tmp_path / "state.sqlite3")
    assert again.load() == {"s1": Stored({"n": 499}, Armed(499, 1499.0))}
    again.close()


def test_conversation_state_hands_a_damaged_record_back_as_none(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    SqliteConversationState(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO channels VALUES ('s1', '{not json', NULL, NULL)")
    state = SqliteConversationState(path)
    assert state.load() == {"s1": Stored(None)}   # from_record then refuses it, logged
    state.close()
