"""A pytest plugin, installed with atlas: ``async def`` tests run as they are written.

A skill's tests are coroutines (``async with SkillTester(...)``). pytest cannot run
a coroutine on its own, and pytest-asyncio runs one only when it is marked or when
the project sets ``asyncio_mode = auto``. This plugin runs, in a fresh event loop,
each ``async def`` test that no other plugin took: one pytest would otherwise
refuse ("async def functions are not natively supported"). Tests that pytest-asyncio
(in any mode), anyio or trio run are left to them, so a project that already runs
its async tests sees no change.

pytest loads it through the ``pytest11`` entry point; ``-p no:atlas`` turns it off.
"""

from __future__ import annotations

import asyncio
import inspect

import pytest

#: Markers through which another plugin claims a test: never run those here.
CLAIMED = ("asyncio", "anyio", "trio")


@pytest.hookimpl
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    # Not trylast: pytest's own hook, which refuses coroutines, is trylast and would
    # come first. pytest-asyncio needs no care: by the time this hook runs, it has put
    # a synchronous wrapper in place of every test it runs.
    function = pyfuncitem.obj
    if not inspect.iscoroutinefunction(function):
        return None
    if any(pyfuncitem.get_closest_marker(name) for name in CLAIMED) \
            or "anyio_backend" in pyfuncitem.funcargs:
        return None
    parameters = inspect.signature(function).parameters
    arguments = {name: pyfuncitem.funcargs[name] for name in parameters
                 if name in pyfuncitem.funcargs}
    asyncio.run(function(**arguments))
    return True
