"""Evaluation suites: the YAML file, its validation, the labelled cases and the matrix.

A suite names datasets, prompts (id@version), models (any reference), variants and
a gate; the runner evaluates every cell (prompt x model x variant) on every case.
Relative paths in a suite are relative to the suite file's directory.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..conversation import Conversation, conversation_from_dict
from ..errors import ConfigError, InputError
from ..prompts import split_ref
from .attacks import STRATEGIES, known
from .variants import attack_variant, parse_variant


class DatasetSpec(BaseModel):
    """One labelled JSONL file and which of its cases to use."""

    model_config = ConfigDict(extra="forbid")

    path: str
    name: str | None = Field(None, description="label in reports; default: the file stem")
    split: str | None = Field(None, description="keep cases of this split only (train/test)")
    tags: list[str] | None = Field(None, description="keep cases carrying any of these tags")
    label: Literal[0, 1] | None = Field(None, description="keep cases of this label only")
    limit: int | None = Field(None, ge=1, description="first N cases after filtering")


class CellSelector(BaseModel):
    """Which cells a gate applies to; an empty field matches everything."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = None
    model: str | None = None
    variant: str | None = None

    def matches(self, cell: Cell) -> bool:
        return all(
            want is None or want == have
            for want, have in (
                (self.prompt, cell.prompt),
                (self.model, cell.model),
                (self.variant, cell.variant),
            )
        )


class GateSpec(BaseModel):
    """Thresholds that make `parley eval` exit 1 when broken."""

    model_config = ConfigDict(extra="forbid")

    recall_min: float | None = Field(None, ge=0, le=1)
    precision_min: float | None = Field(None, ge=0, le=1)
    f1_min: float | None = Field(None, ge=0, le=1)
    undetermined_max: float | None = Field(None, ge=0, le=1)
    error_max: float = Field(0.0, ge=0, le=1, description="share of cases whose call failed")
    f1_drop_max: float | None = Field(
        None, ge=0, le=1, description="F1 may fall at most this much below the baseline"
    )
    asr_rise_max: float | None = Field(
        None,
        ge=0,
        le=1,
        description="an attack's success rate may rise at most this much above the baseline",
    )
    baseline: str | None = Field(None, description="stored baseline JSON (evals/baselines/)")
    cells: list[CellSelector] = Field(
        default_factory=lambda: [CellSelector(variant="full")],
        description="cells the gate checks; default: every cell of the `full` variant",
    )


class EmulatorSpec(BaseModel):
    """Run `bedrock:` models of the suite against parley's in-process Bedrock emulator."""

    model_config = ConfigDict(extra="forbid")

    start: bool = True
    latency_ms: float = Field(0.0, ge=0)
    responder: Literal["baseline", "baseline_echo", "default"] = Field(
        "baseline",
        description="baseline: the local baseline's judgement; baseline_echo: the same, "
        "with text answers that first quote the conversation (a talkative text model)",
    )


class Suite(BaseModel):
    """An evaluation suite file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    datasets: list[DatasetSpec] = Field(min_length=1)
    prompts: list[str] = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    variants: list[str] = Field(default_factory=lambda: ["full"], min_length=1)
    attacks: list[str] = Field(
        default_factory=list,
        description="attack strategies (attacks.py), `all`, or `a+b`; each becomes a variant",
    )
    gate: GateSpec = Field(default_factory=lambda: GateSpec.model_validate({}))
    concurrency: int = Field(8, ge=1, le=256)
    max_attempts: int = Field(4, ge=1, le=20, description="attempts per case on retryable errors")
    max_cost: float | None = Field(None, ge=0, description="USD; stop before spending more")
    cache: str = Field(".cache/eval.db", description="SQLite response cache and run journal")
    emulator: EmulatorSpec | None = None
    bootstrap: int = Field(1000, ge=0, le=100_000, description="resamples for the CIs")
    seed: int = 0
    base_dir: Path = Field(Path(), exclude=True, description="the suite file's directory")

    @field_validator("prompts")
    @classmethod
    def _prompt_refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            try:
                name, version = split_ref(ref)
            except InputError as exc:
                raise ValueError(str(exc)) from None
            if version is None:
                raise ValueError(f"prompt {ref!r} needs a version: {name}@<number>")
        return _unique(value, "prompt")

    @field_validator("models")
    @classmethod
    def _model_refs(cls, value: list[str]) -> list[str]:
        for ref in value:
            if ":" not in ref:
                raise ValueError(f"model {ref!r} is not a reference like local:baseline")
        return _unique(value, "model")

    @field_validator("variants")
    @classmethod
    def _known_variants(cls, value: list[str]) -> list[str]:
        try:
            names = [parse_variant(v).name for v in value]
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return _unique(names, "variant")

    @field_validator("attacks")
    @classmethod
    def _known_attacks(cls, value: list[str]) -> list[str]:
        # `all` stands for every single strategy; `a+b` combines strategies.
        value = [n for name in value for n in (list(STRATEGIES) if name == "all" else [name])]
        unknown = [name for name in value if not known(name)]
        if unknown:
            raise ValueError(f"unknown attack {unknown[0]!r}; known: all, {', '.join(STRATEGIES)}")
        return _unique(value, "attack")

    @model_validator(mode="after")
    def _attack_variants(self) -> Suite:
        # An attack is measured against the conversation as written: `full` is needed.
        if self.attacks:
            wanted = ["full", *(attack_variant(a, self.seed).name for a in self.attacks)]
            self.variants = list(dict.fromkeys([*self.variants, *wanted]))
        return self

    def path(self, relative: str) -> Path:
        """A suite path made absolute against the suite file's directory."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate


def _unique(values: list[str], what: str) -> list[str]:
    seen = {v for v in values if values.count(v) > 1}
    if seen:
        raise ValueError(f"{what} listed twice: {', '.join(sorted(seen))}")
    return values


def load_suite(path: Path | str) -> Suite:
    """Read and validate a suite file; any problem is one ConfigError line."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read suite {path}: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid YAML ({_first_line(exc)})") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a suite is a YAML mapping (name, datasets, prompts, models)")
    raw.pop("base_dir", None)  # never taken from the file
    try:
        suite = Suite.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {describe_error(exc)}") from None
    return suite.model_copy(update={"base_dir": path.resolve().parent})


def describe_error(exc: ValidationError) -> str:
    """The first validation problem as `field.path: message` (+ how many more)."""
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "suite"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {message}{more}"


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


# ----------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Case:
    """One labelled conversation: `label` 1 means a scam attempt."""

    id: str
    label: int
    category: str
    tags: tuple[str, ...]
    lang: str
    split: str
    dataset: str
    conversation: Conversation


def load_cases(suite: Suite) -> list[Case]:
    """Every selected case of every dataset, in file order; ids must be unique."""
    cases: list[Case] = []
    for spec in suite.datasets:
        cases.extend(load_dataset(suite.path(spec.path), spec))
    counts = Counter(c.id for c in cases)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise InputError(f"case ids repeat across datasets: {', '.join(duplicates[:5])}")
    if not cases:
        raise InputError(f"suite {suite.name}: the dataset filters select no case")
    return cases


def load_dataset(path: Path, spec: DatasetSpec) -> list[Case]:
    """The cases of one JSONL dataset file that pass the spec's filters."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read dataset {path}: {exc}") from None
    name = spec.name or path.stem
    cases = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        case = _case(line, f"{path.name}:{number}", name)
        if spec.split is not None and case.split != spec.split:
            continue
        if spec.tags is not None and not set(spec.tags) & set(case.tags):
            continue
        if spec.label is not None and case.label != spec.label:
            continue
        cases.append(case)
        if spec.limit is not None and len(cases) >= spec.limit:
            break
    return cases


def _case(line: str, where: str, dataset: str) -> Case:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: malformed JSON ({exc.msg})") from None
    if not isinstance(data, dict) or "id" not in data:
        raise InputError(f"{where}: a case is an object with id, label and messages")
    label = data.get("label")
    if label not in (0, 1) or isinstance(label, bool):
        raise InputError(f"{where}: label must be 0 or 1")
    try:
        conversation = conversation_from_dict(data)
    except InputError as exc:
        raise InputError(f"{where}: {exc}") from None
    tags = data.get("tags") or []
    return Case(
        id=str(data["id"]),
        label=int(label),
        category=str(data.get("category") or "none"),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        lang=str(data.get("lang") or ""),
        split=str(data.get("split") or ""),
        dataset=dataset,
        conversation=conversation,
    )


# ---------------------------------------------------------------------- matrix


@dataclass(frozen=True, order=True)
class Cell:
    """One column of the matrix: a prompt, a model and a variant."""

    prompt: str
    model: str
    variant: str

    @property
    def key(self) -> str:
        return f"{self.prompt}|{self.model}|{self.variant}"

    @classmethod
    def from_key(cls, key: str) -> Cell:
        # Model references never contain "|"; split from both ends to be safe.
        prompt, _, rest = key.partition("|")
        model, _, variant = rest.rpartition("|")
        if not (prompt and model and variant):
            raise InputError(f"not a cell key: {key!r} (expected prompt|model|variant)")
        return cls(prompt, model, variant)

    def as_dict(self) -> dict[str, str]:
        return {
            "key": self.key,
            "prompt": self.prompt,
            "model": self.model,
            "variant": self.variant,
        }


def expand_matrix(suite: Suite) -> list[Cell]:
    """Every (prompt, model, variant) of the suite, prompts outermost, in file order."""
    return [
        Cell(prompt, model, variant)
        for prompt in suite.prompts
        for model in suite.models
        for variant in suite.variants
    ]


def fingerprint(suite: Suite, cells: list[Cell], cases: list[Case], extra: Any = None) -> str:
    """Identity of a run's work: same suite matrix, same cases -> same fingerprint."""
    digest = hashlib.sha256()
    digest.update(json.dumps([suite.name, [c.key for c in cells], extra], default=str).encode())
    for case in cases:
        turns = [(m.sender, m.text, m.iso_timestamp) for m in case.conversation.messages]
        digest.update(json.dumps([case.id, case.label, turns]).encode())
    return digest.hexdigest()
