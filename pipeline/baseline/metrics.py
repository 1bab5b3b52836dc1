"""Metrics and threshold choices on (score, label) pairs: pure Python, no numpy."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any


def roc_auc(scores: Sequence[float], labels: Sequence[int]) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties count one half)."""
    pairs = sorted(zip(scores, labels, strict=True))
    positives = sum(labels)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return math.nan
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid_rank = (i + j + 1) / 2  # average 1-based rank of the tie group
        rank_sum += mid_rank * sum(label for _, label in pairs[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def classification(
    scores: Sequence[float], labels: Sequence[int], threshold: float
) -> dict[str, Any]:
    """Precision, recall, F1, accuracy and counts at `score >= threshold`."""
    tp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= threshold and y)
    fp = sum(1 for s, y in zip(scores, labels, strict=True) if s >= threshold and not y)
    fn = sum(1 for s, y in zip(scores, labels, strict=True) if s < threshold and y)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": len(labels),
        "positives": tp + fn,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "accuracy": (tp + tn) / len(labels) if labels else 0.0,
    }


def cascade(scores: Sequence[float], labels: Sequence[int], low: float, high: float) -> dict:
    """How a cascade with these thresholds splits the cases.

    `local_share`: decided without the second model (score < low or > high);
    `local_miss_rate`: suspicious cases cleared locally, as a share of all suspicious;
    `local_false_flag_rate`: benign cases flagged locally, as a share of all benign.
    """
    n = len(labels)
    positives = sum(labels)
    negatives = n - positives
    cleared = [y for s, y in zip(scores, labels, strict=True) if s < low]
    flagged = [y for s, y in zip(scores, labels, strict=True) if s > high]
    return {
        "low": low,
        "high": high,
        "local_share": (len(cleared) + len(flagged)) / n if n else 0.0,
        "cleared_locally": len(cleared),
        "flagged_locally": len(flagged),
        "local_miss_rate": sum(cleared) / positives if positives else 0.0,
        "local_false_flag_rate": (len(flagged) - sum(flagged)) / negatives if negatives else 0.0,
    }


def summary(
    scores: Sequence[float], labels: Sequence[int], threshold: float, low: float, high: float
) -> dict[str, Any]:
    """Everything `parley baseline evaluate` prints, rounded for reading and storing."""
    result = classification(scores, labels, threshold)
    result["roc_auc"] = roc_auc(scores, labels)
    result["threshold"] = threshold
    result["cascade"] = cascade(scores, labels, low, high)
    return _rounded(result)


def _rounded(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _rounded(v) for k, v in data.items()}
    if isinstance(data, float):
        return None if math.isnan(data) else round(data, 4)
    return data


def threshold_for_recall(scores: Sequence[float], labels: Sequence[int], recall: float) -> float:
    """The highest threshold whose recall on these scores is at least `recall`.

    Placed halfway to the next lower score, so a small shift of scores keeps the recall.
    """
    positives = sorted((s for s, y in zip(scores, labels, strict=True) if y), reverse=True)
    if not positives:
        return 0.5
    needed = max(1, math.ceil(recall * len(positives) - 1e-9))
    cut = positives[needed - 1]
    return _halfway_below(cut, scores)


def low_threshold(scores: Sequence[float], labels: Sequence[int], max_miss: float) -> float:
    """The highest `low` leaving at most `max_miss` of the suspicious cases below it."""
    positives = sorted(s for s, y in zip(scores, labels, strict=True) if y)
    if not positives:
        return 0.0
    allowed = math.floor(max_miss * len(positives) + 1e-9)
    return _halfway_below(positives[min(allowed, len(positives) - 1)], scores)


def conformal_low(scores: Sequence[float], labels: Sequence[int], budget: float) -> float:
    """The cascade's `low` edge, with a split-conformal bound on clearing a scam.

    With n suspicious scores and k = floor(budget * (n + 1)), `low` sits halfway below
    the k-th lowest of them: a new suspicious case exchangeable with these scores falls
    below it with probability at most k / (n + 1) <= budget. When k is 0 (too few
    suspicious cases for the budget) it is 0.0: nothing is cleared locally.
    """
    positives = sorted(s for s, y in zip(scores, labels, strict=True) if y)
    k = math.floor(budget * (len(positives) + 1) + 1e-9)
    if k < 1:
        return 0.0
    return _halfway_below(positives[min(k, len(positives)) - 1], scores)


def high_threshold(scores: Sequence[float], labels: Sequence[int], max_false: float) -> float:
    """The lowest `high` leaving at most `max_false` of the benign cases above it."""
    negatives = sorted((s for s, y in zip(scores, labels, strict=True) if not y), reverse=True)
    if not negatives:
        return 1.0
    allowed = math.floor(max_false * len(negatives) + 1e-9)
    return _halfway_above(negatives[min(allowed, len(negatives) - 1)], scores)


def _halfway_below(cut: float, scores: Sequence[float]) -> float:
    lower = [s for s in scores if s < cut]
    return (cut + max(lower)) / 2 if lower else cut / 2


def _halfway_above(cut: float, scores: Sequence[float]) -> float:
    higher = [s for s in scores if s > cut]
    return (cut + min(higher)) / 2 if higher else (cut + 1.0) / 2
