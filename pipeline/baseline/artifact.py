"""The trained baseline as a file, and scoring with it (stdlib only: json, gzip, math).

Format `parley-baseline/1`, JSON (gzip when the name ends in .gz):

    {"format": "parley-baseline/1",
     "trained_on": "YYYY-MM-DD",          # outside the hashed part
     "model_sha256": "…",                 # sha256 of the canonical JSON of "model"
     "model": {"features": {...FeatureConfig...},
               "bias": b, "weights": {"index_delta": [...], "values": [...]},
               "calibration": {"a": a, "b": c},     # p = sigmoid(a * z + c)
               "threshold": t, "cascade": {"low": lo, "high": hi},
               "categories": {"labels": [...], "bias": [...], "weights": [{...}, ...]},
               "training": {...}, "metrics": {"test": {...}}}}

Weights are sparse (only non-zero buckets, indices delta-encoded) and rounded to 4
significant digits; the same dataset and date give the same bytes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..resources import baseline_artifact
from .features import (
    FEATURE_VERSION,
    FeatureConfig,
    HashedGroup,
    Turn,
    hashed_groups,
    linear_score,
    signed,
)

FORMAT = "parley-baseline/1"
DEFAULT_ARTIFACT = baseline_artifact()


@dataclass(frozen=True)
class BaselineArtifact:
    """A loaded baseline: features config, weights, calibration, thresholds, metadata."""

    features: FeatureConfig
    bias: float
    weights: dict[int, float]
    calibration: tuple[float, float]
    threshold: float
    low: float
    high: float
    category_labels: tuple[str, ...] = ()
    category_bias: tuple[float, ...] = ()
    category_weights: tuple[dict[int, float], ...] = ()
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(
        cls, document: dict[str, Any], *, origin: str = "<artifact>"
    ) -> BaselineArtifact:
        """Build from the parsed JSON document (see the module docstring)."""
        if document.get("format") != FORMAT:
            raise ConfigError(f"{origin}: not a {FORMAT} artifact")
        model = document["model"]
        features = FeatureConfig.from_dict(model["features"])
        if features.version != FEATURE_VERSION:
            raise ConfigError(
                f"{origin}: built for features {features.version}, this code computes "
                f"{FEATURE_VERSION}; retrain with `parley baseline train`"
            )
        categories = model.get("categories") or {}
        return cls(
            features=features,
            bias=float(model["bias"]),
            weights=decode_sparse(model["weights"]),
            calibration=(float(model["calibration"]["a"]), float(model["calibration"]["b"])),
            threshold=float(model["threshold"]),
            low=float(model["cascade"]["low"]),
            high=float(model["cascade"]["high"]),
            category_labels=tuple(categories.get("labels", ())),
            category_bias=tuple(float(b) for b in categories.get("bias", ())),
            category_weights=tuple(decode_sparse(w) for w in categories.get("weights", ())),
            meta={
                "format": document["format"],
                "trained_on": document.get("trained_on"),
                "model_sha256": document.get("model_sha256"),
                "training": model.get("training", {}),
                "metrics": model.get("metrics", {}),
            },
        )

    def __post_init__(self) -> None:
        # Scoring looks weights up by signed bucket (see features.linear_score).
        object.__setattr__(self, "_signed", signed(self.weights))
        object.__setattr__(self, "_signed_categories", tuple(map(signed, self.category_weights)))

    def features_of(self, turns: Sequence[Turn]) -> list[HashedGroup]:
        """The hashed features, computed once for score and category."""
        return hashed_groups(turns, self.features)

    def probability(self, turns: Sequence[Turn]) -> float:
        """Calibrated probability that the conversation is a scam attempt."""
        return self.probability_of(self.features_of(turns))

    def decision_of(self, groups: Sequence[HashedGroup]) -> float:
        """The raw linear score z (log-odds before calibration)."""
        return self.bias + linear_score(groups, self._signed)  # type: ignore[attr-defined]

    def probability_of(self, groups: Sequence[HashedGroup]) -> float:
        a, c = self.calibration
        return sigmoid(a * self.decision_of(groups) + c)

    def category_of(self, groups: Sequence[HashedGroup]) -> str | None:
        """The most likely scam category (a hint only), or None without a category head."""
        if not self.category_labels:
            return None
        heads = zip(self.category_bias, self._signed_categories, strict=True)  # type: ignore[attr-defined]
        scores = [bias + linear_score(groups, w) for bias, w in heads]
        return self.category_labels[max(range(len(scores)), key=scores.__getitem__)]


def sigmoid(z: float) -> float:
    """Logistic function, safe for large |z|."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def round_sig(value: float, digits: int = 4) -> float:
    """Round to `digits` significant digits (small artifact, stable bytes)."""
    if value == 0 or not math.isfinite(value):
        return 0.0
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def encode_sparse(weights: dict[int, float]) -> dict[str, list[Any]]:
    """{bucket: weight} → sorted, delta-encoded indices and rounded values (zeros dropped)."""
    items = sorted((b, round_sig(w)) for b, w in weights.items())
    items = [(b, w) for b, w in items if w != 0.0]
    indices = [b for b, _ in items]
    deltas = [b - a for a, b in zip([0, *indices], indices, strict=False)]
    return {"index_delta": deltas, "values": [w for _, w in items]}


def decode_sparse(data: dict[str, list[Any]]) -> dict[int, float]:
    """The inverse of `encode_sparse`."""
    indices = accumulate(int(d) for d in data["index_delta"])
    return dict(zip(indices, (float(v) for v in data["values"]), strict=True))


def model_sha256(model: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of the model part (independent of the date)."""
    return hashlib.sha256(canonical_json(model)).hexdigest()


def canonical_json(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def artifact_bytes(model: dict[str, Any], trained_on: str, *, compress: bool) -> bytes:
    """The file's bytes: deterministic for a given model and date (gzip with mtime 0)."""
    document = {
        "format": FORMAT,
        "trained_on": trained_on,
        "model_sha256": model_sha256(model),
        "model": model,
    }
    data = canonical_json(document)
    return gzip.compress(data, compresslevel=9, mtime=0) if compress else data


def write_artifact(path: Path, model: dict[str, Any], trained_on: str) -> int:
    """Write the artifact (gzip if the name ends in .gz); returns its size in bytes."""
    data = artifact_bytes(model, trained_on, compress=str(path).endswith(".gz"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return len(data)


def read_document(path: Path) -> dict[str, Any]:
    """Parse an artifact file (gzip detected by its magic bytes)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read baseline artifact {path}: {exc.strerror}") from None
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        document = json.loads(raw)
    except (OSError, EOFError, ValueError) as exc:
        raise ConfigError(f"baseline artifact {path} is corrupt: {exc}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"baseline artifact {path} is not a JSON object")
    return document


@lru_cache(maxsize=8)
def load_artifact(path: Path = DEFAULT_ARTIFACT) -> BaselineArtifact:
    """Load (once per process and path) a baseline artifact."""
    path = Path(path)
    artifact = BaselineArtifact.from_document(read_document(path), origin=str(path))
    artifact.meta["path"] = str(path)
    artifact.meta["size_bytes"] = path.stat().st_size
    return artifact
