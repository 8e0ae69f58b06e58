"""Cost of one `render_release` of the web-app example chart, in this process or through the bounded worker.

    python -m bench.render.overhead [--renders 200] [--threaded]

Prints the median and mean wall time per render and the CPU time per render of this process, its children
and the worker hosts (wall time is noisy on a shared machine; CPU time is the comparable figure). `--threaded`
starts an idle thread first, so renders go through the worker host as in the controller; otherwise (a
single-threaded caller, like the CLI) each render forks its child directly. Runs against whichever
`rudder` is first on PYTHONPATH, so the same command measures any commit.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import threading
import time
from pathlib import Path

from rudder.models import parse_release_spec
from rudder.render import (
    ReleaseInfo,
    RenderError,
    chart_from_directory_files,
    chart_to_inline_spec,
    read_chart_directory,
    render_release,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "web-app"


def _host_cpu() -> float:
    """CPU seconds of the worker hosts and their finished children (0 before the worker existed)."""
    try:
        from rudder.render import isolation  # noqa: PLC0415 - absent in commits before the worker
    except ImportError:
        return 0.0
    total = 0.0
    for host in isolation._pool._idle:
        fields = Path(f"/proc/{host.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    return total


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime + _host_cpu()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--threaded", action="store_true")
    args = parser.parse_args()
    chart = chart_from_directory_files(read_chart_directory(EXAMPLE))
    assert not isinstance(chart, RenderError), chart
    spec = parse_release_spec({"chart": chart_to_inline_spec(chart), "values": {"replicas": 2}})
    stop = threading.Event()
    if args.threaded:
        threading.Thread(target=stop.wait, daemon=True).start()
    render_release(spec, ReleaseInfo("web", "prod", 1))  # warm-up: imports, worker host start
    walls = []
    cpu_start = _cpu()
    for i in range(args.renders):
        start = time.perf_counter()
        result = render_release(spec, ReleaseInfo("web", "prod", i + 2))
        walls.append(time.perf_counter() - start)
        assert not isinstance(result, RenderError), result
    cpu = (_cpu() - cpu_start) / args.renders
    stop.set()
    print(f"renders={args.renders} threaded={args.threaded} median={statistics.median(walls) * 1000:.2f} ms "
          f"mean={statistics.mean(walls) * 1000:.2f} ms cpu={cpu * 1000:.2f} ms (caller, children, worker hosts)")


if __name__ == "__main__":
    main()
