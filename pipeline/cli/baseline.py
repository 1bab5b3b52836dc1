"""`parley baseline train|evaluate|info`: the local baseline classifier."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from ..baseline.artifact import DEFAULT_ARTIFACT, BaselineArtifact, load_artifact, write_artifact
from ..baseline.dataset import file_sha256, load_examples
from ..baseline.metrics import summary
from ..errors import InputError
from ..settings import REPO_ROOT
from .common import echo_json, json_option

DEFAULT_DATASET = REPO_ROOT / "evals" / "datasets" / "marketplace.jsonl"
# Honest conversations in eleven languages from templates disjoint from the evaluation
# corpus's held-out ones (tools/honest_corpus.py): trained on with the marketplace split.
HONEST_TRAIN = REPO_ROOT / "evals" / "datasets" / "honest-multilingual-train.jsonl"

_dataset_option = click.option(
    "--dataset",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_DATASET,
    show_default="evals/datasets/marketplace.jsonl",
    help="labelled conversations (JSONL with id, split, label, category, messages)",
)
_artifact_option = click.option(
    "--artifact",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_ARTIFACT,
    show_default="the shipped pipeline/data/baseline.json.gz",
    help="baseline artifact to use",
)


@click.group()
def baseline() -> None:
    """The local baseline: a hashed n-gram logistic regression (not a language model)."""


@baseline.command()
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    default=(DEFAULT_DATASET, HONEST_TRAIN),
    show_default="evals/datasets/marketplace.jsonl and honest-multilingual-train.jsonl",
    help="labelled conversations (JSONL); repeat to train on several files' train splits "
    "(the test splits are scored); the first names the artifact's dataset",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=DEFAULT_ARTIFACT,
    show_default="pipeline/data/baseline.json.gz",
    help="where to write the artifact (.json, or .json.gz for gzip)",
)
@click.option(
    "--date",
    "trained_on",
    default=None,
    metavar="YYYY-MM-DD",
    help="training date stored in the artifact; default: $SOURCE_DATE_EPOCH, else today (UTC)",
)
@json_option
def train(datasets: tuple[Path, ...], output: Path, trained_on: str | None, as_json: bool) -> None:
    """Train on the datasets' train splits; report test-split metrics and thresholds."""
    from ..baseline.train import build_model  # numpy: imported only to train

    examples = [e for path in datasets for e in load_examples(path)]
    model = build_model(
        examples,
        dataset=_display_path(datasets[0]),
        dataset_sha256=file_sha256(datasets[0]),
        also=[(_display_path(path), file_sha256(path)) for path in datasets[1:]],
        progress=lambda line: click.echo(line, err=True),
    )
    size = write_artifact(output, model, trained_on or _training_date())
    load_artifact.cache_clear()  # the file may be the one this process already loaded
    artifact = load_artifact(output)
    if as_json:
        echo_json(_info(artifact, output))
        return
    click.echo(f"wrote {_display_path(output)} ({size / 1024:.1f} KiB)")
    test = model["metrics"]["test"]
    if test:
        click.echo(_metrics_text("test split", test))
    else:
        click.echo("the dataset has no test split: no held-out metrics")


@baseline.command()
@_dataset_option
@click.option(
    "--split",
    type=click.Choice(["test", "train", "all"]),
    default="test",
    show_default=True,
    help="which examples to score (train scores are in-sample, hence optimistic)",
)
@_artifact_option
@json_option
def evaluate(dataset: Path, split: str, artifact: Path, as_json: bool) -> None:
    """Score a dataset split: precision, recall, F1, ROC AUC and the cascade's split."""
    model = load_artifact(artifact)
    examples = [e for e in load_examples(dataset) if split == "all" or e.split == split]
    if not examples:
        raise InputError(f"{dataset} has no examples in split {split!r}")
    scores = [model.probability(e.turns) for e in examples]
    result = summary(scores, [e.label for e in examples], model.threshold, model.low, model.high)
    result["dataset"] = _display_path(dataset)
    result["split"] = split
    if as_json:
        echo_json(result)
    else:
        click.echo(_metrics_text(f"{_display_path(dataset)} [{split}]", result))


@baseline.command()
@_artifact_option
@json_option
def info(artifact: Path, as_json: bool) -> None:
    """What the artifact is: training data, date, size, thresholds, test metrics."""
    model = load_artifact(artifact)
    data = _info(model, artifact)
    if as_json:
        echo_json(data)
        return
    for key in ("path", "size_bytes", "format", "trained_on", "model_sha256", "features"):
        click.echo(f"{key:<20} {data[key]}")
    training = data["training"]
    for key in ("dataset", "dataset_sha256", "n_train", "n_train_suspicious", "l2", "method"):
        click.echo(f"{key:<20} {training.get(key)}")
    click.echo(f"{'weights':<20} {data['nonzero_weights']} non-zero buckets")
    click.echo(f"{'categories':<20} {', '.join(data['categories']) or '-'}")
    check = training.get("band_check")
    if check:
        click.echo(
            f"{'band check':<20} nested cross-validation on the train split: "
            f"{check['local_share']:.1%} decided locally, {check['local_miss_rate']:.2%} of "
            f"suspicious cleared locally ({check['cleared_suspicious']} of {check['suspicious']})"
        )
    if data["metrics"].get("test"):
        click.echo(_metrics_text("test split (at training)", data["metrics"]["test"]))
        top1 = data["metrics"].get("test_category_top1")
        if top1 is not None:
            click.echo(f"  category    top-1 {top1:.1%} of suspicious test cases (a hint only)")


def _info(model: BaselineArtifact, path: Path) -> dict[str, Any]:
    return {
        "path": _display_path(path),
        "size_bytes": path.stat().st_size,
        "format": model.meta["format"],
        "trained_on": model.meta["trained_on"],
        "model_sha256": model.meta["model_sha256"],
        "features": f"{model.features.version}, 2^{model.features.buckets_log2} buckets, "
        f"char {model.features.char_min}-{model.features.char_max}-grams, "
        f"weights {model.features.weights}",
        "nonzero_weights": len(model.weights),
        "threshold": model.threshold,
        "cascade": {"low": model.low, "high": model.high},
        "categories": list(model.category_labels),
        "training": model.meta["training"],
        "metrics": model.meta["metrics"],
    }


def _metrics_text(title: str, m: dict[str, Any]) -> str:
    c = m["cascade"]
    auc = "n/a" if m.get("roc_auc") is None else f"{m['roc_auc']:.3f}"
    return "\n".join(
        [
            f"{title}: {m['n']} conversations, {m['positives']} suspicious",
            f"  threshold   {m['threshold']:.4f}",
            f"  precision   {m['precision']:.3f}   (tp {m['tp']}, fp {m['fp']})",
            f"  recall      {m['recall']:.3f}   (fn {m['fn']})",
            f"  F1          {m['f1']:.3f}",
            f"  ROC AUC     {auc}",
            f"  cascade     band {c['low']:.4f} .. {c['high']:.4f}: "
            f"{c['local_share']:.1%} decided locally "
            f"({c['cleared_locally']} cleared, {c['flagged_locally']} flagged)",
            f"  local miss  {c['local_miss_rate']:.1%} of suspicious cleared locally; "
            f"{c['local_false_flag_rate']:.1%} of benign flagged locally",
        ]
    )


def _training_date() -> str:
    # SOURCE_DATE_EPOCH is the reproducible-builds convention for a fixed build date.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    moment = datetime.fromtimestamp(int(epoch), UTC) if epoch else datetime.now(UTC)
    return moment.strftime("%Y-%m-%d")


def _display_path(path: Path) -> str:
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)
