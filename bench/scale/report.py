"""Pure side of the scale benchmark: ready-time percentiles and the MTTP-style markdown tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Result:
    """One controller variant at one N (durations in seconds from the start of the creation burst)."""

    variant: str
    releases: int
    ready_50: float | None
    ready_90: float | None
    ready_100: float | None
    peak_rss_mib: float
    cpu_seconds_install: float
    idle_window: float
    idle_requests: float
    idle_writes: float
    idle_cpu_seconds: float
    uninstall_seconds: float | None
    cpu_seconds_total: float
    idle_dry_runs: float = 0.0
    uninstall_leftovers: int = 0  # objects still holding the namespace when uninstalling timed out
    # Seconds per sampled Release (bench.scale.reactions): pod unready -> status, hand edit -> repaired.
    pod_reactions: tuple[float, ...] = ()
    edit_reactions: tuple[float, ...] = ()

    @property
    def idle_requests_per_second(self) -> float:
        return self.idle_requests / self.idle_window

    @property
    def idle_requests_per_release(self) -> float:
        return self.idle_requests_per_second / self.releases

    @property
    def idle_cpu_share(self) -> float:
        """Idle CPU as a fraction of one core."""
        return self.idle_cpu_seconds / self.idle_window


def time_to_fraction(ready_times: Sequence[float], total: int, fraction: float) -> float | None:
    """When `fraction` of `total` objects were Ready, given each Ready object's time (None if never)."""
    need = math.ceil(total * fraction)
    if need == 0:
        return 0.0
    ordered = sorted(ready_times)
    return ordered[need - 1] if len(ordered) >= need else None


def duration(seconds: float | None) -> str:
    """Flux's style: 27s, 2m45s, 8m12s; "-" when it never happened."""
    if seconds is None:
        return "-"
    whole = round(seconds)
    return f"{whole // 60}m{whole % 60}s" if whole >= 60 else f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"


def table(results: Sequence[Result]) -> str:
    head = ("| Releases | Variant | 50% Ready | 90% Ready | 100% Ready | Peak RSS | CPU (install) "
            "| Idle API req/s | Idle req/s per Release | Idle CPU | Idle write requests | Uninstall all |")
    rows = [head, "|" + "---|" * 12]
    for r in results:
        rows.append(
            f"| {r.releases} | {r.variant} | {duration(r.ready_50)} | {duration(r.ready_90)} "
            f"| {duration(r.ready_100)} | {r.peak_rss_mib:.0f} MiB | {r.cpu_seconds_install:.1f} s "
            f"| {r.idle_requests_per_second:.1f} | {r.idle_requests_per_release:.3f} "
            f"| {100 * r.idle_cpu_share:.1f}% of a core | {r.idle_writes:.0f} ({r.idle_dry_runs:.0f} dry-run) "
            f"| {uninstalled(r.uninstall_seconds, r.uninstall_leftovers)} |")
    return "\n".join(rows)


def spread(seconds: Sequence[float]) -> str:
    """`p50 / max (n)` of reaction times; "-" when none were measured."""
    if not seconds:
        return "-"
    ordered = sorted(seconds)
    return f"{ordered[(len(ordered) - 1) // 2]:.2f}s / {ordered[-1]:.2f}s ({len(ordered)})"


def reaction_table(results: Sequence[Result]) -> str:
    """Reaction times of the variants that measured them."""
    rows = ["| Releases | Variant | Pod unready -> status, p50 / max (samples) "
            "| Hand edit -> repaired, p50 / max (samples) |", "|---|---|---|---|"]
    rows += [f"| {r.releases} | {r.variant} | {spread(r.pod_reactions)} | {spread(r.edit_reactions)} |"
             for r in results if r.pod_reactions or r.edit_reactions]
    return "\n".join(rows) if len(rows) > 2 else ""


def uninstalled(seconds: float | None, leftovers: int) -> str:
    """The uninstall time, or that the namespace got stuck (and on how many objects)."""
    if seconds is None:
        return f"stuck ({leftovers} objects left)" if leftovers else "stuck"
    return duration(seconds)


def ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def ratio_table(results: Sequence[Result]) -> str:
    """Each variant against the first variant of the same N (below 1 is better for every column)."""
    base: dict[int, Result] = {}
    for r in results:
        base.setdefault(r.releases, r)
    rows = ["| Releases | Variant / baseline | 50% Ready | 90% Ready | 100% Ready | Peak RSS | CPU (install) "
            "| Idle API req/s | Idle CPU | Uninstall all |", "|" + "---|" * 10]
    for r in results:
        b = base[r.releases]
        if r is b:
            continue
        rows.append(
            f"| {r.releases} | {r.variant} / {b.variant} | {ratio(r.ready_50, b.ready_50)} "
            f"| {ratio(r.ready_90, b.ready_90)} | {ratio(r.ready_100, b.ready_100)} "
            f"| {ratio(r.peak_rss_mib, b.peak_rss_mib)} | {ratio(r.cpu_seconds_install, b.cpu_seconds_install)} "
            f"| {ratio(r.idle_requests_per_second, b.idle_requests_per_second)} "
            f"| {ratio(r.idle_cpu_share, b.idle_cpu_share)} | {ratio(r.uninstall_seconds, b.uninstall_seconds)} |")
    return "\n".join(rows) if len(rows) > 2 else ""
