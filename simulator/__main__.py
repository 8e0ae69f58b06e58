"""Command line: `python -m simulator --kubeconfig PATH --namespace NS --service web ...`.

Prints one JSON line on stdout once the endpoint is up ({"event": "listening", "port": ...}),
then runs until SIGINT/SIGTERM or `--duration` seconds, and exits 0 after a clean stop.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from kubernetes.config import ConfigException

from simulator.metrics import DEFAULT_BUCKETS
from simulator.profiles import ProfileError
from simulator.routing import ROUTER_TYPES
from simulator.runner import Simulator


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m simulator",
        description="Rudder traffic SIMULATOR (test/demo tooling): simulated clients and app metrics "
        "for pods that run no containers.",
    )
    p.add_argument("--kubeconfig", help="kubeconfig path (default: $KUBECONFIG or ~/.kube/config)")
    p.add_argument("--namespace", "-n", required=True)
    p.add_argument("--service", required=True, help="the CanaryRelease's router.service")
    p.add_argument("--router", default="replicas", choices=ROUTER_TYPES)
    p.add_argument(
        "--router-object",
        help="name of the Ingress/HTTPRoute/VirtualService/TrafficSplit when not named like the Service",
    )
    p.add_argument("--rps", type=float, default=50.0, help="requests per second (default 50)")
    p.add_argument("--profiles", help="profile YAML file, re-read when it changes")
    p.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free port, printed)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--tick", type=float, default=0.1, help="seconds between request batches")
    p.add_argument("--refresh", type=float, default=1.0, help="seconds between routing reads")
    p.add_argument(
        "--buckets", type=lambda s: [float(x) for x in s.split(",")], default=list(DEFAULT_BUCKETS),
        help="comma-separated histogram bucket bounds in seconds",
    )
    p.add_argument("--duration", type=float, help="stop after this many seconds")
    p.add_argument("--log-level", default="INFO")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    try:
        sim = Simulator(
            args.namespace, args.service, kubeconfig=args.kubeconfig, router=args.router,
            router_object=args.router_object, rps=args.rps, profiles=args.profiles, port=args.port,
            seed=args.seed, tick=args.tick, refresh=args.refresh, buckets=args.buckets,
        )
    except (ProfileError, ValueError, OSError, ConfigException) as exc:
        print(f"simulator: {exc}", file=sys.stderr)
        return 2
    done = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        done.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    sim.start()
    try:
        ready = {"event": "listening", "port": sim.port, "metrics": f"{sim.url}/metrics"}
        print(json.dumps(ready), flush=True)
        done.wait(args.duration)
    finally:
        sim.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
