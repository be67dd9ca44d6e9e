"""The numbers every metric family aggregates with: summary statistics, correlation, safe ratios."""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

STATS = ("mean", "median", "p10", "p90")


def stats(values: Sequence[float | None]) -> dict[str, float | None]:
    """Mean, median, p10 and p90, ignoring missing values; all None when nothing was measured."""
    v = np.array([x for x in values if x is not None], np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return dict.fromkeys(STATS)
    p10, median, p90 = np.percentile(v, [10, 50, 90])
    return {"mean": float(v.mean()), "median": float(median), "p10": float(p10), "p90": float(p90)}


def pearson(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Correlation of the output's series `b` with the target's `a`.

    None when the target does not move (nothing to follow); 0 when only the output stands still,
    since a frozen face follows nothing.
    """
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if x.size < 3 or x.std() < 1e-9:
        return None
    if y.std() < 1e-9:
        return 0.0
    return float(np.corrcoef(x, y)[0, 1])


def mean_or_none(values: Sequence[float | None]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b is not None and b > 0 else None


def column(records: Sequence[Any], name: str) -> list[Any]:
    return [getattr(r, name) for r in records]
