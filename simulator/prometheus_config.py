"""A Prometheus configuration that scrapes simulator endpoints.

`python -m simulator.prometheus_config 127.0.0.1:9101 [...]` prints it, for shell scripts (the demo).

`honor_labels: true` keeps the `namespace` and `pod` labels the simulator puts on each series
(the simulated pods'), instead of renaming them to `exported_namespace`/`exported_pod`.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence

import yaml

_TARGET = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")


def scrape_config(
    targets: Sequence[str],
    *,
    job_name: str = "rudder-simulator",
    interval: str = "1s",
    evaluation_interval: str | None = None,
) -> str:
    """prometheus.yml text scraping `targets` ("host:port" each) every `interval` with honor_labels."""
    for target in targets:
        if not _TARGET.match(target):
            raise ValueError(f"scrape target must be host:port, got {target!r}")
    doc = {
        "global": {
            "scrape_interval": interval,
            "scrape_timeout": interval,
            "evaluation_interval": evaluation_interval or interval,
        },
        "scrape_configs": [
            {
                "job_name": job_name,
                "honor_labels": True,
                "scrape_interval": interval,
                "scrape_timeout": interval,
                "metrics_path": "/metrics",
                "static_configs": [{"targets": list(targets)}],
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False)


def main(argv: Sequence[str] | None = None) -> int:
    targets = list(sys.argv[1:] if argv is None else argv)
    if not targets:
        print("usage: python -m simulator.prometheus_config HOST:PORT [HOST:PORT ...]", file=sys.stderr)
        return 2
    try:
        sys.stdout.write(scrape_config(targets))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
