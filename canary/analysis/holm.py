"""Holm's step-down correction across the metrics of one analysis.

Judging ten metrics at alpha each would fail a healthy canary far more often than
alpha.  Holm controls the family-wise error at alpha and is uniformly more
powerful than Bonferroni, with no assumption about how the metrics correlate
(latency and error rate of one service are anything but independent).
"""

from __future__ import annotations

from collections.abc import Sequence


def holm_adjust(p_values: Sequence[float]) -> list[float]:
    """Holm-adjusted p-values, in the input order (R's ``p.adjust(method="holm")``)."""
    count = len(p_values)
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [0.0] * count
    running = 0.0
    for position, index in enumerate(order):
        # Monotone step-down: an adjusted p-value never falls below an earlier one.
        running = max(running, min(1.0, (count - position) * p_values[index]))
        adjusted[index] = running
    return adjusted
