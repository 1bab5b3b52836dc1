"""Inter-rater agreement of double review: Cohen's kappa with a bootstrap interval
(pure functions; numpy for the resampling).

Pairs are (first reviewer's label, second reviewer's label) on the same verdict, the
second blind to the first. Kappa corrects the raw agreement for what two raters with
these label frequencies would agree on by chance. The interval is a percentile
bootstrap over pairs (seeded, so a page shows the same interval twice); with fewer
than `MIN_PAIRS` pairs no interval is given.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .decisions import Decision

LABELS = ("scam", "not_scam", "cannot_tell")
MIN_PAIRS = 5
RESAMPLES = 1000


def cohen_kappa(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels; None when chance agreement is total."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    expected = sum(ca[k] * cb[k] for k in set(ca) | set(cb)) / (n * n)
    if expected >= 1.0:
        return None
    return (observed - expected) / (1 - expected)


def kappa_interval(
    a: Sequence[str], b: Sequence[str], *, seed: int = 0, level: float = 0.95
) -> tuple[float, float] | None:
    """A percentile-bootstrap interval for kappa, or None for too few pairs."""
    n = len(a)
    if n < MIN_PAIRS:
        return None
    index = {label: i for i, label in enumerate(sorted(set(a) | set(b)))}
    xa = np.array([index[x] for x in a])
    xb = np.array([index[y] for y in b])
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, n, size=(RESAMPLES, n))
    k = len(index)
    ra, rb = xa[draws], xb[draws]
    observed = (ra == rb).mean(axis=1)
    pa = np.stack([(ra == c).mean(axis=1) for c in range(k)], axis=1)
    pb = np.stack([(rb == c).mean(axis=1) for c in range(k)], axis=1)
    expected = (pa * pb).sum(axis=1)
    defined = expected < 1.0
    if not defined.any():
        return None
    kappas = (observed[defined] - expected[defined]) / (1 - expected[defined])
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(kappas, [tail, 100 - tail])
    return round(float(low), 4), round(float(high), 4)


def pairs_of(decisions: Iterable[Decision]) -> list[tuple[Decision, Decision]]:
    """(first, second) active decisions on the same verdict."""
    first: dict[tuple[str, str], Decision] = {}
    second: dict[tuple[str, str], Decision] = {}
    for d in decisions:
        if d.undone_at is not None:
            continue
        key = (d.verdict_key.pk, d.verdict_key.sk)
        if d.role == "first":
            first[key] = d
        elif d.role == "second":
            second[key] = d
    return [(first[k], second[k]) for k in sorted(second) if k in first]


def _summary(pairs: list[tuple[Decision, Decision]]) -> dict[str, Any]:
    a = [p[0].label for p in pairs]
    b = [p[1].label for p in pairs]
    kappa = cohen_kappa(a, b)
    return {
        "pairs": len(pairs),
        "agreement": round(sum(x == y for x, y in zip(a, b, strict=True)) / len(a), 4),
        "kappa": None if kappa is None else round(kappa, 4),
        "kappa_95": kappa_interval(a, b),
    }


def category_of(decision: Decision) -> str:
    """The category a pair is counted under: the first reviewer's first one."""
    return decision.categories[0].value if decision.categories else "none"


def double_review_figures(decisions: Iterable[Decision]) -> dict[str, Any]:
    """Kappa overall, per category and per reviewer (a reviewer's pairs, as first or
    second), and the disagreements awaiting a senior reviewer."""
    pairs = pairs_of(decisions)
    if not pairs:
        return {"overall": None, "by_category": [], "by_reviewer": [], "disagreements": 0}
    by_category: dict[str, list[tuple[Decision, Decision]]] = defaultdict(list)
    by_reviewer: dict[str, list[tuple[Decision, Decision]]] = defaultdict(list)
    for pair in pairs:
        by_category[category_of(pair[0])].append(pair)
        for d in pair:
            by_reviewer[d.reviewer].append(pair)
    return {
        "overall": _summary(pairs),
        "by_category": [{"category": c, **_summary(p)} for c, p in sorted(by_category.items())],
        "by_reviewer": [{"reviewer": r, **_summary(p)} for r, p in sorted(by_reviewer.items())],
        "disagreements": sum(1 for a, b in pairs if a.label != b.label),
    }
