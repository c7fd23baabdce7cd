"""Configuration: defaults < YAML file < environment variables < command-line options.

The file is the first of: ``--config FILE``, ``$ATLAS_CONFIG``, ``config/atlas.yml``
in the current folder (a project checkout), ``$XDG_CONFIG_HOME/atlas/atlas.yml``
(``~/.config/atlas/atlas.yml``). Data lives in ``$XDG_DATA_HOME/atlas``
(``~/.local/share/atlas``) unless the file or ``ATLAS_DATA_DIR`` says otherwise, so
every command finds the same users from any folder. A relative path in a file is
relative to that file's folder; on the command line or in a variable, to the
current folder.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, fields, is_dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import yaml

#: The project-local file, relative to the current folder.
DEFAULT_FILE = Path("config/atlas.yml")
EMBEDDED = "embedded"
#: Where the embedded broker listens unless told otherwise.
EMBEDDED_URL = "mqtt://127.0.0.1:1883"
#: Where, in the data dir, ``atlas up`` and ``atlas daemon`` note the embedded broker
#: they started: with ``--broker-port`` it is not on 1883, and ``atlas chat`` and
#: ``atlas skills`` (whose configuration says only "embedded") must find it, not some
#: other broker.
EMBEDDED_ADDRESS = Path("broker") / "address"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Discovery:
    interval: float = 10.0
    timeout: float = 30.0


@dataclass(frozen=True)
class Bridge:
    host: str = "127.0.0.1"
    port: int = 8080
    origins: tuple[str, ...] = ()          # empty: same host as the bridge only
    access_ttl: int = 15 * 60              # seconds an access token lives
    refresh_ttl: int = 14 * 24 * 3600      # seconds a refresh token lives
    #: Messages a second one signed-in user's sockets may send, in bursts of twice
    #: that (more get an error frame, and never reach the broker); 0: no limit.
    rate: float = 5.0


@dataclass(frozen=True)
class Bots:
    """Bounds on the guests of bots (chat widgets' anonymous end users)."""

    sessions: int = 1000                   # live sessions per bot
    rate: float = 5.0                      # messages per second per session
    #: Messages (and new sessions) per second for all of one bot's sessions together
    #: (0: no bound): opening many sessions does not multiply ``rate``.
    bot_rate: float = 25.0
    expiry_days: float = 30.0              # an idle session is deleted after this
    #: A bot at its ``sessions``: the session idle longest, if idle this many seconds,
    #: gives way to a new one (0: never, the new one is refused).
    reclaim_after: float = 3600.0
    max_image: int = 10 * 1024 * 1024      # bytes of one uploaded image


@dataclass(frozen=True)
class RedisAddress:
    """Where the conversations live when several daemons share them: ``redis://…``.

    ``redis://[[user]:password@]host[:port][/db]``, or ``rediss://`` for TLS; the
    port defaults to 6379 and the database to 0.
    """

    host: str
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False

    @classmethod
    def parse(cls, url: str) -> RedisAddress:
        """The address in ``url``; :class:`ConfigError` says what is wrong with it."""
        example = "expected redis://host:port/db, e.g. redis://127.0.0.1:6379/0"
        parts = urlsplit(url)
        if parts.scheme not in ("redis", "rediss"):
            raise ConfigError(f"state: {_safe(url)!r} is not a Redis URL ({example})")
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(f"state: bad port in {_safe(url)!r} ({example})") from None
        if not parts.hostname:
            raise ConfigError(f"state: no host in {_safe(url)!r} ({example})")
        if parts.query or parts.fragment:
            raise ConfigError(f"state: unexpected options in {_safe(url)!r} ({example})")
        path = parts.path.strip("/")
        if path and not (path.isascii() and path.isdigit()):
            raise ConfigError(f"state: the database must be a number, not {path!r} ({example})")
        return cls(parts.hostname, port or 6379, int(path or 0),
                   unquote(parts.username) if parts.username else None,
                   unquote(parts.password) if parts.password is not None else None,
                   parts.scheme == "rediss")

    def __str__(self) -> str:
        """For logs: the address without the password."""
        scheme = "rediss" if self.tls else "redis"
        return f"{scheme}://{self.host}:{self.port}/{self.db}"


def _safe(url: str) -> str:
    """``url`` with its password masked, fit for an error message."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


@dataclass(frozen=True)
class Config:
    broker: str = "mqtt://127.0.0.1:1883"
    data_dir: Path = field(default_factory=lambda: user_data_dir())
    default_lang: str = "en"
    discovery: Discovery = field(default_factory=Discovery)
    skill_timeout: float = 10.0
    ask_timeout: float = 300.0
    env: dict[str, Any] = field(default_factory=dict)
    nlu_engine: str = "default"
    skills_dir: Path = Path("skills")
    #: How much nicer (lower CPU priority, 0-19) than the daemon, the broker and the
    #: bridge ``atlas up`` runs the skills it starts.
    skills_nice: int = 10
    bridge: Bridge = field(default_factory=Bridge)
    bots: Bots = field(default_factory=Bots)
    #: Training files for skills that bring none (``<skill>/<lang>.chatl`` or ``.json``);
    #: ``None``: ``<data_dir>/training``.
    training_dir: Path | None = None
    #: Per-skill settings: ``{name: {"slots": "plain" | "objects"}}``.
    skills: dict[str, dict[str, str]] = field(default_factory=dict)
    #: ``redis://host:port/db``: conversations in Redis, shared by every daemon with
    #: this configuration. Empty: in the daemon, made durable in SQLite (data_dir).
    state: str = ""

    @property
    def state_address(self) -> RedisAddress | None:
        """The Redis holding the conversations, or ``None`` for the daemon's own."""
        return RedisAddress.parse(self.state) if self.state else None

    @property
    def embedded(self) -> bool:
        return self.broker == EMBEDDED

    @property
    def training_path(self) -> Path:
        return self.training_dir if self.training_dir is not None else self.data_dir / "training"

    @property
    def object_slots(self) -> frozenset[str]:
        """Skills that read slots as lists of objects (``skills: {name: {slots: objects}}``)."""
        return frozenset(name for name, settings in self.skills.items()
                         if settings.get("slots") == "objects")

    @property
    def broker_url(self) -> str:
        """The URL to connect to: the embedded broker's default address for "embedded",
        as the operator when ``atlas up`` gave the components logins (DATA_DIR/broker)."""
        if not self.embedded:
            return self.broker
        url = _embedded_address(self.data_dir)
        password = _operator_password(self.data_dir)
        if password is None:
            return url
        return url.replace("mqtt://", f"mqtt://operator:{password}@", 1)


def _embedded_address(data_dir: Path) -> str:
    """The embedded broker last started (:data:`EMBEDDED_ADDRESS`), else the default one."""
    try:
        noted = (Path(data_dir) / EMBEDDED_ADDRESS).read_text().strip()
    except OSError:
        return EMBEDDED_URL
    return noted if re.fullmatch(r"mqtt://[\w.\-]+:\d{1,5}", noted) else EMBEDDED_URL


def note_embedded_address(data_dir: Path | str, url: str) -> None:
    """Say where the embedded broker just started listens (:data:`EMBEDDED_ADDRESS`), for
    the commands that find it by the configuration alone (``atlas chat``, ``atlas skills``)."""
    path = Path(data_dir) / EMBEDDED_ADDRESS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(url + "\n")


def _operator_password(data_dir: Path) -> str | None:
    """The operator's broker password written by ``atlas up`` / ``atlas acl``, if any."""
    try:
        logins = yaml.safe_load((Path(data_dir) / "broker" / "logins.yml").read_text())
    except (OSError, yaml.YAMLError):
        return None
    password = logins.get("operator") if isinstance(logins, dict) else None
    return quote(str(password), safe="") if password else None


def _xdg(variable: str, fallback: str) -> Path:
    # The XDG spec ignores a relative value: so do we.
    value = os.environ.get(variable, "")
    return Path(value) if os.path.isabs(value) else Path.home() / fallback


def user_config_file() -> Path:
    """``$XDG_CONFIG_HOME/atlas/atlas.yml``, by default ``~/.config/atlas/atlas.yml``."""
    return _xdg("XDG_CONFIG_HOME", ".config") / "atlas" / "atlas.yml"


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/atlas``, by default ``~/.local/share/atlas``."""
    return _xdg("XDG_DATA_HOME", ".local/share") / "atlas"


def find_file(path: Path | None = None) -> Path | None:
    """The configuration file to read: the first of ``path``, ``$ATLAS_CONFIG``, the
    project's ``config/atlas.yml``, the user's file; ``None`` when none applies."""
    if path is not None:
        return path
    if explicit := os.environ.get("ATLAS_CONFIG"):
        return Path(explicit)
    for candidate in (DEFAULT_FILE, user_config_file()):
        if candidate.is_file():
            return candidate
    return None


def _build(kind: type, data: dict[str, Any], where: str, base: Path | None = None) -> Any:
    known = {f.name: f for f in fields(kind)}
    values: dict[str, Any] = {}
    for key, value in data.items():
        key = {"nlu": "nlu_engine"}.get(key, key)
        if key not in known:
            raise ConfigError(f"{where}: unknown key {key!r}")
        default = getattr(kind(), key)
        if is_dataclass(default):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: {key!r} must be a mapping")
            values[key] = _build(type(default), value, f"{where}.{key}", base)
        elif key == "nlu_engine" and isinstance(value, dict):
            values[key] = str(value.get("engine", "default"))
        elif key == "skills":
            values[key] = _skills(value, f"{where}.skills")
        elif key == "training_dir":
            values[key] = None if value is None else _coerce(Path(), value, where, base)
        else:
            values[key] = _coerce(default, value, f"{where}.{key}", base)
    return kind(**values)


#: How a skill reads its slots: plain values (the default) or ``[{"value": …}]`` objects.
SLOT_FORMS = ("plain", "objects")


def _skills(value: Any, where: str) -> dict[str, dict[str, str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: must be a mapping of skill names to settings")
    result: dict[str, dict[str, str]] = {}
    for name, settings in value.items():
        settings = settings or {}
        if not isinstance(settings, dict):
            raise ConfigError(f"{where}.{name}: must be a mapping")
        unknown = set(settings) - {"slots"}
        if unknown:
            raise ConfigError(f"{where}.{name}: unknown key {sorted(unknown)[0]!r}")
        form = str(settings.get("slots", "plain"))
        if form not in SLOT_FORMS:
            raise ConfigError(f"{where}.{name}.slots: must be one of {', '.join(SLOT_FORMS)}")
        result[str(name)] = {"slots": form}
    return result


def _coerce(default: Any, value: Any, where: str, base: Path | None = None) -> Any:
    """``value`` as the type of ``default``; a relative path is joined to ``base``."""
    try:
        if isinstance(default, Path):
            path = Path(os.path.expanduser(str(value)))
            if base is None or path.is_absolute():
                return path
            return Path(os.path.normpath(base / path))
        if isinstance(default, bool):
            return bool(value)
        if isinstance(default, int | float):
            number = type(default)(value)
            if number < 0:
                raise ConfigError(f"{where}: must not be negative")
            return number
        if isinstance(default, tuple):
            return tuple(str(v) for v in (value if isinstance(value, list) else [value]))
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: must be a mapping")
            return dict(value)
        return str(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{where}: {error}") from None


def load(path: Path | None = None, **overrides: Any) -> Config:
    """Load the configuration; ``overrides`` are command-line values (``None`` = not given)."""
    data: dict[str, Any] = {}
    source = find_file(path)
    if source is not None:
        try:
            data = yaml.safe_load(Path(source).read_text()) or {}
        except OSError as error:
            raise ConfigError(f"cannot read {source}: {error.strerror}") from None
        except yaml.YAMLError as error:
            raise ConfigError(f"{source}: invalid YAML ({error})") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: the top level must be a mapping")
    base = Path(source).absolute().parent if source is not None else None
    config: Config = _build(Config, data, str(source or "config"), base)
    env = {"broker": os.environ.get("ATLAS_BROKER"), "data_dir": os.environ.get("ATLAS_DATA_DIR"),
           "state": os.environ.get("ATLAS_STATE")}
    for layer in (env, overrides):
        for key, value in layer.items():
            if value is None:
                continue
            if key.startswith("bridge_"):
                name = key[len("bridge_"):]
                value = getattr(_build(Bridge, {name: value}, "option"), name)
                config = replace(config, bridge=replace(config.bridge, **{name: value}))
            else:
                config = replace(config, **{key: _coerce(getattr(config, key), value, key)})
    # A bad URL is an error at start-up, before any command connects anywhere.
    config.state_address  # noqa: B018
    return config
