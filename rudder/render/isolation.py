"""Each render runs in its own short-lived child process, bounded in CPU time, memory and result size.

The child is forked, sets `RLIMIT_CPU` and `RLIMIT_AS`, renders, and sends its result back through a pipe
(framed, with a size cap); the parent kills it at a wall-clock deadline. A template that exhausts its
child therefore fails its Release with a RenderError, and the controller survives.

Forking a threaded process is unsafe (kopf runs asyncio and a thread pool), so a threaded caller asks a
*worker host* instead: a single-threaded helper process (`python -m rudder.render.workerhost`), started on
first use and kept, that forks the child on its behalf. A single-threaded caller (the CLI) forks directly.
The child is a resource boundary, not a privilege boundary: it runs with the caller's identity.

Renders are pure functions of their inputs, so a failure is remembered for `MEMO_SECONDS` by a digest of
the inputs: a Release whose template burns its whole CPU budget costs it once, not on every resync.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pickle
import resource
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from rudder.render.errors import RenderError
from rudder.render.limits import MIB, RenderLimitExceeded, RenderLimits

# Renders in parallel in a threaded caller; more wait for a free host. Renders are CPU-bound, so hosts beyond
# the CPUs only cost memory (~30 MiB each); two at least, so one template spinning to its CPU limit never
# holds every other Release's render.
MAX_HOSTS = max(2, min(4, len(os.sched_getaffinity(0))))
MEMO_SECONDS = 600.0
MEMO_ENTRIES = 256
_HEADER = struct.Struct(">cI")
_REQUEST_LIMIT = 256 * MIB
_EXIT_CRASHED = 3

# What a job gets: its arguments, then `limits=` and `progress=` (called with each template's name).
Job = Callable[..., Any]


class _WorkerLost(Exception):
    """The worker host stopped answering (it is replaced)."""


# -- framing ----------------------------------------------------------------------------------------------


def _write_frame(stream: IO[bytes] | int, tag: bytes, payload: bytes) -> None:
    data = _HEADER.pack(tag, len(payload)) + payload
    if isinstance(stream, int):
        view = memoryview(data)
        while view:
            view = view[os.write(stream, view):]
    else:
        stream.write(data)
        stream.flush()


def _read_exact(fd: int, size: int, deadline: float) -> bytes | None:
    """`size` bytes from `fd`, None at end of file; TimeoutError past `deadline` (time.monotonic)."""
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        wait = None if deadline == math.inf else deadline - time.monotonic()
        if (wait is not None and wait <= 0) or not select.select([fd], [], [], wait)[0]:
            raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int, deadline: float, limit: int) -> tuple[bytes, bytes] | None:
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        return None
    tag, size = _HEADER.unpack(header)
    if size > limit:
        raise OverflowError(size)
    payload = _read_exact(fd, size, deadline)
    return None if payload is None else (tag, payload)


# -- the child --------------------------------------------------------------------------------------------


def _address_space_now() -> int | None:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _limit_resources(limits: RenderLimits) -> None:
    cpu = max(1, math.ceil(limits.cpu_seconds))
    # Soft limit: SIGXCPU, turned into RenderLimitExceeded at the running template line; hard: SIGKILL,
    # for a template stuck in one long C call.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 2))

    def on_cpu_limit(signum: int, frame: object) -> None:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu + 2, cpu + 2))  # no second SIGXCPU while unwinding
        raise RenderLimitExceeded(f"the render exceeded its CPU time limit of {limits.cpu_seconds:g} s")

    signal.signal(signal.SIGXCPU, on_cpu_limit)
    current = _address_space_now()
    if current is not None:  # the child starts as a copy of its parent: the budget comes on top
        with contextlib.suppress(ValueError, OSError):  # e.g. macOS, where RLIMIT_AS is not enforced
            resource.setrlimit(resource.RLIMIT_AS, (current + limits.memory_bytes, current + limits.memory_bytes))


def _child(write_fd: int, job: Job, args: tuple[Any, ...], limits: RenderLimits) -> None:
    """Run in the forked child; never returns."""
    code = 0
    try:
        _limit_resources(limits)

        def progress(name: str) -> None:
            _write_frame(write_fd, b"T", name.encode("utf-8", "replace")[:1024])

        result = job(*args, limits=limits, progress=progress)
        # Past this point the CPU limit must not interrupt the reply half-written (the hard limit stays).
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        payload = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        if len(payload) > limits.result_bytes:
            payload = pickle.dumps(RenderError(None, None, f"the rendered result is larger than "
                                               f"{limits.result_bytes // MIB} MiB"))
        _write_frame(write_fd, b"R", payload)
    except MemoryError:
        code = _EXIT_CRASHED + 1
    except BaseException:  # reported by exit status
        code = _EXIT_CRASHED
    finally:
        os._exit(code)


def _collect(pid: int, read_fd: int, limits: RenderLimits) -> tuple[bytes, bytes]:
    """Wait for the child's result: (b"R", pickled result) or (b"E"/b"W", pickled RenderError).

    `W` marks a wall-clock timeout, which depends on the machine's load and is not remembered.
    """
    deadline = time.monotonic() + limits.wall_seconds
    current: str | None = None
    frame: tuple[bytes, bytes] | None = None
    failure: RenderError | None = None
    tag = b"E"
    try:
        while True:
            frame = _read_frame(read_fd, deadline, limits.result_bytes)
            if frame is None or frame[0] == b"R":
                break
            current = frame[1].decode("utf-8", "replace")
    except TimeoutError:
        failure, tag = RenderError(current, None, f"the render took longer than {limits.wall_seconds:g} s"), b"W"
    except OverflowError:
        failure = RenderError(current, None, f"the rendered result is larger than {limits.result_bytes // MIB} MiB")
    finally:
        os.close(read_fd)
    if failure is not None or frame is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status, usage = os.wait4(pid, 0)
    if failure is None and frame is not None:
        return frame
    if failure is None:
        failure = RenderError(current, None, _death(status, usage, limits))
    return tag, pickle.dumps(failure)


def _death(status: int, usage: Any, limits: RenderLimits) -> str:
    cpu = usage.ru_utime + usage.ru_stime
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGKILL, signal.SIGXCPU) and cpu >= limits.cpu_seconds:
        return f"the render exceeded its CPU time limit of {limits.cpu_seconds:g} s"
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == _EXIT_CRASHED:
        return "the render worker failed unexpectedly"
    return f"the render exceeded its memory limit of {limits.memory_bytes // MIB} MiB"


def fork_and_collect(job: Job, args: tuple[Any, ...], limits: RenderLimits) -> tuple[bytes, bytes]:
    """Fork a child running `job(*args, limits=, progress=)`; only from a single-threaded process."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's coverage is not collected
        # Only stdio and the result pipe stay open: a render has no business with the caller's sockets,
        # files, or (in a worker host) the host's own request and reply pipes.
        os.closerange(3, write_fd)
        os.closerange(write_fd + 1, 1 << 16)
        _child(write_fd, job, args, limits)
    os.close(write_fd)
    return _collect(pid, read_fd, limits)


# -- the worker host --------------------------------------------------------------------------------------


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The worker host's loop: one request in, one forked render, one reply out, until stdin closes."""
    while True:
        frame = _read_frame(requests.fileno(), math.inf, _REQUEST_LIMIT)
        if frame is None:
            return
        job, args, limits = pickle.loads(frame[1])
        tag, payload = fork_and_collect(job, args, limits)
        _write_frame(replies, tag, payload)


class _Host:
    def __init__(self) -> None:
        root = str(Path(__file__).resolve().parents[2])  # so the host imports this same rudder package
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "rudder.render.workerhost"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True,
        )

    def ask(self, request: bytes, limits: RenderLimits) -> tuple[bytes, bytes]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            _write_frame(self.proc.stdin, b"Q", request)
            # The host's own deadline fires first; this one only catches a host that hangs or died.
            frame = _read_frame(self.proc.stdout.fileno(), time.monotonic() + limits.wall_seconds + 30,
                                limits.result_bytes)
        except (OSError, TimeoutError, OverflowError) as exc:
            raise _WorkerLost from exc
        if frame is None:
            raise _WorkerLost
        return frame

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


class _HostPool:
    def __init__(self) -> None:
        self._idle: list[_Host] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(MAX_HOSTS)

    def ask(self, request: bytes, limits: RenderLimits) -> tuple[bytes, bytes]:
        with self._slots:
            with self._lock:
                host = self._idle.pop() if self._idle else None
            if host is None or host.proc.poll() is not None:
                host = _Host()
            try:
                reply = host.ask(request, limits)
            except _WorkerLost:
                host.close()
                return b"W", pickle.dumps(RenderError(None, None, "the render worker stopped answering"))
            with self._lock:
                self._idle.append(host)
            return reply

    def warm_up(self, count: int) -> None:
        with self._lock:
            while len(self._idle) < count:
                self._idle.append(_Host())


_pool = _HostPool()
_memo: OrderedDict[str, tuple[float, RenderError]] = OrderedDict()
_memo_lock = threading.Lock()


def start_workers(count: int = 1) -> None:
    """Start `count` worker hosts now (the controller, before its threads), not on the first render; the
    others start when renders overlap, up to MAX_HOSTS."""
    _pool.warm_up(min(count, MAX_HOSTS))


def _remembered(key: str) -> RenderError | None:
    with _memo_lock:
        hit = _memo.get(key)
        if hit is None or hit[0] < time.monotonic():
            _memo.pop(key, None)
            return None
        return hit[1]


def _remember(key: str, error: RenderError) -> None:
    with _memo_lock:
        _memo[key] = (time.monotonic() + MEMO_SECONDS, error)
        while len(_memo) > MEMO_ENTRIES:
            _memo.popitem(last=False)


def run_isolated(job: Job, args: tuple[Any, ...], limits: RenderLimits) -> Any:
    """`job(*args, limits=limits, progress=...)` in a bounded child: its result, or a RenderError."""
    request = pickle.dumps((job, args, limits), protocol=pickle.HIGHEST_PROTOCOL)
    key = hashlib.sha256(request).hexdigest()
    remembered = _remembered(key)
    if remembered is not None:
        return remembered
    if threading.active_count() == 1:
        tag, payload = fork_and_collect(job, args, limits)
    else:
        tag, payload = _pool.ask(request, limits)
    result = pickle.loads(payload)
    if isinstance(result, RenderError) and tag != b"W":
        _remember(key, result)
    return result
