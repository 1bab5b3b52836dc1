"""Training of the baseline (numpy; never imported on the scoring path).

An L2-regularised logistic regression on the hashed features, fitted exactly by
Newton's method in its kernel (dual) form: with n conversations and d >> n buckets,
each Newton step solves an n × n system, so training is deterministic and takes
seconds. Steps:

1. vectorise the training split; stratified folds by sha256 of the groups (an example's
   template, else its id: conversations of one template are alike, so they share a
   fold and out-of-fold scores stay out of sample; stable under reordering);
2. pick the feature-group weights and the L2 strength from a small grid by out-of-fold
   log-loss after calibration;
3. calibrate with Platt scaling fitted on the out-of-fold scores (an honest probability);
4. choose the decision threshold (0.5 on the calibrated probability, or lower when the
   out-of-fold recall at 0.5 misses the recall target) and the cascade band on the
   calibrated out-of-fold scores: `low` by a split-conformal rule on the suspicious
   cases over repeated cross-validation (a new scam falls below it with probability
   at most ~1%), `high` leaving at most 2% of the benign cases above it;
5. estimate what that band rule does on unseen conversations by nested cross-validation
   (the whole of step 4 redone inside each outer fold): recorded, never used to choose;
6. refit on the whole training split; a one-vs-rest category head on the suspicious cases;
7. score the test split with the rounded artifact exactly as inference will.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from ..errors import InputError
from ..verdict import Category
from . import metrics
from .artifact import FORMAT, BaselineArtifact, encode_sparse, round_sig
from .dataset import Example
from .features import FeatureConfig, vectorize

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainOptions:
    """Training choices; recorded in the artifact."""

    folds: int = 5
    l2_grid: tuple[float, ...] = (0.001, 0.003, 0.01, 0.03, 0.1)
    # Feature-group weights tried (chosen with l2 by out-of-fold log-loss).
    group_weight_grid: tuple[dict[str, float], ...] = tuple(
        {"w": 1.0, "s": 0.5, "c": c, "x": x} for c in (0.5, 1.0) for x in (0.7, 1.5, 2.5)
    )
    # Aim above the 0.9 recall target: the test split is small and recall varies with it.
    recall_target: float = 0.95
    max_threshold: float = 0.5
    # The cascade band. `low`: split-conformal, a new suspicious case falls below it with
    # probability at most local_miss_budget (k = floor(budget * (n + 1)) suspicious
    # out-of-fold scores at or below it: the lowest one for 138 cases), taking the lowest
    # such edge over `cv_repeats` differently shuffled cross-validations. Half the 2%
    # target: the out-of-fold scores come from models trained on less data than the
    # final one, so the bound is only approximate (the nested check measures it).
    # `high`: at most 2% of benign cases flagged locally (a false flag is the cheaper
    # mistake).
    local_miss_budget: float = 0.01
    cv_repeats: int = 3
    max_local_false_flag: float = 0.02
    # Nested cross-validation of the band rule (outer repetitions of `folds` folds).
    check_repeats: int = 3
    category_top_weights: int = 400


@dataclass
class _Candidate:
    loss: float
    config: FeatureConfig
    l2: float
    oof: np.ndarray
    x: np.ndarray
    columns: list[int]
    kernel: np.ndarray


def build_model(
    examples: Sequence[Example],
    *,
    dataset: str,
    dataset_sha256: str,
    also: Sequence[tuple[str, str]] = (),
    config: FeatureConfig | None = None,
    options: TrainOptions | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Train on the `train` split and return the artifact's `model` part (with test metrics).

    `also`: (path, sha256) of further files whose examples are in `examples` (recorded).
    `config` fixes the feature configuration; by default the group weights are chosen
    from `options.group_weight_grid` together with the L2 strength.
    """
    options = options or TrainOptions()
    say = progress or (lambda _message: None)
    train = [e for e in examples if e.split == "train"]
    test = [e for e in examples if e.split == "test"]
    labels = np.array([e.label for e in train], dtype=float)
    if len(train) < 2 * options.folds or labels.sum() < options.folds or labels.sum() == len(train):
        raise InputError(
            f"need at least {options.folds} examples of each class in the train split "
            f"(got {int(labels.sum())} suspicious of {len(train)})"
        )
    configs = [config] if config else [FeatureConfig(weights=w) for w in options.group_weight_grid]
    folds = stratified_folds([e.group for e in train], [e.label for e in train], options.folds)
    say(
        f"{len(train)} training conversations ({int(labels.sum())} suspicious); "
        f"{options.folds}-fold cross-validation over {len(configs)} feature weightings "
        f"x {len(options.l2_grid)} L2 strengths"
    )
    table = []
    best: _Candidate | None = None
    for candidate_config in configs:
        x, columns = design_matrix([vectorize(e.turns, candidate_config) for e in train])
        kernel = x @ x.T + 1.0  # the constant 1 is the bias feature
        for l2 in options.l2_grid:
            oof = out_of_fold(kernel, labels, folds, l2)
            a, b = fit_platt(oof, labels)
            loss = log_loss(_sigmoid(a * oof + b), labels)
            auc = metrics.roc_auc(oof.tolist(), labels.astype(int).tolist())
            weights_text = ",".join(f"{k}={v:g}" for k, v in candidate_config.weights.items())
            table.append(
                {
                    "weights": candidate_config.weights,
                    "l2": l2,
                    "oof_log_loss": round(loss, 4),
                    "oof_roc_auc": round(auc, 4),
                }
            )
            say(f"  {weights_text} l2={l2:g}: out-of-fold log-loss {loss:.4f}, AUC {auc:.4f}")
            if best is None or loss < best.loss - 1e-9:
                best = _Candidate(loss, candidate_config, l2, oof, x, columns, kernel)
    assert best is not None
    config, l2, oof, x, columns = best.config, best.l2, best.oof, best.x, best.columns
    say(f"chose {config.weights} l2={l2:g}; {x.shape[1]} active buckets")
    ids = [e.group for e in train]
    repeats = [oof] + [
        out_of_fold(best.kernel, labels, stratified_folds(ids, labels, options.folds, salt), l2)
        for salt in _salts(options.cv_repeats)[1:]
    ]
    cuts = choose_cuts(repeats, labels, options)
    a, b, threshold, low, high = cuts.a, cuts.b, cuts.threshold, cuts.low, cuts.high
    oof_p = _sigmoid(a * oof + b).tolist()
    label_list = labels.astype(int).tolist()
    say(f"Platt a={a:.4f} b={b:.4f}; threshold {threshold}; cascade band {low}..{high}")
    check = band_check(best.kernel, labels, ids, l2, options)
    say(
        f"nested check of the band rule: {check['local_share']:.1%} decided locally, "
        f"{check['local_miss_rate']:.2%} of suspicious cleared locally "
        f"({check['cleared_suspicious']} of {check['suspicious']})"
    )

    alpha = fit_kernel_logistic(best.kernel, labels, l2)
    weights = x.T @ alpha
    model: dict[str, Any] = {
        "features": config.as_dict(),
        "bias": round_sig(float(alpha.sum())),
        "weights": encode_sparse(dict(zip(columns, weights.tolist(), strict=True))),
        "calibration": {"a": round_sig(a), "b": round_sig(b)},
        "threshold": threshold,
        "cascade": {"low": low, "high": high},
        "categories": category_head(train, x, columns, l2, options.category_top_weights),
        "training": {
            "dataset": dataset,
            "dataset_sha256": dataset_sha256,
            **({"also": [{"dataset": p, "dataset_sha256": h} for p, h in also]} if also else {}),
            "n_train": len(train),
            "n_train_suspicious": int(labels.sum()),
            "method": "L2 logistic regression, Newton (kernel form); Platt on out-of-fold; "
            "conformal low band edge over repeated CV",
            "l2": l2,
            "cv": table,
            "options": asdict(options),
            "out_of_fold": metrics.summary(oof_p, label_list, threshold, low, high),
            "band_check": check,
        },
    }
    artifact = BaselineArtifact.from_document({"format": FORMAT, "model": model})
    if test:
        scores = [artifact.probability(e.turns) for e in test]
        test_labels = [e.label for e in test]
        model["metrics"] = {"test": metrics.summary(scores, test_labels, threshold, low, high)}
        # The category head is a hint: how often its top category is the labelled one.
        suspicious = [e for e in test if e.label == 1]
        hits = sum(
            artifact.category_of(artifact.features_of(e.turns)) == e.category for e in suspicious
        )
        model["metrics"]["test_category_top1"] = (
            round(hits / len(suspicious), 4) if suspicious else None
        )
    else:
        model["metrics"] = {"test": None}
    return model


def design_matrix(vectors: Sequence[dict[int, float]]) -> tuple[np.ndarray, list[int]]:
    """Dense rows over the buckets that occur at all (d is far below 2**18)."""
    columns = sorted({bucket for v in vectors for bucket in v})
    position = {bucket: i for i, bucket in enumerate(columns)}
    x = np.zeros((len(vectors), len(columns)))
    for row, vector in enumerate(vectors):
        for bucket, value in vector.items():
            x[row, position[bucket]] = value
    return x, columns


@dataclass(frozen=True)
class Cuts:
    """Calibration and the thresholds chosen on out-of-fold decision values."""

    a: float
    b: float
    threshold: float
    low: float
    high: float


def choose_cuts(repeats: Sequence[np.ndarray], labels: np.ndarray, options: TrainOptions) -> Cuts:
    """Platt calibration, threshold and cascade band from out-of-fold decision values.

    `repeats[0]` (the cross-validation the model was chosen with) sets the calibration,
    the threshold and `high`; `low` is the lowest conformal edge over all repetitions.
    """
    a, b = fit_platt(repeats[0], labels)
    label_list = labels.astype(int).tolist()
    probabilities = [_sigmoid(a * r + b).tolist() for r in repeats]
    # Flag when a scam is more likely than not, lower still if the recall target needs it.
    recall_cut = metrics.threshold_for_recall(probabilities[0], label_list, options.recall_target)
    threshold = round_sig(min(options.max_threshold, recall_cut))
    low = round_sig(
        min(metrics.conformal_low(p, label_list, options.local_miss_budget) for p in probabilities)
    )
    high = round_sig(
        metrics.high_threshold(probabilities[0], label_list, options.max_local_false_flag)
    )
    return Cuts(a, b, threshold, min(low, threshold), max(high, threshold))


def band_check(
    kernel: np.ndarray, labels: np.ndarray, ids: Sequence[str], l2: float, options: TrainOptions
) -> dict[str, Any]:
    """Nested cross-validation of the band rule: how it does on conversations unseen.

    In each outer fold the calibration, threshold and band are chosen exactly as for the
    shipped model, on repeated inner cross-validation of the other folds only; the model
    fitted on those folds then scores the held-out fold. The feature weights and L2
    strength stay the ones chosen on the whole split (not re-chosen per fold).
    """
    cleared = flagged = cleared_suspicious = flagged_benign = 0
    for outer in range(options.check_repeats):
        folds = stratified_folds(ids, labels, options.folds, f"check{outer}")
        for fold in range(options.folds):
            held = np.flatnonzero(folds == fold)
            kept = np.flatnonzero(folds != fold)
            inner_kernel = kernel[np.ix_(kept, kept)]
            inner_labels = labels[kept]
            inner_ids = [ids[int(i)] for i in kept]
            repeats = [
                out_of_fold(
                    inner_kernel,
                    inner_labels,
                    stratified_folds(inner_ids, inner_labels, options.folds, salt),
                    l2,
                )
                for salt in _salts(options.cv_repeats)
            ]
            cuts = choose_cuts(repeats, inner_labels, options)
            alpha = fit_kernel_logistic(inner_kernel, inner_labels, l2)
            scores = _sigmoid(cuts.a * (kernel[np.ix_(held, kept)] @ alpha) + cuts.b)
            truth = labels[held] > 0
            cleared += int((scores < cuts.low).sum())
            flagged += int((scores > cuts.high).sum())
            cleared_suspicious += int(((scores < cuts.low) & truth).sum())
            flagged_benign += int(((scores > cuts.high) & ~truth).sum())
    n = options.check_repeats * len(labels)
    suspicious = options.check_repeats * int(labels.sum())
    return {
        "repeats": options.check_repeats,
        "local_share": round((cleared + flagged) / n, 4),
        "local_miss_rate": round(cleared_suspicious / suspicious, 4),
        "local_false_flag_rate": round(flagged_benign / (n - suspicious), 4),
        "cleared_suspicious": cleared_suspicious,
        "suspicious": suspicious,
    }


def _salts(count: int) -> list[str]:
    # "" is the plain sha256(id) order: the cross-validation the model is chosen with.
    return ["", *(f"repeat{r}" for r in range(1, count))]


def stratified_folds(
    ids: Sequence[str], labels: Sequence[int] | np.ndarray, k: int, salt: str = ""
) -> np.ndarray:
    """Fold of each example: per class, its groups (`ids`: equal ids share a fold) ordered
    by sha256([salt:]id) and dealt round-robin."""
    folds = np.zeros(len(ids), dtype=int)
    prefix = f"{salt}:" if salt else ""
    for label in (0, 1):
        groups = sorted(
            {ids[i] for i, y in enumerate(labels) if y == label},
            key=lambda g: hashlib.sha256(f"{prefix}{g}".encode()).hexdigest(),
        )
        rank = {g: r for r, g in enumerate(groups)}
        for i, y in enumerate(labels):
            if y == label:
                folds[i] = rank[ids[i]] % k
    return folds


def out_of_fold(kernel: np.ndarray, labels: np.ndarray, folds: np.ndarray, l2: float) -> np.ndarray:
    """Each example's decision value from the model trained without its fold."""
    decisions = np.zeros(len(labels))
    for fold in np.unique(folds):
        held = folds == fold
        kept = ~held
        alpha = fit_kernel_logistic(kernel[np.ix_(kept, kept)], labels[kept], l2)
        decisions[held] = kernel[np.ix_(held, kept)] @ alpha
    return decisions


def fit_kernel_logistic(
    kernel: np.ndarray, labels: np.ndarray, l2: float, *, max_steps: int = 100
) -> np.ndarray:
    """Minimise sum(log-loss) + l2/2 ||w||^2 over w = X^T alpha, by damped Newton.

    The primal Newton step, written with the Woodbury identity in terms of the kernel
    K = X X^T: with g = p - y + l2 alpha, S = diag(p (1 - p)) and M = S^1/2 K S^1/2,
    delta = (g - S^1/2 (l2 I + M)^-1 S^1/2 K g) / l2. One symmetric n × n solve per
    step whatever the number of buckets, and valid when K is singular (duplicates).
    """
    n = len(labels)
    alpha = np.zeros(n)
    decision = np.zeros(n)
    objective = _objective(decision, alpha, labels, l2)
    for _ in range(max_steps):
        p = _sigmoid(decision)
        root = np.sqrt(p * (1 - p))
        gradient = p - labels + l2 * alpha
        system = l2 * np.eye(n) + root[:, None] * kernel * root[None, :]
        inner = np.linalg.solve(system, root * (kernel @ gradient))
        delta = (gradient - root * inner) / l2
        step = 1.0
        while step > 1e-10:  # backtracking: accept only a decrease
            candidate = alpha - step * delta
            candidate_decision = kernel @ candidate
            value = _objective(candidate_decision, candidate, labels, l2)
            if value <= objective:
                break
            step /= 2
        else:
            break  # no decrease possible: at the optimum to machine precision
        improvement = objective - value
        alpha, decision, objective = candidate, candidate_decision, value
        if improvement < 1e-10 * max(1.0, abs(objective)):
            break
    return alpha


def fit_platt(decisions: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """Platt scaling p = sigmoid(a z + b) with Platt's smoothed targets.

    Newton with backtracking (as in Lin, Lin and Weng's note on Platt scaling): plain
    Newton diverges when the scores are almost separable.
    """
    positives = labels.sum()
    negatives = len(labels) - positives
    targets = np.where(labels > 0, (positives + 1) / (positives + 2), 1 / (negatives + 2))
    design = np.column_stack([decisions, np.ones_like(decisions)])

    def loss(params: np.ndarray) -> float:
        f = design @ params
        return float(np.sum(np.logaddexp(0.0, f) - targets * f))

    params = np.array([1.0, 0.0])
    current = loss(params)
    for _ in range(100):
        p = _sigmoid(design @ params)
        gradient = design.T @ (p - targets)
        hessian = design.T @ ((p * (1 - p))[:, None] * design) + 1e-12 * np.eye(2)
        direction = np.linalg.solve(hessian, gradient)
        step = 1.0
        while step > 1e-10:
            candidate = params - step * direction
            value = loss(candidate)
            if value <= current + 1e-4 * step * float(gradient @ -direction):
                break
            step /= 2
        else:
            break
        params, improvement, current = candidate, current - value, value
        if improvement < 1e-12 * max(1.0, abs(current)):
            break
    return float(params[0]), float(params[1])


def category_head(
    train: Sequence[Example], x: np.ndarray, columns: list[int], l2: float, top: int
) -> dict[str, Any]:
    """One-vs-rest logistic heads on the suspicious cases; each keeps its `top` weights."""
    known = {c.value for c in Category}
    rows = [i for i, e in enumerate(train) if e.label == 1 and e.category in known]
    labels = sorted({train[i].category for i in rows})
    if not labels:
        return {"labels": [], "bias": [], "weights": []}
    xs = x[rows]
    kernel = xs @ xs.T + 1.0
    biases, weights = [], []
    for label in labels:
        target = np.array([1.0 if train[i].category == label else 0.0 for i in rows])
        if target.all():  # one category only: a constant answer
            alpha = np.zeros(len(rows))
            biases.append(1.0)
        else:
            alpha = fit_kernel_logistic(kernel, target, l2)
            biases.append(round_sig(float(alpha.sum())))
        w = xs.T @ alpha
        keep = np.argsort(-np.abs(w), kind="stable")[:top]
        weights.append(encode_sparse({columns[j]: float(w[j]) for j in keep if w[j] != 0}))
    return {"labels": labels, "bias": biases, "weights": weights}


def log_loss(p: np.ndarray, labels: np.ndarray) -> float:
    p = np.clip(p, 1e-12, 1 - 1e-12)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def _objective(decision: np.ndarray, alpha: np.ndarray, labels: np.ndarray, l2: float) -> float:
    # log(1 + e^f) - y f is the log-loss of a logit f; alpha·f = ||w||^2 in the dual form.
    return float(
        np.sum(np.logaddexp(0.0, decision) - labels * decision) + 0.5 * l2 * alpha @ decision
    )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))
