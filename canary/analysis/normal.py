"""The standard normal distribution without scipy (the controller must not depend on it).

``math.erfc`` keeps full relative precision in the upper tail, which matters for the
tiny per-look alpha of early sequential looks.  The quantile starts from the
Abramowitz & Stegun 26.2.23 rational approximation (error < 4.5e-4) and is polished
with Halley steps on the exact CDF, reaching double precision in two or three steps.
"""

from __future__ import annotations

import math

_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


def norm_cdf(z: float) -> float:
    """P(Z <= z)."""
    return 0.5 * math.erfc(-z / _SQRT2)


def norm_sf(z: float) -> float:
    """P(Z > z), accurate far into the upper tail."""
    return 0.5 * math.erfc(z / _SQRT2)


def norm_pdf(z: float) -> float:
    return math.exp(-0.5 * z * z) / _SQRT2PI


def _tail_guess(p: float) -> float:
    """Abramowitz & Stegun 26.2.23: z with P(Z > z) = p, for 0 < p <= 0.5."""
    t = math.sqrt(-2.0 * math.log(p))
    return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (
        1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t
    )


def norm_isf(p: float) -> float:
    """z with P(Z > z) = p (the upper-tail quantile), for 0 < p < 1."""
    if not 0.0 < p < 1.0:
        if p == 0.0:
            return math.inf
        if p == 1.0:
            return -math.inf
        raise ValueError(f"probability {p} outside [0, 1]")
    if p > 0.5:
        return -norm_isf(1.0 - p)
    z = _tail_guess(p)
    for _ in range(4):
        # Halley's method on f(z) = sf(z) - p, f' = -pdf, f'' = z * pdf.
        error = norm_sf(z) - p
        density = norm_pdf(z)
        if density == 0.0:
            break
        step = error / density
        z += step / (1.0 - 0.5 * z * step)
        if abs(step) < 1e-15 * max(1.0, abs(z)):
            break
    return z


def norm_ppf(p: float) -> float:
    """z with P(Z <= z) = p."""
    return -norm_isf(p)
