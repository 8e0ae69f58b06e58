"""The pod as the unit: a rank-sum test and mean variances that hold when a pod's points are correlated.

A distribution query keeps one series per pod (``sum by (le, pod)``): the points of one
series share the pod (its node, its caches, its noisy neighbours), so a slow pod makes
all its points slow.  Mann-Whitney's variance treats every point as independent and
reads a pod-to-pod difference as a canary-to-baseline one.  Here the series is the
cluster, and the variances come from cluster-level sums, as in the clustered
Mann-Whitney / AUC statistics of Obuchowski (Biometrics 53, 1997) and Rosner, Glynn and
Lee (Biometrics 59, 2003; 62, 2006):

* the statistic is Mann-Whitney's, ``theta = P(canary > baseline) + P(tie) / 2`` over all
  points (so it equals the classical test's estimate);
* each point's *placement* (its share of the other side below it, ties half) is summed per
  cluster, and the variance of ``theta`` is the between-cluster variance of those sums,
  ``K / (K - 1) * sum_c (S_c - n_c theta)^2 / N^2`` per side: between-pod spread enters
  it, within-pod noise too, and with one point per cluster it is DeLong's variance;
* with few pods the variance has few degrees of freedom: the reference distribution is
  Student's t with ``K_canary + K_baseline - 2`` of them, not the normal;
* the variance of each side's mean (for Fieller's non-inferiority bound) is the
  cluster-robust (sandwich) one, with the same t quantile.

A side with a single cluster has no between-pod variance to estimate; the judge then
needs more than the test (``canary.analysis.decision``).  No labels, or one point per
series, is the classical independent-sample case, decided as before.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from canary.analysis.normal import norm_sf

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


def cluster_ids(labels: Sequence[Mapping[str, str]], size: int) -> IntArray | None:
    """One id per value from its series' labels, or None when the values carry no labels (one value, one
    cluster: the independent-sample case)."""
    if len(labels) != size or size == 0:
        return None
    keys: dict[tuple[tuple[str, str], ...], int] = {}
    ids = np.empty(size, dtype=np.int64)
    for i, series in enumerate(labels):
        ids[i] = keys.setdefault(tuple(sorted(series.items())), len(keys))
    return ids


def clustered(ids: IntArray | None) -> bool:
    """Whether some cluster holds more than one point (otherwise the classical test applies)."""
    return ids is not None and len(ids) > 0 and int(np.max(np.bincount(ids))) > 1


@dataclass(frozen=True)
class ClusteredRankSum:
    theta: float  # P(canary > baseline) + P(tie) / 2 over all points
    variance: float  # cluster-robust variance of theta (0 when a side has one cluster)
    clusters_canary: int
    clusters_baseline: int
    p_greater: float  # one-sided, Student's t with ``df`` degrees of freedom
    p_less: float
    # Cluster-robust variances of each side's mean, times its number of points (0 with one cluster).
    canary_variance: float = 0.0
    baseline_variance: float = 0.0

    @property
    def df(self) -> int:
        return self.clusters_canary + self.clusters_baseline - 2

    @property
    def single_pod(self) -> bool:
        """A side with one cluster: between-pod variance cannot be estimated."""
        return min(self.clusters_canary, self.clusters_baseline) < 2


def _side_variance(placements: FloatArray, ids: IntArray, theta: float) -> tuple[float, int]:
    _, dense = np.unique(ids, return_inverse=True)
    sums = np.bincount(dense, weights=placements)
    sizes = np.bincount(dense)
    k = len(sums)
    if k < 2:
        return 0.0, k
    total = float(len(placements))
    return float(k / (k - 1) * np.sum((sums - sizes * theta) ** 2) / (total * total)), k


def clustered_rank_sum(canary: FloatArray, canary_ids: IntArray, baseline: FloatArray,
                       baseline_ids: IntArray) -> ClusteredRankSum:
    """The clustered Mann-Whitney test; values need not be sorted, ids align with them."""
    xs, ys = np.sort(canary), np.sort(baseline)
    n, m = len(canary), len(baseline)
    # Placements: the share of the other side below a point, ties counting one half.
    v = (np.searchsorted(ys, canary, "left") + np.searchsorted(ys, canary, "right")) / (2.0 * m)
    w = 1.0 - (np.searchsorted(xs, baseline, "left") + np.searchsorted(xs, baseline, "right")) / (2.0 * n)
    theta = float(np.mean(v))
    var_c, k_c = _side_variance(v.astype(np.float64), canary_ids, theta)
    var_b, k_b = _side_variance(w.astype(np.float64), baseline_ids, theta)
    df = k_c + k_b - 2
    means = (robust_mean_variance(canary, canary_ids), robust_mean_variance(baseline, baseline_ids))
    if df < 1 or min(k_c, k_b) < 2:
        # A side with one cluster: no between-pod variance to refer to (the judge decides otherwise).
        return ClusteredRankSum(theta, 0.0, k_c, k_b, 1.0, 1.0, *means)
    # Clustering can only add variance: never below the independent-sample variance of theta under the null
    # (which also keeps a complete separation of few pods, whose cluster variance is 0, from proving everything).
    variance = max(var_c + var_b, (n + m + 1) / (12.0 * n * m))
    t = (theta - 0.5) / math.sqrt(variance)
    return ClusteredRankSum(theta, variance, k_c, k_b, norm_sf(t), norm_sf(-t), *means)


def robust_mean_variance(values: FloatArray, ids: IntArray) -> float:
    """Cluster-robust variance of the mean, times the number of points (what Fieller divides by n again);
    0 with a single cluster."""
    _, dense = np.unique(ids, return_inverse=True)
    sums = np.bincount(dense, weights=values)
    sizes = np.bincount(dense)
    k, total = len(sums), float(len(values))
    if k < 2:
        return 0.0
    mean = float(np.sum(sums)) / total
    return float(k / (k - 1) * np.sum((sums - sizes * mean) ** 2) / total)


def t_sf(t: float, df: int) -> float:
    """P(T > t) for Student's t with integer ``df`` (Abramowitz & Stegun 26.7.3-4, exact finite sums)."""
    if df < 1:
        raise ValueError("degrees of freedom must be at least 1")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    theta = math.atan(abs(t) / math.sqrt(df))
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if df % 2 == 1:
        term, total = c, c if df > 1 else 0.0
        for k in range(3, df - 1, 2):
            term *= c2 * (k - 1) / k
            total += term
        inside = 2.0 / math.pi * (theta + s * total)
    else:
        term, total = 1.0, 1.0
        for k in range(2, df - 1, 2):
            term *= c2 * (k - 1) / k
            total += term
        inside = s * total
    tail = max(0.0, (1.0 - inside) / 2.0)
    return tail if t >= 0 else 1.0 - tail


def t_isf(p: float, df: int) -> float:
    """The t value with ``P(T > t) = p`` (bisection on ``t_sf``; p in (0, 1))."""
    low, high = -1.0, 1.0
    while t_sf(high, df) > p:
        high *= 2.0
    while t_sf(low, df) < p:
        low *= 2.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        if t_sf(mid, df) > p:
            low = mid
        else:
            high = mid
        if high - low < 1e-12 * max(1.0, abs(mid)):
            break
    return 0.5 * (low + high)
