"""Calibration of the judge by simulation: false-fail rate of A/A canaries and power.

* False fails: A/A canaries (canary and baseline identical), 10 looks each, judged
  at every look; the rate of canaries failed at any look, against the configured
  alpha, for the sequential plan (Pocock- and O'Brien-Fleming-type spending), for
  naive repeated testing at the full alpha, and for one test after the last look.
* Power: a 2x error-rate regression at a 1% baseline error rate, with the library's
  http-error-rate settings (allowedIncrease 1.5, confidence 0.98, minSamples 200),
  at several traffic levels (requests per look per side).

Run: ``python -m bench.analysis.calibration`` (``--canaries`` to trade time for
precision).  Prints markdown tables; the figures in docs/analysis.md come from it.
"""

from __future__ import annotations

import argparse
import time

from bench.analysis.simulate import Outcome, Scenario, error_rate_policy, simulate, with_changes
from canary.analysis.sequential import SpendingFunction

ALPHA = 0.02
SCHEMES: dict[str, dict[str, object]] = {
    "sequential, Pocock-type (default)": {"spending": SpendingFunction.POCOCK},
    "sequential, O'Brien-Fleming-type": {"spending": SpendingFunction.OBRIEN_FLEMING},
    "naive: every look at full alpha": {"spending": None},
    "one test after the last look": {"final_look_only": True},
}
TRAFFIC = (100, 250, 500, 1000, 2500, 5000)


def _row(label: str, outcome: Outcome) -> str:
    return f"| {label} | {outcome.rate:.4f} | {outcome.standard_error:.4f} | {outcome.canaries} |"


def false_fails(canaries: int) -> list[str]:
    lines = [
        f"A/A canaries, 10 looks of 1000 requests per side at 1% errors, alpha = {ALPHA} (any significant",
        "increase fails: allowedIncrease 1.0)",
        "",
        "| scheme | false-fail rate | standard error | canaries |",
        "|---|---|---|---|",
    ]
    base = Scenario(canaries=canaries)
    for label, changes in SCHEMES.items():
        lines.append(_row(label, simulate(with_changes(base, **changes))))
    with_latency = with_changes(base, canaries=max(canaries // 2, 200), latency_samples_per_look=30)
    lines.append(_row("sequential + a latency metric (2 metrics, Holm)", simulate(with_latency)))
    return lines


def power(canaries: int) -> list[str]:
    policy = error_rate_policy(allowed_increase=1.5, confidence=0.98, min_samples=200)
    header = "| requests per look per side | " + " | ".join(SCHEMES) + " | mean look of detection (default) |"
    lines = [
        "2x error-rate regression (1% -> 2%), library http-error-rate settings, 10 looks",
        "",
        header,
        "|" + "---|" * (len(SCHEMES) + 2),
    ]
    for requests in TRAFFIC:
        cells = []
        first_look: float | None = None
        for label, changes in SCHEMES.items():
            scenario = Scenario(
                canaries=canaries, requests_per_look=requests, error_ratio=2.0, error_policy=policy, **changes
            )  # type: ignore[arg-type]
            outcome = simulate(scenario)
            cells.append(f"{outcome.rate:.3f}")
            if label.endswith("(default)"):
                first_look = outcome.mean_first_fail_look
        look = f"{first_look:.1f}" if first_look is not None else "-"
        lines.append(f"| {requests} | " + " | ".join(cells) + f" | {look} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--canaries", type=int, default=2000)
    parser.add_argument("--power-canaries", type=int, default=1000)
    args = parser.parse_args()
    start = time.perf_counter()
    print("\n".join(false_fails(args.canaries)))
    print()
    print("\n".join(power(args.power_canaries)))
    print(f"\n({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
