"""Configuration: defaults < YAML file < ATLAS_* variables < command-line options."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from atlas.config import (
    Bridge,
    Config,
    ConfigError,
    Discovery,
    RedisAddress,
    load,
    note_embedded_address,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # No variable from the caller's shell, and no config/atlas.yml in the working dir.
    monkeypatch.delenv("ATLAS_BROKER", raising=False)
    monkeypatch.delenv("ATLAS_DATA_DIR", raising=False)
    monkeypatch.delenv("ATLAS_CONFIG", raising=False)
    monkeypatch.delenv("ATLAS_STATE", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.chdir(tmp_path)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "atlas.yml"
    path.write_text(text)
    return path


def test_defaults_without_a_file() -> None:
    config = load()
    assert config == Config()
    assert config.broker == "mqtt://127.0.0.1:1883"
    assert config.discovery == Discovery(10.0, 30.0)
    assert (config.skill_timeout, config.ask_timeout) == (10.0, 300.0)


def test_data_lives_in_the_users_data_folder(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    assert load().data_dir == tmp_path / "home" / ".local" / "share" / "atlas"
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    assert load().data_dir == tmp_path / "xdg-data" / "atlas"
    # The spec says a relative XDG value is to be ignored.
    monkeypatch.setenv("XDG_DATA_HOME", "relative")
    assert load().data_dir == tmp_path / "home" / ".local" / "share" / "atlas"


def test_which_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config, then ATLAS_CONFIG, then ./config/atlas.yml, then the user's file."""
    user = tmp_path / "home" / ".config" / "atlas" / "atlas.yml"
    user.parent.mkdir(parents=True)
    user.write_text("default_lang: de\n")
    assert load().default_lang == "de"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert load().default_lang == "en"
    (tmp_path / "xdg" / "atlas").mkdir(parents=True)
    (tmp_path / "xdg" / "atlas" / "atlas.yml").write_text("default_lang: it\n")
    assert load().default_lang == "it"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "atlas.yml").write_text("default_lang: fr\n")
    assert load().default_lang == "fr"
    monkeypatch.setenv("ATLAS_CONFIG", str(write(tmp_path, "default_lang: es\n")))
    assert load().default_lang == "es"
    assert load(write(tmp_path / "config", "default_lang: nl\n")).default_lang == "nl"
    # A named file that is missing is an error, never a silent fall-back.
    monkeypatch.setenv("ATLAS_CONFIG", str(tmp_path / "missing.yml"))
    with pytest.raises(ConfigError, match=r"missing\.yml"):
        load()


def test_relative_paths_in_a_file_are_relative_to_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "etc").mkdir()
    path = write(tmp_path / "etc", "data_dir: data\nskills_dir: ../skills\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load(Path("../etc/atlas.yml"))
    assert config.data_dir == tmp_path / "etc" / "data"
    assert config.skills_dir == tmp_path / "skills"
    assert load(write(tmp_path, "data_dir: ~/atlas-data\n")).data_dir \
        == tmp_path / "home" / "atlas-data"
    # From a variable or an option, relative is to the current folder, as in any command.
    monkeypatch.setenv("ATLAS_DATA_DIR", "here")
    assert load(path).data_dir == Path("here")


def test_the_file_overrides_defaults(tmp_path: Path) -> None:
    config = load(write(tmp_path, """
broker: mqtt://broker.lan:1884
data_dir: /srv/atlas
default_lang: fr
discovery: {interval: 2, timeout: 7}
skill_timeout: 4
ask_timeout: 60
env: {LIGHTS_TOPIC: "zigbee2mqtt/{room}/set", ROOMS: [kitchen, bedroom]}
bridge: {port: 9000, origins: ["https://atlas.lan"]}
"""))
    assert config.broker == "mqtt://broker.lan:1884"
    assert config.data_dir == Path("/srv/atlas")
    assert config.default_lang == "fr"
    assert config.discovery == Discovery(2.0, 7.0)
    assert (config.skill_timeout, config.ask_timeout) == (4.0, 60.0)
    assert config.env == {"LIGHTS_TOPIC": "zigbee2mqtt/{room}/set",
                          "ROOMS": ["kitchen", "bedroom"]}
    assert config.bridge == Bridge(port=9000, origins=("https://atlas.lan",))


def test_variables_override_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "broker: mqtt://file:1883\ndata_dir: from-file\n")
    monkeypatch.setenv("ATLAS_BROKER", "mqtt://env:1883")
    monkeypatch.setenv("ATLAS_DATA_DIR", "/from/env")
    config = load(path)
    assert (config.broker, config.data_dir) == ("mqtt://env:1883", Path("/from/env"))


def test_options_override_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "broker: mqtt://file:1883\n")
    monkeypatch.setenv("ATLAS_BROKER", "mqtt://env:1883")
    assert load(path, broker="mqtt://cli:1883").broker == "mqtt://cli:1883"
    # An option not given (None) leaves the lower layers alone.
    assert load(path, broker=None).broker == "mqtt://env:1883"


def test_bridge_options(tmp_path: Path) -> None:
    config = load(write(tmp_path, "bridge: {host: 0.0.0.0, port: 9000}\n"), bridge_port=9100)
    assert (config.bridge.host, config.bridge.port) == ("0.0.0.0", 9100)


def test_embedded_broker() -> None:
    assert load(broker="embedded").embedded
    assert not load().embedded


@pytest.mark.parametrize(("text", "message"), [
    ("brokr: mqtt://x\n", "unknown key 'brokr'"),
    ("discovery: {intervl: 3}\n", "unknown key 'intervl'"),
    ("discovery: 3\n", "'discovery' must be a mapping"),
    ("skill_timeout: -1\n", "must not be negative"),
    ("skill_timeout: soon\n", "skill_timeout"),
    ("env: [a, b]\n", "must be a mapping"),
    ("- just\n- a list\n", "top level must be a mapping"),
    ("broker: [unclosed\n", "invalid YAML"),
    ("skills: [a]\n", "skills: must be a mapping"),
    ("skills: {old: {slots: dicts}}\n", "slots: must be one of plain, objects"),
    ("skills: {old: {slot: objects}}\n", "unknown key 'slot'"),
])
def test_bad_files_are_explained(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        load(write(tmp_path, text))


def test_training_dir_and_per_skill_slot_forms(tmp_path: Path) -> None:
    config = load(write(tmp_path, "data_dir: /srv/atlas\n"
                                  "skills: {garden: {slots: objects}, clock: {slots: plain},"
                                  " notes: }\n"))
    assert config.training_path == Path("/srv/atlas/training")
    assert config.object_slots == frozenset({"garden"})
    assert config.skills["notes"] == {"slots": "plain"}
    config = load(write(tmp_path, "training_dir: /srv/training\n"))
    assert config.training_path == Path("/srv/training") and config.object_slots == frozenset()


def test_a_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.yml")


def test_an_empty_file_means_defaults(tmp_path: Path) -> None:
    assert load(write(tmp_path, "")) == Config()


def test_the_shipped_file_documents_the_defaults() -> None:
    shipped = load(REPO / "config" / "atlas.yml")
    # Only the broker differs, so that `atlas up` works with no set-up, and the
    # skills folder, the checkout's own wherever atlas runs from.
    assert shipped.skills_dir == REPO / "skills"
    assert replace(shipped, skills_dir=Path("skills")) == Config(broker="embedded")


def test_without_state_the_daemon_keeps_its_own_conversations() -> None:
    assert load().state == ""
    assert load().state_address is None


def test_state_in_redis_from_the_file_or_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(write(tmp_path, "state: redis://redis.lan:6380/2\n"))
    assert config.state_address == RedisAddress("redis.lan", 6380, 2)
    monkeypatch.setenv("ATLAS_STATE", "rediss://atlas:s%3Acret@10.0.0.5")
    address = load(write(tmp_path, "state: redis://redis.lan:6380/2\n")).state_address
    assert address == RedisAddress("10.0.0.5", 6379, 0, "atlas", "s:cret", tls=True)
    assert str(address) == "rediss://10.0.0.5:6379/0"      # no password in logs
    # An empty variable is no variable (a compose file's `ATLAS_STATE: ""`).
    monkeypatch.setenv("ATLAS_STATE", "")
    assert load().state_address is None


@pytest.mark.parametrize(("url", "says"), [
    ("mqtt://127.0.0.1:1883", "is not a Redis URL"),
    ("127.0.0.1:6379", "is not a Redis URL"),
    ("redis://127.0.0.1:six/0", "bad port"),
    ("redis://127.0.0.1:70000/0", "bad port"),
    ("redis://127.0.0.1:6379/zero", "the database must be a number"),
    ("redis:///0", "no host"),
    ("redis://127.0.0.1:6379/0?timeout=3", "unexpected options"),
])
def test_a_bad_state_url_is_a_clear_error(url: str, says: str,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_STATE", url)
    with pytest.raises(ConfigError, match=says) as raised:
        load()
    assert "redis://host:port/db" in str(raised.value)


def test_a_bad_state_url_keeps_its_password_out_of_the_error(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLAS_STATE", "redis://atlas:hunter2@127.0.0.1:6379/x")
    with pytest.raises(ConfigError) as raised:
        load()
    assert "hunter2" not in str(raised.value)


def test_the_embedded_broker_is_the_one_atlas_up_last_started(tmp_path: Path) -> None:
    config = Config(broker="embedded", data_dir=tmp_path)
    assert config.broker_url == "mqtt://127.0.0.1:1883"       # none started yet
    (tmp_path / "broker").mkdir()
    (tmp_path / "broker" / "logins.yml").write_text("operator: s3cret/+\n")
    assert config.broker_url == "mqtt://operator:s3cret%2F%2B@127.0.0.1:1883"
    note_embedded_address(tmp_path, "mqtt://127.0.0.1:18830")      # as atlas up does
    assert config.broker_url == "mqtt://operator:s3cret%2F%2B@127.0.0.1:18830"
    for damaged in ("", "mqtt://evil@host:1", "127.0.0.1:18830", "mqtt://h:1/x\n"):
        (tmp_path / "broker" / "address").write_text(damaged)
        assert config.broker_url.endswith("@127.0.0.1:1883"), damaged
    assert replace(config, broker="mqtt://elsewhere:1883").broker_url == "mqtt://elsewhere:1883"
