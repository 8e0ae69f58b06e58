"""Progress on long waits: one redrawn line with a spinner and the elapsed time on a terminal, plain
timestamped lines (only when something changed) otherwise, so CI logs stay readable.

Progress goes to stderr, so that `-o json` on stdout stays parseable while a person still sees it move.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TextIO, TypeVar

from rudder.cli.output import format_duration

T = TypeVar("T")

_SPINNER = "|/-\\"


@dataclass
class Progress:
    """Shows a changing one-line state. `interactive` defaults to whether the stream is a terminal."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    interactive: bool | None = None
    quiet: bool = False
    clock: Callable[[], float] = time.monotonic
    _started: float | None = None
    _last: str = ""
    _frame: int = 0
    _width: int = 0

    def __post_init__(self) -> None:
        if self.interactive is None:
            isatty = getattr(self.stream, "isatty", None)
            self.interactive = bool(isatty and isatty())

    def update(self, text: str) -> None:
        """Show `text` as the current state."""
        if self.quiet:
            return
        now = self.clock()
        if self._started is None:
            self._started = now
        if self.interactive:
            self._frame += 1
            elapsed = format_duration(now - self._started)
            line = f"{_SPINNER[self._frame % len(_SPINNER)]} {text} [{elapsed}]"
            # Pad over the previous line's tail instead of relying on terminal escape codes.
            self.stream.write("\r" + line.ljust(self._width))
            self._width = len(line)
        elif text != self._last:
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            self.stream.write(f"{stamp} {text}\n")
        self._last = text
        self.stream.flush()

    def done(self) -> None:
        """Leave the terminal on a clean line."""
        if self.interactive and self._width and not self.quiet:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
        self._width = 0


@dataclass(frozen=True)
class Waiting:
    """Not there yet; `text` says what is awaited."""

    text: str


@dataclass(frozen=True)
class Finished(Generic[T]):
    """A final outcome."""

    value: T


def poll(
    check: Callable[[], Waiting | Finished[T]],
    *,
    timeout: float | None,
    interval: float,
    progress: Progress,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Finished[T] | Waiting:
    """Call `check` every `interval` seconds until it is Finished or `timeout` passes (None: never).

    Returns the Finished outcome, or the last Waiting state when the time is up.
    """
    deadline = None if timeout is None else clock() + timeout
    try:
        while True:
            state = check()
            if isinstance(state, Finished):
                return state
            progress.update(state.text)
            if deadline is not None and clock() >= deadline:
                return state
            pause = interval if deadline is None else max(0.0, min(interval, deadline - clock()))
            sleep(pause)
    finally:
        progress.done()
