"""`python -m bench.scale`: see bench/scale/__init__.py and docs/performance.md."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

from bench.scale.cluster import REPO, Bench, cluster_down, cluster_up
from bench.scale.process import Variant
from bench.scale.report import Result, ratio_table, table
from bench.scale.run import Options, measure

DEFAULT_VARIANT = f"polling={sys.executable} -m rudder.controller --controllers release"


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    system = f"{platform.system()} {platform.release()}"
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.1f} GiB RAM, {system}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain") else "")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    p.add_argument("--releases", "-n", type=int, action="append", help="N Releases (repeatable; default 100)")
    p.add_argument("--variant", action="append", metavar="NAME=COMMAND",
                   help=f"a controller command line (repeatable; the first is the baseline of the ratios); "
                        f"default: {DEFAULT_VARIANT!r}")
    p.add_argument("--idle-window", type=float, default=60.0, help="seconds of idle measurement (default 60)")
    p.add_argument("--settle", type=float, default=10.0, help="seconds between all Ready and the idle window")
    p.add_argument("--ready-timeout", type=float, default=1800.0)
    p.add_argument("--cluster", default="bench", help="RUDDER_CLUSTER of the benchmark's own cluster")
    p.add_argument("--keep-cluster", action="store_true", help="leave the cluster running afterwards")
    p.add_argument("--out", type=Path, default=REPO / "out" / "bench", help="logs, kubeconfigs and results.json")
    args = p.parse_args(argv)
    try:
        variants = [Variant.parse(v) for v in args.variant or [DEFAULT_VARIANT]]
    except ValueError as err:
        p.error(str(err))
    if len({v.name for v in variants}) != len(variants):
        p.error("--variant names must differ")
    sizes = args.releases or [100]
    opts = Options(idle_window=args.idle_window, settle=args.settle, ready_timeout=args.ready_timeout,
                   out_dir=args.out)
    command = "python -m bench.scale " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))

    started = time.monotonic()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    kubeconfig = cluster_up(args.cluster)
    results: list[Result] = []
    try:
        bench = Bench.connect(kubeconfig)
        bench.install_crds()
        for n in sizes:
            for variant in variants:
                results.append(measure(bench, variant, n, opts=opts, log=lambda m: print(m, file=sys.stderr)))
    finally:
        if not args.keep_cluster:
            cluster_down(args.cluster)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=2))
    print(f"## Scale benchmark ({time.strftime('%Y-%m-%d', time.gmtime())}, commit {commit()})\n")
    print(f"- Machine: {machine()}")
    print("- Cluster: local control plane (deploy/local/cluster.sh, kwokctl binary runtime), 3 KWOK nodes")
    print("- Chart: one ConfigMap, one 1-replica Deployment, one headless Service per Release, all created at once")
    for v in variants:
        print(f"- Variant `{v.name}`: `{shlex.join(v.command)}`")
    print(f"- Idle window: {args.idle_window:.0f} s, {args.settle:.0f} s after all Ready")
    # The machine may be shared: its load says how far the figures are from an idle machine's.
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    print(f"- Load average (1/5/15 min) at start: {' '.join(load_before)}; at end: {' '.join(load_after)}")
    print(f"- Command: `{command}` (took {(time.monotonic() - started) / 60:.1f} min)\n")
    print(table(results))
    ratios = ratio_table(results)
    if ratios:
        print("\nRatios to the first variant (below 1 is better):\n")
        print(ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
