"""The pytlas host: runs one pytlas skill, unchanged, inside pytlas's own environment.

This file is executed by the Python of the pytlas virtual environment
(``python host.py SKILL_PATH``), where atlas itself is not installed: it imports
nothing from atlas and only the standard library at module level. It talks to its
parent (:mod:`atlas.pytlas.bridge`, an ordinary atlas SDK skill) in JSON lines on
stdin/stdout; stdout carries nothing else (the skill's prints go to stderr).

The real ``pytlas.Agent`` runs the skill: one agent per sid, so ``req.agent``,
its ``meta`` and ``settings``, contexts, asks and the hooks behave as pytlas's
own. The agent's model turns what the handler does into messages for the parent.

Messages, parent → host (``kind``):

- ``intent``: handle (or resume after an ask) ``intent`` for ``cid`` on ``sid``,
  with ``lang``, ``env`` (the user's settings), ``slots`` (``{name: [{value, raw,
  entity}]}``), ``choice`` and ``text``;
- ``created`` / ``destroyed``: a channel ``sid`` came or went (the hooks).

Host → parent: ``declare`` once at start-up (name, version, author, description,
env, intents, training per language as chatl text, translations); then per
conversation ``answer`` (text, cards, meta), ``ask`` (slot, text, choices, meta),
``context`` (name), ``done`` (require_input) and ``error`` (traceback), each
with the ``cid`` it belongs to.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib
import json
import logging
import os
import queue
import re
import signal
import sys
import threading
import traceback
import warnings
from pathlib import Path
from typing import Any

#: The pytlas release this host is written and tested against.
PYTLAS_VERSION = "5.1.3"

# Message kinds of the JSON-lines link (shared with the parent, which imports them).
DECLARE, INTENT, CREATED, DESTROYED = "declare", "intent", "created", "destroyed"
ANSWER, ASK, CONTEXT, DONE, ERROR = "answer", "ask", "context", "done", "error"

FALLBACK = "__fallback__"
ASLEEP, ASKING = "__asleep__", "__ask__"

log = logging.getLogger("atlas.pytlas.host")


def shim() -> None:
    """The smallest change that lets pytlas 5.1.3 import on Python 3.10+.

    Its dependency pychatl 2.0.4 does ``from collections import Mapping``, an alias
    Python 3.10 removed; restoring that one alias is enough. fuzzywuzzy warns that
    python-Levenshtein is missing at import: harmless, and silenced.
    """
    for name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    warnings.filterwarnings("ignore", message=".*python-Levenshtein.*")


class Link:
    """The JSON-lines pipe to the parent; handlers' threads may write too."""

    def __init__(self, out: Any) -> None:
        self._out = out
        self._lock = threading.Lock()

    def send(self, kind: str, **data: Any) -> None:
        line = json.dumps({"kind": kind, **data}, ensure_ascii=False, default=str)
        with self._lock:
            self._out.write(line + "\n")
            self._out.flush()


def import_skill(path: Path) -> str:
    """Import the skill as pytlas does (its folder's name is its package); returns it.

    A folder with an ``__init__.py`` is imported as a package. Many public pytlas
    skills are a folder of modules instead (``skill.py``, ``help.py``, tests beside
    them): each top-level module that imports pytlas is imported, tests excepted,
    as a module of the folder's package.
    """
    path = path.resolve()
    parent, name = path.parent, (path.name if path.is_dir() else path.stem)
    sys.path.insert(0, str(parent))
    if not path.is_dir() or (path / "__init__.py").is_file():
        importlib.import_module(name)
        return name
    sys.path.append(str(path))      # for skills that import their siblings absolutely
    for file in sorted(path.glob("*.py")):
        if _is_test(file.stem) or not _IMPORTS_PYTLAS.search(file.read_text(errors="replace")):
            continue
        importlib.import_module(f"{name}.{file.stem}")
    return name


_IMPORTS_PYTLAS = re.compile(r"^\s*(?:from\s+pytlas[\s.]|import\s+pytlas\b)", re.MULTILINE)


def _is_test(stem: str) -> bool:
    return stem.startswith("test") or stem.endswith("_test") or stem in ("setup", "conftest")


def declaration(package: str) -> dict[str, Any]:
    """What the skill registered in pytlas's global stores."""
    from pytlas.handling.localization import GLOBAL_TRANSLATIONS
    from pytlas.handling.skill import GLOBAL_HANDLERS, GLOBAL_METAS
    from pytlas.settings import to_env_key
    from pytlas.understanding.training import GLOBAL_TRAININGS

    trainings: dict[str, list[str]] = {}
    for langs in GLOBAL_TRAININGS._data.values():
        for lang, func in langs.items():
            data = func()
            if data:
                trainings.setdefault(lang, []).append(str(data))
    translations: dict[str, dict[str, str]] = {}
    for langs in GLOBAL_TRANSLATIONS._data.values():
        for lang, func in langs.items():
            translations.setdefault(lang, {}).update(func() or {})
    langs = sorted(set(trainings) | set(translations)) or ["en"]

    def meta_in(lang: str) -> Any:
        return GLOBAL_METAS.get(package, lang) or next(iter(GLOBAL_METAS.all(lang)), None)

    lang = "en" if "en" in langs else langs[0]
    meta = meta_in(lang)
    # @meta receives a translating function: its description in each language.
    descriptions = {each: described.description for each in langs
                    if (described := meta_in(each)) is not None and described.description}
    env: dict[str, str] = {}
    if meta is not None:
        for setting in meta.settings:
            kind = getattr(setting.type, "__name__", "str")
            env[to_env_key(setting.section, setting.name)] = "string" if kind == "str" else kind
    return {
        "name": (meta.name if meta is not None and meta.name else package),
        "version": meta.version if meta is not None else "",
        "author": meta.author if meta is not None else "",
        "description": meta.description if meta is not None else "",
        "descriptions": descriptions,
        "env": env,
        "intents": sorted(GLOBAL_HANDLERS._data),
        "training": {lang: "\n".join(parts) for lang, parts in trainings.items()},
        "translations": translations,
    }


def slot_value(item: Any) -> Any:
    """A pytlas SlotValue from atlas's rich form, with pytlas's Python types."""
    from pytlas.understanding.slot import SlotValue

    if not isinstance(item, dict):
        return SlotValue(item)
    value, entity = item.get("value"), item.get("entity")
    try:
        if entity == "snips/datetime" and isinstance(value, str):
            from dateutil.parser import isoparse

            value = isoparse(value)
        elif entity == "snips/duration" and isinstance(value, int | float):
            from dateutil.relativedelta import relativedelta

            value = relativedelta(seconds=int(value)).normalized()
    except (ValueError, OverflowError):
        pass  # keep atlas's value rather than lose it
    meta = {k: v for k, v in item.items() if k != "value"}
    return SlotValue(value, **meta)


def card_dict(card: Any) -> dict[str, Any]:
    """A pytlas Card in the pytlas-server format (empty fields left out)."""
    if isinstance(card, dict):
        return card
    keys = ("header", "subhead", "text", "media", "header_link")
    return {k: getattr(card, k) for k in keys if getattr(card, k, None)}


class Model:
    """The pytlas agent's model for one sid: what the agent does goes to the parent."""

    def __init__(self, link: Link, sid: str) -> None:
        self.link = link
        self.sid = sid
        self.cid: str | None = None
        self.agent: Any = None

    def on_answer(self, text: str, cards: Any, **meta: Any) -> None:
        if self.cid is None:
            return
        meta.pop("raw_text", None)
        self.link.send(ANSWER, cid=self.cid, text=text or "",
                       cards=[card_dict(c) for c in cards or []], meta=meta)

    def on_ask(self, slot: str, text: str, choices: Any, **meta: Any) -> None:
        if self.cid is None:
            return
        meta.pop("raw_text", None)
        self.link.send(ASK, cid=self.cid, slot=slot, text=text or "",
                       choices=list(choices) if choices else None, meta=meta)

    def on_context(self, name: str | None) -> None:
        if self.cid is not None:
            self.link.send(CONTEXT, cid=self.cid, name=name)

    def on_done(self, require_input: bool) -> None:
        # pytlas calls on_done(True) at the start of ask() as well: only the agent
        # falling back asleep ends the conversation.
        if self.cid is None or self.agent is None or self.agent.state != ASLEEP:
            return
        cid, self.cid = self.cid, None
        self.link.send(DONE, cid=cid, require_input=bool(require_input))

    def on_thinking(self) -> None:
        pass


class Host:
    """One pytlas agent per sid, fed with the parent's requests."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.models: dict[str, Model] = {}

    def agent_for(self, sid: str, lang: str) -> tuple[Any, Model]:
        # pytlas keys translations and training by language ("fr"), not by region.
        lang = lang.replace("-", "_").split("_")[0].lower() or "en"
        model = self.models.get(sid)
        if model is not None and model.agent is not None and model.agent.lang == lang:
            return model.agent, model
        if model is not None:
            self.forget(sid)    # the user's language changed: pytlas agents have one
        from pytlas import Agent

        model = Model(self.link, sid)
        self.models[sid] = model
        model.agent = Agent(null_interpreter(lang), model=model)
        return model.agent, model

    def forget(self, sid: str) -> None:
        model = self.models.pop(sid, None)
        if model is None or model.agent is None:
            return
        # Agent.__del__ triggers on_agent_destroyed; the state machine holds
        # cycles, so collect now for the hook to run when the channel goes.
        import gc

        model.cid, model.agent = None, None
        gc.collect()

    def handle(self, message: dict[str, Any]) -> None:
        kind = message.get("kind")
        if kind == INTENT:
            self.intent(message)
        elif kind == CREATED:
            self.agent_for(str(message["sid"]), str(message.get("lang") or "en"))
        elif kind == DESTROYED:
            self.forget(str(message["sid"]))

    def intent(self, message: dict[str, Any]) -> None:
        from pytlas.understanding.intent import Intent

        sid, cid, name = str(message["sid"]), str(message["cid"]), str(message["intent"])
        agent, model = self.agent_for(sid, str(message.get("lang") or "en"))
        # Settings read the user's values first (agent.settings shares agent.meta),
        # then the environment, then the skill's defaults: pytlas's own order.
        for key, value in (message.get("env") or {}).items():
            if value is None:
                agent.meta.pop(key, None)   # unset: the environment or default applies
            else:
                agent.meta[key] = value if isinstance(value, str) else json.dumps(value)
        slots = {slot: [slot_value(v) for v in values]
                 for slot, values in (message.get("slots") or {}).items()}
        request = agent._request
        if model.cid == cid and agent.state == ASKING and request is not None:
            asked = agent._asked_slot
            values = slots.get(asked) or ([message["choice"]] if message.get("choice") else [])
            request.intent.update_slots(**{asked: values})
            agent.go(request.intent.name, intent=request.intent)
            return
        if agent.state != ASLEEP:
            self.reset(agent, model)    # a conversation atlas ended without telling us
        # atlas tracks the context (a cancel leaves it without the skill knowing);
        # the agent's state machine checks it, and picks a builtin intent's handler
        # by it: set it from the intent atlas chose, silently.
        agent.current_context = name.rsplit("/", 1)[0] if "/" in name else None
        intent = Intent(name)
        intent.update_slots(**slots)
        if name == FALLBACK or name.endswith("/" + FALLBACK):
            intent.update_slots(text=message.get("text") or "")
        model.cid = cid
        agent.queue_intent(intent)

    def reset(self, agent: Any, model: Model) -> None:
        """Put an agent left mid-conversation back to sleep.

        The conversation it was in is told done, so that its forwarder in the
        parent stops waiting (atlas dismisses the stale terminate).
        """
        if model.cid is not None:
            self.link.send(DONE, cid=model.cid, require_input=False)
        model.cid = None
        agent._machine.set_state(ASLEEP, model=agent)
        agent.end_conversation()


def null_interpreter(lang: str) -> Any:
    """A pytlas interpreter that understands nothing: atlas understands for it.

    The agent only needs its language and intents (for its state machine).
    """
    from pytlas.handling.skill import GLOBAL_HANDLERS
    from pytlas.understanding.interpreter import Interpreter as Base

    interpreter = Base("atlas", lang)
    interpreter.intents = sorted(GLOBAL_HANDLERS._data)
    return interpreter


def guard_handlers(link: Link, host: Host) -> None:
    """Wrap every handler so that a raise ends its conversation with ``error``.

    pytlas would log the exception's message only and carry on; atlas wants the
    traceback and the conversation ended with the reason ``error``.
    """
    import functools

    from pytlas.handling.skill import GLOBAL_HANDLERS

    def guarded(handler: Any) -> Any:
        @functools.wraps(handler)
        def run(request: Any) -> Any:
            try:
                return handler(request)
            except Exception:
                agent = request.agent.unwrap()
                model = agent.model
                if isinstance(model, Model) and model.cid is not None:
                    link.send(ERROR, cid=model.cid, traceback=traceback.format_exc())
                    model.cid = None
                    host.reset(agent, model)
                return None
        return run

    for intent, handler in list(GLOBAL_HANDLERS._data.items()):
        GLOBAL_HANDLERS._data[intent] = guarded(handler)


def check() -> int:
    """``host.py --check``: pytlas imports, at the expected version."""
    shim()
    import pytlas

    if pytlas.__version__ != PYTLAS_VERSION:
        print(f"pytlas {pytlas.__version__} found, {PYTLAS_VERSION} expected", file=sys.stderr)
        return 1
    print(f"pytlas {pytlas.__version__}")
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["--check"]:
        return check()
    if len(argv) != 2:
        print("usage: host.py SKILL_PATH | --check", file=sys.stderr)
        return 2
    # stdout is the link: anything the skill prints goes to stderr instead.
    # The parent stops the host (closing stdin, or SIGTERM); a Ctrl-C in the terminal
    # reaches both, and is the parent's to handle.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    link = Link(os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8"))
    sys.stdout = sys.stderr
    logging.basicConfig(level=os.environ.get("ATLAS_PYTLAS_LOG", "WARNING"),
                        format="%(levelname)s %(name)s: %(message)s")
    shim()
    package = import_skill(Path(argv[1]))
    host = Host(link)
    guard_handlers(link, host)
    link.send(DECLARE, **declaration(package))
    lanes = Lanes(host)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            lanes.put(json.loads(line))
        except Exception:
            log.exception("could not handle a message from atlas")
    lanes.close()
    return 0


class Lanes:
    """One thread per sid, so that a slow handler (a web API) holds up its own
    channel only; a sid's messages are handled in order. Lanes idle for a while end.
    """

    IDLE = 60.0

    def __init__(self, host: Host) -> None:
        self.host = host
        self._lanes: dict[str, queue.Queue[dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def put(self, message: dict[str, Any]) -> None:
        sid = str(message.get("sid"))
        with self._lock:
            lane = self._lanes.get(sid)
            if lane is None:
                lane = self._lanes[sid] = queue.Queue()
                thread = threading.Thread(target=self._run, args=(sid, lane), daemon=True,
                                          name=f"pytlas-{sid}")
                self._threads = [t for t in self._threads if t.is_alive()] + [thread]
                thread.start()
            lane.put(message)

    def _run(self, sid: str, lane: queue.Queue[dict[str, Any] | None]) -> None:
        while True:
            try:
                message = lane.get(timeout=self.IDLE)
            except queue.Empty:
                with self._lock:
                    if lane.empty():
                        del self._lanes[sid]
                        return
                continue
            if message is None:
                return
            try:
                self.host.handle(message)
            except Exception:
                log.exception("could not handle a message from atlas")

    def close(self) -> None:
        with self._lock:
            for lane in self._lanes.values():
                lane.put(None)
            threads = list(self._threads)
        for thread in threads:
            thread.join(5)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
