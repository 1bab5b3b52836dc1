"""Evaluation metrics against values computed by hand, and the pairwise comparison."""

from __future__ import annotations

import itertools
import math

import pytest

from pipeline.errors import InputError
from pipeline.evaluation import metrics
from pipeline.evaluation.compare import compare, pick_cell
from pipeline.evaluation.results import CaseResult, summarise_cell


def result(case_id: str, label: int, **fields) -> CaseResult:
    base = {
        "case_id": case_id,
        "label": label,
        "cell": fields.pop("cell", "p@1|m:x|full"),
        "prompt": "p@1",
        "model": "m:x",
        "variant": "full",
        "status": "scored",
    }
    return CaseResult(**{**base, **fields})


# ---------------------------------------------------------------- confusion


def test_confusion_matrix_and_ratios_by_hand() -> None:
    # GIVEN 4 scams (3 flagged) and 6 benign (1 flagged)
    labels = [1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    flagged = [True, True, True, False, True, False, False, False, False, False]
    # WHEN
    m = metrics.confusion(labels, flagged)
    # THEN tp=3 fn=1 fp=1 tn=5: precision 3/4, recall 3/4, F1 3/4, accuracy 8/10
    assert (m.tp, m.fn, m.fp, m.tn) == (3, 1, 1, 5)
    assert m.precision == pytest.approx(0.75)
    assert m.recall == pytest.approx(0.75)
    assert m.f1 == pytest.approx(0.75)
    assert m.accuracy == pytest.approx(0.8)


def test_confusion_uneven_case_by_hand() -> None:
    m = metrics.confusion([1, 1, 0, 0, 0], [True, False, True, True, False])
    # tp=1 fn=1 fp=2 tn=1: precision 1/3, recall 1/2, F1 = 2/(2+2+1) = 0.4, accuracy 2/5
    assert (m.tp, m.fn, m.fp, m.tn) == (1, 1, 2, 1)
    assert m.precision == pytest.approx(1 / 3)
    assert m.recall == pytest.approx(0.5)
    assert m.f1 == pytest.approx(0.4)
    assert m.accuracy == pytest.approx(0.4)


def test_ratios_without_denominator_are_zero() -> None:
    m = metrics.confusion([0, 0], [False, False])
    assert (m.precision, m.recall, m.f1, m.accuracy) == (0.0, 0.0, 0.0, 1.0)


# ---------------------------------------------------------------- ROC / PR


def flat(points: list[tuple[float, float]]) -> list[float]:
    return [v for point in points for v in point]


SCORES = [0.9, 0.8, 0.8, 0.5, 0.3]
LABELS = [1, 1, 0, 0, 1]


def test_roc_auc_counts_ties_as_one_half() -> None:
    # Pairs (positive, negative): (.9,.8)=1 (.9,.5)=1 (.8,.8)=½ (.8,.5)=1 (.3,.8)=0 (.3,.5)=0
    assert metrics.roc_auc(SCORES, LABELS) == pytest.approx(3.5 / 6)


def test_roc_auc_undefined_with_one_class() -> None:
    assert math.isnan(metrics.roc_auc([0.2, 0.7], [1, 1]))


def test_roc_curve_points_and_area_match_auc() -> None:
    points = metrics.roc_curve(SCORES, LABELS)
    expected = [(0, 0), (0, 1 / 3), (0.5, 2 / 3), (1, 2 / 3), (1, 1)]
    assert flat(points) == pytest.approx(flat(expected))
    area = sum((x2 - x1) * (y1 + y2) / 2 for (x1, y1), (x2, y2) in itertools.pairwise(points))
    assert area == pytest.approx(metrics.roc_auc(SCORES, LABELS))


def test_precision_recall_curve_by_hand() -> None:
    expected = [(1 / 3, 1.0), (2 / 3, 2 / 3), (2 / 3, 0.5), (1.0, 0.6)]
    assert flat(metrics.pr_curve(SCORES, LABELS)) == pytest.approx(flat(expected))


# ------------------------------------------------------------ other metrics


def test_percentiles_interpolate_linearly() -> None:
    values = [40.0, 10.0, 30.0, 20.0]
    assert metrics.percentile(values, 50) == pytest.approx(25.0)
    assert metrics.percentile(values, 95) == pytest.approx(38.5)  # rank 2.85: 30 + 0.85 * 10
    assert metrics.percentile([5.0], 95) == 5.0
    assert metrics.percentile([], 50) is None


def test_per_category_recall_counts_only_scams() -> None:
    out = metrics.per_category_recall(
        [1, 1, 1, 0], ["deposit", "deposit", "phishing", "none"], [True, False, True, True]
    )
    assert out == {"deposit": {"n": 2, "recall": 0.5}, "phishing": {"n": 1, "recall": 1.0}}


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    labels = [1] * 20 + [0] * 20
    flagged = [True] * 15 + [False] * 5 + [True] * 4 + [False] * 16
    first = metrics.bootstrap_ci(labels, flagged, metrics.f1_statistic, resamples=500, seed=3)
    again = metrics.bootstrap_ci(labels, flagged, metrics.f1_statistic, resamples=500, seed=3)
    other = metrics.bootstrap_ci(labels, flagged, metrics.f1_statistic, resamples=500, seed=4)
    assert first == again
    assert first != other
    point = metrics.confusion(labels, flagged).f1
    assert first is not None and 0.0 <= first[0] < point < first[1] <= 1.0


def test_bootstrap_of_a_perfect_moderator_is_a_point() -> None:
    labels = [1, 0, 1, 0, 1]
    flagged = [bool(y) for y in labels]
    assert metrics.bootstrap_ci(labels, flagged, metrics.recall_statistic, seed=1) == (1.0, 1.0)
    assert metrics.bootstrap_ci([], [], metrics.f1_statistic) is None


# ---------------------------------------------------------------- McNemar


def test_mcnemar_exact_on_known_tables() -> None:
    # b=1, c=9: 2 * (C(10,0) + C(10,1)) / 2^10 = 22 / 1024
    assert metrics.mcnemar_exact(1, 9) == pytest.approx(22 / 1024)
    assert metrics.mcnemar_exact(9, 1) == pytest.approx(22 / 1024)
    # b=0, c=6: 2 / 2^6
    assert metrics.mcnemar_exact(0, 6) == pytest.approx(2 / 64)
    # balanced discordance, and no discordance at all: no evidence
    assert metrics.mcnemar_exact(5, 5) == 1.0
    assert metrics.mcnemar_exact(0, 0) == 1.0


def test_mcnemar_chi_square_with_continuity_correction() -> None:
    # (|1 - 9| - 1)^2 / 10 = 4.9; P(chi2(1) > 4.9) = 0.02686
    assert metrics.mcnemar_chi2(1, 9) == pytest.approx(0.02686, abs=1e-4)
    assert metrics.mcnemar_chi2(3, 3) == pytest.approx(1.0)


# ------------------------------------------------------------- cell summary


def test_undetermined_and_errors_count_as_not_flagged_and_are_reported() -> None:
    results = [
        result("a", 1, suspicious=True, score=0.9, latency_ms=10.0, decided_by="first:local"),
        result(
            "b",
            1,
            status="undetermined",
            latency_ms=30.0,
            decided_by="second:nova",
            input_tokens=700,
            output_tokens=50,
            cost_usd=0.002,
        ),
        result(
            "c",
            0,
            suspicious=False,
            score=0.2,
            latency_ms=20.0,
            decided_by="first:local",
            input_tokens=300,
            output_tokens=10,
            cost_usd=0.001,
            cached=True,
        ),
        result("d", 0, status="error", error="ThrottlingException"),
    ]
    summary = summarise_cell(results, resamples=200, seed=0)
    assert (summary["tp"], summary["fn"], summary["fp"], summary["tn"]) == (1, 1, 0, 2)
    assert summary["recall"] == pytest.approx(0.5)
    assert summary["undetermined_rate"] == pytest.approx(0.25)
    assert summary["error_rate"] == pytest.approx(0.25)
    assert summary["latency_p50_ms"] == pytest.approx(20.0)  # errors have no latency
    assert summary["roc_auc"] == pytest.approx(1.0)  # over the 2 scored cases
    assert summary["scored"] == 2
    assert (summary["input_tokens"], summary["output_tokens"]) == (1000, 60)
    assert summary["cost_usd"] == pytest.approx(0.003)
    assert summary["cost_per_1k_cases"] == pytest.approx(1.0)  # $0.003 over 3 answered
    assert summary["spent_usd"] == pytest.approx(0.002)  # the cached answer cost nothing
    assert summary["cached"] == 1
    assert summary["decided_by"] == {
        "first:local": pytest.approx(2 / 3),
        "second:nova": pytest.approx(1 / 3),
    }


# ---------------------------------------------------------------- compare


def test_compare_counts_wins_losses_and_flips() -> None:
    a = [
        result("c1", 1, suspicious=True, cell="A"),  # A right
        result("c2", 0, suspicious=False, cell="A"),  # A right
        result("c3", 1, suspicious=False, cell="A"),  # A wrong
        result("c4", 1, suspicious=True, cell="A"),  # only in A: not compared
    ]
    b = [
        result("c1", 1, status="undetermined", cell="B"),  # B wrong: undetermined = not flagged
        result("c2", 0, suspicious=False, cell="B"),
        result("c3", 1, suspicious=True, cell="B"),  # B right
    ]
    out = compare(a, b)
    assert (out.n, out.a_correct, out.b_correct) == (3, 2, 2)
    assert (out.wins, out.losses) == (1, 1)
    assert [(f.case_id, f.label, f.b_wins) for f in out.flipped] == [
        ("c1", 1, False),
        ("c3", 1, True),
    ]
    assert out.p_exact == 1.0
    assert out.conclusion == "no significant difference"


def test_compare_declares_a_winner_only_beyond_noise() -> None:
    a = [result(f"c{i}", 1, suspicious=False, cell="A") for i in range(8)]
    b = [result(f"c{i}", 1, suspicious=True, cell="B") for i in range(8)]
    out = compare(a, b)
    assert (out.wins, out.losses) == (8, 0)
    assert out.p_exact == pytest.approx(2 / 256)
    assert out.conclusion == "B is better"
    few = compare(a[:3], b[:3])  # 3 wins, 0 losses: p = 0.25
    assert few.conclusion == "no significant difference"


def test_compare_refuses_cells_without_shared_cases() -> None:
    with pytest.raises(InputError, match="share no case"):
        compare([result("x", 1, cell="A")], [result("y", 1, cell="B")])
    with pytest.raises(InputError, match="choose one with --a"):
        pick_cell({"A": [], "B": []}, None, "a")
