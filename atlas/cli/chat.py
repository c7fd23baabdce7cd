"""``atlas chat``: a terminal channel — type, and see shows, asks and choices."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import click

from ..channel import Channel, ChannelError
from ..protocol import (
    ChannelAsk,
    ChannelDestroyed,
    ChannelTerminate,
    DialogParse,
    ProtocolError,
)
from ..transport import Session
from .common import BadUsage, Failure, broker_address, config_option, connected, load_config
from .render import choice_answer, context_of, message_lines, prompt


class LineReader:
    """Lines from stdin, read in a daemon thread so a pending read never holds the exit.

    The thread reads the file descriptor itself: a daemon thread blocked inside
    ``input()`` on a pipe holds stdin's buffer lock, and the interpreter aborts when
    it finalizes stdin at exit.
    """

    def __init__(self, fd: int = 0) -> None:
        self._loop = asyncio.get_running_loop()
        self._fd = fd
        self._requests: queue.Queue[tuple[str, asyncio.Future[str | None]]] = queue.Queue()
        #: The prompt on screen while a line is awaited, else ``None``.
        self.showing: str | None = None
        threading.Thread(target=self._run, daemon=True, name="chat-input").start()

    async def read(self, text: str) -> str | None:
        """A line typed by the user after the prompt ``text``; ``None`` at end of input."""
        future: asyncio.Future[str | None] = self._loop.create_future()
        self._requests.put((text, future))
        return await future

    def _run(self) -> None:
        pending = b""
        while True:
            text, future = self._requests.get()
            try:
                result, pending = self._line(text, pending)
            except OSError:  # the terminal or the pipe went away: as good as Ctrl-D
                result = None
            self._loop.call_soon_threadsafe(_resolve, future, result)

    def _line(self, text: str, pending: bytes) -> tuple[str | None, bytes]:
        sys.stdout.write(text)
        sys.stdout.flush()
        self.showing = text
        try:
            while b"\n" not in pending:
                chunk = os.read(self._fd, 4096)
                if not chunk:
                    break
                pending += chunk
        finally:
            self.showing = None
        line, newline, pending = pending.partition(b"\n")
        if not line and not newline:
            return None, pending
        return line.decode(errors="replace").rstrip("\r"), pending


#: Seconds one channel/create waits for its answer before it is sent again.
CREATE_ATTEMPT = 3.0
#: Default of ``--wait``: how long chat waits for a daemon that is still starting.
WAIT = 300.0


@contextlib.asynccontextmanager
async def open_channel(session: Session, sid: str, uid: str, wait: float,
                       say: Callable[[str], None]) -> AsyncIterator[Channel]:
    """A channel, asking again until the daemon answers (it may still be starting):
    "waiting for the assistant…" once, then a clear error after ``wait`` seconds."""
    deadline = time.monotonic() + wait
    waiting = False
    while True:
        attempt = max(0.1, min(CREATE_ATTEMPT, deadline - time.monotonic()))
        began = time.monotonic()
        try:
            channel = Channel(session, sid, uid, create_timeout=attempt)
            await channel.__aenter__()
            break
        except ChannelError as error:
            if time.monotonic() - began < attempt:
                raise Failure(str(error)) from None  # not silence: the connection ended
            if time.monotonic() >= deadline:
                raise Failure(f"the assistant did not answer within {wait:.0f} s: is `atlas up` "
                              "(or `atlas daemon`) running on this broker?") from None
            if not waiting:
                say("waiting for the assistant…")
                waiting = True
    try:
        yield channel
    finally:
        await channel.__aexit__(None, None, None)


def _resolve(future: asyncio.Future[str | None], line: str | None) -> None:
    if not future.done():
        future.set_result(line)


def _write(text: str) -> None:
    click.echo(text, nl=False)


async def converse(channel: Channel, reader: LineReader,
                   out: Callable[[str], None] = click.echo,
                   write: Callable[[str], None] = _write) -> None:
    """Prompt, send, show the answer; the next prompt comes when the turn ends.

    What arrives while the prompt waits (a notification) goes on its own lines,
    and the prompt is shown again under it.
    """
    context: str | None = None
    choices: tuple[str, ...] | None = None
    turn_over = asyncio.Event()
    turn_over.set()

    async def show() -> None:
        nonlocal context, choices
        async for message in channel:
            lines = message_lines(message)
            waiting = reader.showing
            if waiting is not None and lines:
                out("")     # off the prompt's line
            for line in lines:
                out(line)
            if waiting is not None and lines:
                write(waiting)
            context = context_of(message, context)
            if isinstance(message, ChannelAsk):
                choices = message.choices
                turn_over.set()
            elif isinstance(message, ChannelTerminate):
                choices = None
                turn_over.set()
            elif isinstance(message, ChannelDestroyed):
                out("(atlas closed this channel)")
                return

    printer = asyncio.create_task(show())
    try:
        while not printer.done():
            waiting = asyncio.create_task(turn_over.wait())
            await asyncio.wait({waiting, printer}, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if printer.done():
                break
            line = await reader.read(prompt(context))
            if line is None:
                out("")
                break
            text = choice_answer(line, choices)
            if not text:
                continue
            try:
                DialogParse.from_payload({"sid": channel.sid}, text.encode())
            except ProtocolError as error:
                out(f"(not sent: {error})")
                continue
            turn_over.clear()
            await channel.say(text)
    finally:
        printer.cancel()
        await asyncio.gather(printer, return_exceptions=True)
    failure = printer.exception() if printer.done() and not printer.cancelled() else None
    if isinstance(failure, BrokenPipeError):
        raise failure
    if failure is not None:
        raise Failure(str(failure))


@click.command()
@click.option("--uid", default=getpass.getuser, show_default="your login name",
              help="Who is speaking (see atlas users).")
@click.option("--sid", help="Channel id (default: a new one); reuse one to resume.")
@click.option("--broker", help="Broker URL (default: ATLAS_BROKER, then the configuration).")
@click.option("--wait", type=click.FloatRange(0), default=WAIT, show_default=True,
              help="Seconds to wait for an assistant that is still starting.")
@config_option
def chat(uid: str, sid: str | None, broker: str | None, wait: float,
         config_path: Path | None) -> None:
    """Talk to atlas from the terminal. Ctrl-D or Ctrl-C to quit."""
    config = load_config(config_path, broker=broker)
    address = broker_address(config.broker_url)
    sid = sid or f"chat-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        async with connected(address, "atlas-chat") as client:
            try:
                async with open_channel(client, sid, uid, wait, _say) as channel:
                    click.echo(f"connected as {uid} ({channel.lang}) on channel {sid}; "
                               "Ctrl-D to quit", err=True)
                    await converse(channel, LineReader())
            except ChannelError as error:
                raise Failure(str(error)) from None
            except ValueError as error:  # a bad uid or sid
                raise BadUsage(str(error)) from None

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        # asyncio.run cancelled main(), so the channel was destroyed on the way out.
        click.echo("", err=True)
    except BrokenPipeError:
        # The reader went away (`atlas chat | head`): stop quietly, like any filter,
        # and keep Python's final flush of stdout from complaining.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)


def _say(text: str) -> None:
    click.echo(text, err=True)
