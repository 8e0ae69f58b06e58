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

from bench.scale.canary import CanaryOptions, measure_canaries
from bench.scale.cluster import REPO, Bench, cluster_down, cluster_up
from bench.scale.looks import CanaryResult, canary_ratio_table, canary_table
from bench.scale.process import Variant
from bench.scale.refs import DEFAULT_REFS, check_imports_from, resolve
from bench.scale.report import Result, ratio_table, reaction_table, table
from bench.scale.run import Options, measure

SIZES = [100, 500, 1000, 2000]
# --quick: a smoke run of every phase in a few minutes.
QUICK = {"releases": [20], "canaries": 3, "canary_releases": 20, "idle_window": 15.0, "settle": 3.0,
         "canary_step": 20.0}


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


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    p.add_argument("--releases", "-n", type=int, action="append", metavar="N",
                   help=f"N Releases (repeatable; default {' '.join(map(str, SIZES))}; 0: no Release scenario)")
    p.add_argument("--ref", action="append", metavar="NAME=GITREF",
                   help="run the controller of this commit (NAME=WORKTREE: the working tree); repeatable, the first "
                        f"is the baseline of the ratios; default: {' '.join(DEFAULT_REFS)}")
    p.add_argument("--variant", action="append", metavar="NAME=COMMAND", default=[],
                   help="a controller command line, run after the --ref variants (repeatable)")
    p.add_argument("--canaries", type=int, default=200, help="concurrent CanaryReleases (default 200; 0: none)")
    p.add_argument("--canary-releases", type=int, default=1000, help="Releases under the canaries (default 1000)")
    p.add_argument("--canary-interval", type=float, default=10.0, help="seconds between analysis looks")
    p.add_argument("--canary-step", type=float, default=60.0, help="seconds of each of the 3 weight steps")
    p.add_argument("--canary-rps", type=float, default=20.0, help="simulated requests/s per canaried Service")
    p.add_argument("--quick", action="store_true",
                   help="smoke run: N=20, 3 canaries on 20 Releases, 15 s idle window, 20 s steps")
    p.add_argument("--idle-window", type=float, default=60.0, help="seconds of idle measurement (default 60)")
    p.add_argument("--reactions", type=int, default=10, metavar="K",
                   help="Releases whose pod unready / hand edit reaction times are measured after the idle window")
    p.add_argument("--settle", type=float, default=10.0, help="seconds between all Ready and the idle window")
    p.add_argument("--ready-timeout", type=float, default=1800.0)
    p.add_argument("--uninstall-timeout", type=float, default=1800.0)
    p.add_argument("--cluster", default="bench", help="RUDDER_CLUSTER of the benchmark's own cluster")
    p.add_argument("--keep-cluster", action="store_true", help="leave the cluster running afterwards")
    p.add_argument("--kubeconfig", help="use this running cluster instead (nothing is started or stopped; CRDs "
                                        "are only created when missing; the bench's identities are removed at the end)")
    p.add_argument("--out", type=Path, default=REPO / "out" / "bench", help="logs, kubeconfigs and results.json")
    args = p.parse_args(argv)
    args.out = args.out.resolve()  # controllers of other trees run from their own directory
    if args.quick:
        for key, value in QUICK.items():
            if key == "releases" and args.releases:
                continue
            setattr(args, key, value)
    args.releases = SIZES if args.releases is None else [n for n in args.releases if n > 0]
    try:
        args.variants = [resolve(REPO, r, args.out) for r in args.ref or DEFAULT_REFS]
        args.variants += [Variant.parse(v) for v in args.variant]
        for v in args.variants:
            check_imports_from(v)
    except ValueError as err:
        p.error(str(err))
    if len({v.name for v in args.variants}) != len(args.variants):
        p.error("variant names (--ref, --variant) must differ")
    return args


def header(args: argparse.Namespace, command: str, started: float, load_before: list[str]) -> str:
    lines = [f"## Scale benchmark ({time.strftime('%Y-%m-%d', time.gmtime())}, commit {commit()})\n",
             f"- Machine: {machine()}",
             "- Cluster: " + (f"the running cluster of {args.kubeconfig}" if args.kubeconfig else
                              "local control plane (deploy/local/cluster.sh, kwokctl binary runtime), 3 KWOK nodes"),
             "- Chart: one ConfigMap, one 1-replica Deployment, one headless Service per Release, all created at once"]
    lines += [f"- Variant `{v.name}`: {v.source}, `{shlex.join(v.command)}`" for v in args.variants]
    lines.append(f"- Idle window: {args.idle_window:.0f} s, {args.settle:.0f} s after all Ready")
    if args.canaries:
        lines.append(f"- Canaries: {args.canaries} on {args.canary_releases} Releases, replicas router, 3 steps of "
                     f"{args.canary_step:g} s, a look every {args.canary_interval:g} s (bench-error-rate, real "
                     f"Prometheus), {args.canary_rps:g} simulated req/s per Service")
    # The machine may be shared: its load says how far the figures are from an idle machine's.
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    lines.append(f"- Load average (1/5/15 min) at start: {' '.join(load_before)}; at end: {' '.join(load_after)}")
    lines.append(f"- Command: `{command}` (took {(time.monotonic() - started) / 60:.1f} min)\n")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    opts = Options(idle_window=args.idle_window, settle=args.settle, ready_timeout=args.ready_timeout,
                   uninstall_timeout=args.uninstall_timeout, out_dir=args.out, reaction_samples=args.reactions)
    copts = CanaryOptions(canaries=args.canaries, releases=args.canary_releases, interval=args.canary_interval,
                          step_seconds=args.canary_step, rps=args.canary_rps)
    command = "python -m bench.scale " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))

    started = time.monotonic()
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    kubeconfig = args.kubeconfig or cluster_up(args.cluster)
    results: list[Result] = []
    canaries: list[CanaryResult] = []

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    try:
        bench = Bench.connect(kubeconfig, shared=bool(args.kubeconfig))
        bench.install_crds()
        try:
            for n in args.releases:
                for variant in args.variants:
                    results.append(measure(bench, variant, n, opts=opts, log=log))
            if args.canaries:
                for variant in args.variants:
                    canaries.append(measure_canaries(bench, variant, copts, opts=opts, log=log))
        finally:
            if bench.shared:
                bench.forget_identities([v.name for v in args.variants])
    finally:
        if not args.kubeconfig and not args.keep_cluster:
            cluster_down(args.cluster)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(
        {"releases": [asdict(r) for r in results], "canaries": [asdict(c) for c in canaries]}, indent=2))
    print(header(args, command, started, load_before))
    if results:
        print(table(results))
        ratios = ratio_table(results)
        if ratios:
            print("\nRatios to the first variant (below 1 is better):\n")
            print(ratios)
        reactions = reaction_table(results)
        if reactions:
            print("\nReactions with all Releases installed and idle (bench/scale/reactions.py):\n")
            print(reactions)
    if canaries:
        print("\n" + canary_table(canaries))
        ratios = canary_ratio_table(canaries)
        if ratios:
            print("\nRatios to the first variant (below 1 is better):\n")
            print(ratios)
    return 0


if __name__ == "__main__":
    sys.exit(main())
