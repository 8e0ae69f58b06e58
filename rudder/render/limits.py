"""Bounds on one render: CPU time, memory, output size, and the sizes a template expression may build.

A chart is tenant input, so every render runs inside these bounds (see `rudder.render.isolation` for the
worker process that enforces CPU time and memory, and `rudder.render.environment` for the checks on
operators, methods and filters that refuse oversized strings before they are built).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class RenderLimits:
    """What one render of one Release may spend.

    `cpu_seconds` and `memory_bytes` are enforced with rlimits on the worker process (`isolate`; without it
    only the in-template checks apply, which is for tests of the renderer itself); `output_bytes` bounds the
    rendered text of the whole chart; `max_string` the characters (and `max_items` the list items) one
    expression may produce; `max_int_bits` the size of an integer computed by `*` or `**`.
    """

    cpu_seconds: float = 10.0
    memory_bytes: int = 512 * MIB
    output_bytes: int = 16 * MIB
    max_string: int = 4 * MIB
    max_items: int = 1_000_000
    max_int_bits: int = 65_536
    isolate: bool = True
    wall_clock: float | None = None  # None: derived from cpu_seconds

    @property
    def wall_seconds(self) -> float:
        """The wall-clock bound: far over the CPU bound, since a busy or throttled node shares its cores (on
        the 2-core test machine at load 10, 10 s of CPU took over 40 s); it only catches a child that waits."""
        return self.wall_clock if self.wall_clock is not None else self.cpu_seconds * 6 + 30

    @property
    def result_bytes(self) -> int:
        """The largest pickled result a worker may send back (objects, notes, chart and values)."""
        return self.output_bytes * 4 + 64 * MIB

    def describe(self) -> str:
        """`10 s CPU, 512 MiB memory, 16 MiB output`, for messages and logs."""
        memory, output = self.memory_bytes // MIB, self.output_bytes // MIB
        return f"{self.cpu_seconds:g} s CPU, {memory} MiB memory, {output} MiB output"


class RenderLimitError(Exception):
    """A template expression would build something past the bounds (`"x" * 10**9`); raised before it is
    built, at the template line, which the renderer reports."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RenderLimitExceeded(BaseException):
    """The worker's CPU time ran out (SIGXCPU) or the output grew past its bound while rendering.

    A BaseException, so that no `except Exception` inside Jinja2 or a filter can swallow it; the renderer
    catches it and reports the template and line that were running.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# Environment variables that set the defaults of both the controller's flags and the CLI.
ENV_CPU, ENV_MEMORY, ENV_OUTPUT = "RUDDER_RENDER_TIMEOUT", "RUDDER_RENDER_MEMORY_MIB", "RUDDER_RENDER_OUTPUT_MIB"


def limits_from_environment(environ: Mapping[str, str]) -> RenderLimits:
    """The default limits, with RUDDER_RENDER_TIMEOUT (CPU seconds), RUDDER_RENDER_MEMORY_MIB and
    RUDDER_RENDER_OUTPUT_MIB applied when set; raise ValueError naming a variable that is not a positive
    number."""
    base = RenderLimits()
    cpu = _positive(environ, ENV_CPU, base.cpu_seconds)
    memory = _positive(environ, ENV_MEMORY, base.memory_bytes / MIB)
    output = _positive(environ, ENV_OUTPUT, base.output_bytes / MIB)
    return RenderLimits(cpu_seconds=cpu, memory_bytes=int(memory * MIB), output_bytes=int(output * MIB))


def _positive(environ: Mapping[str, str], name: str, default: float) -> float:
    text = environ.get(name)
    if text is None or not text.strip():
        return default
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name}: not a number") from None
    if not (0 < value < 1e6):
        raise ValueError(f"{name}: must be a positive number below 1000000")
    return value


_default = RenderLimits()


def default_limits() -> RenderLimits:
    """The limits a render uses when none are passed (the controller sets them from its flags)."""
    return _default


def set_default_limits(limits: RenderLimits) -> None:
    """Set the process-wide default limits (once, at start-up: the controller's flags, the CLI's env)."""
    global _default  # noqa: PLW0603 - one process-wide setting, written once at start-up
    _default = limits
