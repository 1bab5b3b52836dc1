"""Evaluation metrics: pure functions over labels and predictions.

Convention: an undetermined verdict (or a failed call) counts as *not flagged* in
the confusion matrix — a moderator that cannot decide has not caught the scam —
and is also reported on its own (`undetermined_rate`, `error_rate`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ..baseline.metrics import roc_auc

__all__ = [
    "Confusion",
    "bootstrap_ci",
    "confusion",
    "mcnemar_chi2",
    "mcnemar_exact",
    "pass_rate_ci",
    "per_category_recall",
    "percentile",
    "pr_curve",
    "roc_auc",
    "roc_curve",
    "wilson_interval",
]


@dataclass(frozen=True)
class Confusion:
    """A 2x2 confusion matrix; the ratios are 0.0 when undefined (no denominator)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n(self) -> int:
        return self.tp + self.fp + self.fn + self.tn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        # 2TP / (2TP + FP + FN): the harmonic mean of precision and recall, without 0/0.
        denominator = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / denominator if denominator else 0.0

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0


def confusion(labels: Sequence[int], flagged: Sequence[bool]) -> Confusion:
    """Count true/false positives/negatives; `flagged` is the moderator's decision."""
    tp = fp = fn = tn = 0
    for label, flag in zip(labels, flagged, strict=True):
        if label and flag:
            tp += 1
        elif flag:
            fp += 1
        elif label:
            fn += 1
        else:
            tn += 1
    return Confusion(tp, fp, fn, tn)


def per_category_recall(
    labels: Sequence[int], categories: Sequence[str], flagged: Sequence[bool]
) -> dict[str, dict[str, float]]:
    """For each scam category: how many suspicious cases, and the share flagged."""
    totals: dict[str, list[int]] = {}
    for label, category, flag in zip(labels, categories, flagged, strict=True):
        if label:
            counts = totals.setdefault(category, [0, 0])
            counts[0] += 1
            counts[1] += int(flag)
    return {
        category: {"n": n, "recall": caught / n} for category, (n, caught) in sorted(totals.items())
    }


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation between ranks; None if empty."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def roc_curve(scores: Sequence[float], labels: Sequence[int]) -> list[tuple[float, float]]:
    """(false positive rate, true positive rate) points, threshold from high to low.

    Tied scores move both rates at once (a diagonal step), as the AUC counts ties.
    """
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return []
    points = [(0.0, 0.0)]
    tp = fp = 0
    for _, group in _groups_by_score(scores, labels):
        tp += sum(group)
        fp += len(group) - sum(group)
        points.append((fp / negatives, tp / positives))
    return points


def pr_curve(scores: Sequence[float], labels: Sequence[int]) -> list[tuple[float, float]]:
    """(recall, precision) points at each distinct score threshold, high to low."""
    positives = sum(labels)
    if not positives:
        return []
    points = []
    tp = flagged = 0
    for _, group in _groups_by_score(scores, labels):
        tp += sum(group)
        flagged += len(group)
        points.append((tp / positives, tp / flagged))
    return points


def _groups_by_score(
    scores: Sequence[float], labels: Sequence[int]
) -> list[tuple[float, list[int]]]:
    pairs = sorted(zip(scores, labels, strict=True), key=lambda p: -p[0])
    groups: list[tuple[float, list[int]]] = []
    for score, label in pairs:
        if groups and groups[-1][0] == score:
            groups[-1][1].append(label)
        else:
            groups.append((score, [label]))
    return groups


def bootstrap_ci(
    labels: Sequence[int],
    flagged: Sequence[bool],
    statistic: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of a confusion statistic; same seed, same interval.

    `statistic(tp, fp, fn)` gets arrays of counts, one per resample; NaN resamples
    (e.g. no positive case drawn, for recall) are left out.
    """
    n = len(labels)
    if n == 0 or resamples <= 0:
        return None
    rng = np.random.default_rng(seed)
    y = np.asarray(labels, dtype=bool)
    f = np.asarray(flagged, dtype=bool)
    tp_cases, fp_cases, fn_cases = (y & f), (~y & f), (y & ~f)
    tp = np.zeros(resamples)
    fp = np.zeros(resamples)
    fn = np.zeros(resamples)
    # In chunks, so memory stays bounded for large datasets.
    chunk = max(1, 2_000_000 // n)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        index = rng.integers(0, n, size=(stop - start, n))
        tp[start:stop] = tp_cases[index].sum(axis=1)
        fp[start:stop] = fp_cases[index].sum(axis=1)
        fn[start:stop] = fn_cases[index].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        values = statistic(tp, fp, fn)
    values = values[~np.isnan(values)]
    if values.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def pass_rate_ci(
    passed: Sequence[bool], *, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of a pass rate: the recall of "every case should
    pass" (each case a positive, a pass a catch), so one resampler serves both."""
    return bootstrap_ci(
        [1] * len(passed), passed, recall_statistic, resamples=resamples, seed=seed, level=level
    )


def f1_statistic(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """F1 per resample; 0.0 when there is nothing to be right or wrong about."""
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.where(denominator > 0, denominator, 1), 0.0)


def recall_statistic(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    """Recall per resample; NaN (left out) when the resample drew no suspicious case."""
    return tp / (tp + fn)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value from the discordant counts b and c.

    Under "no difference" each discordant case goes either way with probability 1/2:
    p = min(1, 2 * P(X <= min(b, c))) with X ~ Binomial(b + c, 1/2).
    """
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def mcnemar_chi2(b: int, c: int) -> float:
    """McNemar's test with continuity correction (chi-square, 1 degree of freedom)."""
    if b + c == 0:
        return 1.0
    statistic = max(0.0, abs(b - c) - 1) ** 2 / (b + c)
    return math.erfc(math.sqrt(statistic / 2))  # survival of chi2(1) at `statistic`


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float] | None:
    """Wilson score interval of a proportion (95% by default); None when n is 0.

    Unlike the normal approximation it stays inside [0, 1] and is not empty at 0 or n
    successes, which is where attack success rates often are.
    """
    if n <= 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def paired_difference_ci(
    before: Sequence[bool],
    after: Sequence[bool],
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """Percentile bootstrap interval of mean(after) - mean(before) over paired cases
    (the same case before and after a change, resampled together)."""
    n = len(before)
    if n == 0 or resamples <= 0:
        return None
    rng = np.random.default_rng(seed)
    delta = np.asarray(after, dtype=float) - np.asarray(before, dtype=float)
    index = rng.integers(0, n, size=(resamples, n))
    values = delta[index].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)
