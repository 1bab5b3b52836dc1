"""Evaluation suites: the YAML file, its validation, the labelled cases and the matrix.

A suite names datasets, prompts (id@version), models (any reference), variants and
a gate; the runner evaluates every cell (prompt x model x variant) on every case.
Relative paths in a suite are relative to the suite file's directory.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from ..conversation import Conversation, Message, conversation_from_dict
from ..errors import ConfigError, InputError
from ..prompts import split_ref
from . import attackgen
from .assertions import TYPES, AssertionSpec, load_function
from .attacks import STRATEGIES, known
from .variants import GENERATIVE, attack_variant, generated_variant, parse_variant


class DatasetSpec(BaseModel):
    """One labelled JSONL file and which of its cases to use."""

    model_config = ConfigDict(extra="forbid")

    path: str
    name: str | None = Field(None, description="label in reports; default: the file stem")
    split: str | None = Field(None, description="keep cases of this split only (train/test)")
    tags: list[str] | None = Field(None, description="keep cases carrying any of these tags")
    label: Literal[0, 1] | None = Field(None, description="keep cases of this label only")
    every: int | None = Field(
        None, ge=1, description="every Nth case after filtering: a sample spread over the file"
    )
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


class AssertionFloor(BaseModel):
    """A generative gate: the pass rate of one assertion type (or `all`: whole cases)
    must reach `floor` in every selected cell."""

    model_config = ConfigDict(extra="forbid")

    assertion: str
    floor: float = Field(ge=0, le=1)

    @field_validator("assertion")
    @classmethod
    def _known(cls, value: str) -> str:
        if value != "all" and value not in TYPES:
            raise ValueError(f"gate assertion {value!r} is not an assertion type (or 'all')")
        return value


class GateSpec(BaseModel):
    """Thresholds that make `parley eval` exit 1 when broken."""

    model_config = ConfigDict(extra="forbid")

    assertion: str | None = Field(None, description="shorthand for one entry of `assertions`")
    floor: float | None = Field(None, ge=0, le=1, description="with `assertion`")
    assertions: list[AssertionFloor] = Field(
        default_factory=list, description="generative suites: pass-rate floors"
    )
    categories: dict[str, float] = Field(
        default_factory=dict,
        description="generative suites: pass-rate floor of whole cases per category; "
        "`*` for every category not named",
    )

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
    asr_max: float | dict[str, float] | None = Field(
        None,
        description="each attack's success rate at most this (absolute); or per attack "
        "family, {family: bound, default: bound}",
    )
    fp_added_max: float | dict[str, float] | None = Field(
        None,
        description="each attack may add at most this share of false positives on the "
        "honest conversations (0.02: 2 points) over the conversations as written; or "
        "per attack family, {family: bound, default: bound}",
    )
    fp_rate_max: float | None = Field(
        None, ge=0, le=1, description="share of honest conversations flagged, in every cell"
    )
    baseline: str | None = Field(None, description="stored baseline JSON (evals/baselines/)")
    cells: list[CellSelector] = Field(
        default_factory=lambda: [CellSelector(variant="full")],
        description="cells the gate checks; default: every cell of the `full` variant",
    )

    @field_validator("categories")
    @classmethod
    def _rates(cls, value: dict[str, float]) -> dict[str, float]:
        bad = [name for name, floor in value.items() if not 0 <= floor <= 1]
        if bad:
            raise ValueError(f"category floor of {bad[0]!r} must be between 0 and 1")
        return value

    @field_validator("asr_max", "fp_added_max")
    @classmethod
    def _shares(cls, value: float | dict[str, float] | None) -> float | dict[str, float] | None:
        bounds = value.values() if isinstance(value, dict) else [] if value is None else [value]
        if any(not 0 <= b <= 1 for b in bounds):
            raise ValueError("a bound is a share between 0 and 1 (0.05: 5%)")
        if isinstance(value, dict):
            unknown = [k for k in value if k != "default" and not attackgen.known(k)]
            if unknown:
                raise ValueError(f"{unknown[0]!r} is not an attack family (or `default`)")
        return value

    def bound(self, name: str, attack: str) -> float | None:
        """The bound `name` (asr_max, fp_added_max) for one attack (`gen:` family or
        `attack:` strategy): its own entry, else `default`, else the single number."""
        value = getattr(self, name)
        if not isinstance(value, dict):
            return value
        found = value.get(attack, value.get("default"))
        return None if found is None else float(found)

    @model_validator(mode="after")
    def _shorthand(self) -> GateSpec:
        if (self.assertion is None) != (self.floor is None):
            raise ValueError("gate: `assertion` and `floor` go together")
        if self.assertion is not None and self.floor is not None:
            floor = AssertionFloor(assertion=self.assertion, floor=self.floor)
            self.assertions = [floor, *self.assertions]
            self.assertion = self.floor = None
        return self


class EmulatorSpec(BaseModel):
    """Run `bedrock:` models of the suite against parley's in-process Bedrock emulator."""

    model_config = ConfigDict(extra="forbid")

    start: bool = True
    latency_ms: float = Field(0.0, ge=0)
    responder: Literal["baseline", "baseline_echo", "default", "companion"] = Field(
        "baseline",
        description="baseline: the local baseline's judgement; baseline_echo: the same, "
        "with text answers that first quote the conversation (a talkative text model); "
        "companion: canned companion answers (a lookup table, not an LLM)",
    )
    grades: list[dict[str, Any]] = Field(
        default_factory=list,
        description="graded answers queued for llm-rubric judges served by the emulator",
    )


ControlKind = Literal["deferral", "unsafe", "no_words", "off_topic", "too_long", "named"]


class ControlAnswer(BaseModel):
    """One fixed answer given for every turn of the suite."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    answer: str
    kind: ControlKind = "named"


class ControlsSpec(BaseModel):
    """`controls:` in a generative suite: which fixed answers run, and what they may pass."""

    model_config = ConfigDict(extra="forbid")

    run: bool = Field(True, description="false: no controls (the report says so)")
    answers: list[ControlAnswer] = Field(
        default_factory=list, description="the suite's own controls, beside the defaults"
    )
    max_pass_rate: float = Field(0.25, ge=0, le=1, description="any control, overall")
    deferral_max: float = Field(0.25, ge=0, le=1, description="the deferral control")
    no_words_max: int = Field(0, ge=0, description="cases an answer with no words may pass")
    unsafe_max: int = Field(0, ge=0, description="cases of unsafe categories it may pass")
    unsafe_categories: list[str] = Field(
        default_factory=list, description="categories the unsafe control must fail; [] = all"
    )
    must_fail_gate: bool = Field(True, description="a control passing the suite's gate fails")


class Suite(BaseModel):
    """An evaluation suite file."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    kind: Literal["classification", "generative"] = "classification"
    datasets: list[DatasetSpec] = Field(min_length=1)
    prompts: list[str] = Field(min_length=1)
    models: list[str] = Field(min_length=1)
    variants: list[str] = Field(default_factory=lambda: ["full"], min_length=1)
    attacks: list[str] = Field(
        default_factory=list,
        description="attack strategies (attacks.py), `all`, or `a+b`; each becomes a variant",
    )
    generated: list[str] = Field(
        default_factory=list,
        description="generated attack families (attackgen.py), `all`, or `a+b`; each "
        "becomes a `gen:` variant, applied to scams and honest conversations alike",
    )
    honest: DatasetSpec | None = Field(
        None,
        description="honest conversations (label 0) the attacks are also applied to: "
        "the false-positive cost of each attack",
    )
    gate: GateSpec = Field(default_factory=lambda: GateSpec.model_validate({}))
    concurrency: int = Field(8, ge=1, le=256)
    max_attempts: int = Field(4, ge=1, le=20, description="attempts per case on retryable errors")
    max_cost: float | None = Field(None, ge=0, description="USD; stop before spending more")
    cache: str = Field(".cache/eval.db", description="SQLite response cache and run journal")
    emulator: EmulatorSpec | None = None
    controls: ControlsSpec = Field(
        default_factory=lambda: ControlsSpec(), description="generative: fixed-answer controls"
    )
    bootstrap: int = Field(1000, ge=0, le=100_000, description="resamples for the CIs")
    seed: int = 0
    asserts: list[AssertionSpec] = Field(
        default_factory=list, alias="assert", description="generative: checked on every case"
    )
    grader: str | None = Field(None, description="default judge model of llm-rubric")
    show_text: bool = Field(False, description="reports may show the conversation text")
    cache_ttl: str | None = Field(None, description="cached answers expire: 3600, 30m, 12h, 7d")
    base_dir: Path = Field(Path(), exclude=True, description="the suite file's directory")

    @model_validator(mode="before")
    @classmethod
    def _gate_list(cls, data: Any) -> Any:
        # `gate: [{assertion, floor}, ...]` is short for `gate: {assertions: [...]}`.
        if isinstance(data, dict) and isinstance(data.get("gate"), list):
            data = {**data, "gate": {"assertions": data["gate"]}}
        if isinstance(data, dict) and data.get("kind") == "generative" and "variants" not in data:
            data = {**data, "variants": ["with_history"]}  # a generative default
        return data

    @model_validator(mode="after")
    def _kind_fits(self) -> Suite:
        generative = self.kind == "generative"
        for variant in self.variants:
            if generative and not (variant in GENERATIVE or variant.startswith("window:")):
                raise ValueError(
                    f"variant {variant!r} is for labelled suites; generative suites use "
                    "with_history, without_history or window:N"
                )
            if not generative and variant in GENERATIVE:
                raise ValueError(f"variant {variant!r} needs `kind: generative`")
        if generative and (self.attacks or self.generated or self.honest):
            raise ValueError("attacks are for labelled suites, not `kind: generative`")
        if not generative and (self.asserts or self.gate.assertions or self.gate.categories):
            raise ValueError(
                "assertions (`assert`, gate `assertion`, `categories`) need `kind: generative`"
            )
        if generative and "cells" not in self.gate.model_fields_set:
            self.gate.cells = [CellSelector()]  # every cell: there is no `full` variant
        return self

    @field_validator("cache_ttl", mode="before")
    @classmethod
    def _ttl_text(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str):
            parse_ttl(value)  # a bad age is refused when the suite loads
        return value

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

    @field_validator("grader")
    @classmethod
    def _grader_ref(cls, value: str | None) -> str | None:
        if value is not None and ":" not in value:
            raise ValueError(f"grader {value!r} is not a model reference like bedrock:<id>")
        return value

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

    @field_validator("generated")
    @classmethod
    def _known_families(cls, value: list[str]) -> list[str]:
        # `all` stands for every single family; `a+b` combines families.
        families = list(attackgen.FAMILIES)
        value = [n for name in value for n in (families if name == "all" else [name])]
        unknown = [name for name in value if not attackgen.known(name)]
        if unknown:
            raise ValueError(
                f"unknown attack family {unknown[0]!r}; known: all, {', '.join(families)}"
            )
        return _unique(value, "generated attack")

    @model_validator(mode="after")
    def _attack_variants(self) -> Suite:
        # An attack is measured against the conversation as written: `full` is needed.
        if self.attacks or self.generated:
            wanted = [
                "full",
                *(attack_variant(a, self.seed).name for a in self.attacks),
                *(generated_variant(g, self.seed).name for g in self.generated),
            ]
            self.variants = list(dict.fromkeys([*self.variants, *wanted]))
        return self

    def path(self, relative: str) -> Path:
        """A suite path made absolute against the suite file's directory."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate


_TTL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_TTL_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# A century: longer ages overflow `timedelta` or the cut-off date (`now - age`).
MAX_TTL_DAYS = 36_500


def parse_ttl(text: str) -> timedelta:
    """`3600`, `90s`, `30m`, `12h`, `7d` -> a positive duration (at most a century)."""
    match = _TTL.match(str(text))
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not an age: use seconds or a number with s, m, h or d")
    seconds = float(match.group(1)) * _TTL_UNITS[match.group(2)]
    if seconds > MAX_TTL_DAYS * 86400:
        raise ValueError(f"{text!r} is longer than {MAX_TTL_DAYS} days")
    return timedelta(seconds=seconds)


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
    suite = suite.model_copy(update={"base_dir": path.resolve().parent})
    check_python_assertions(suite.asserts, suite.base_dir)
    return suite


def check_python_assertions(
    specs: list[AssertionSpec] | tuple[AssertionSpec, ...], base: Path
) -> None:
    """Import every `python` assertion's function now: a typo is a one-line error
    before any model call, not a failed case."""
    for spec in specs:
        if spec.type == "python":
            load_function(spec.value, base)


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
    """One labelled conversation (`label` 1 means a scam attempt), or for a generative
    suite one turn to answer: the earlier turns (`conversation`), the new `utterance`
    and the assertions its answer must meet (`label` None)."""

    id: str
    label: int | None
    category: str
    tags: tuple[str, ...]
    lang: str
    split: str
    dataset: str
    conversation: Conversation
    utterance: str = ""
    asserts: tuple[AssertionSpec, ...] = ()

    @property
    def generative(self) -> bool:
        return self.label is None


def load_cases(suite: Suite) -> list[Case]:
    """Every selected case of every dataset, in file order; ids must be unique."""
    cases: list[Case] = []
    for spec in suite.datasets:
        cases.extend(
            load_dataset(suite.path(spec.path), spec, generative=suite.kind == "generative")
        )
    if suite.honest is not None:
        honest = load_dataset(suite.path(suite.honest.path), suite.honest)
        scams = [c.id for c in honest if c.label != 0]
        if scams:
            raise InputError(f"honest dataset {suite.honest.path}: case {scams[0]} has label 1")
        cases.extend(honest)
    counts = Counter(c.id for c in cases)
    duplicates = sorted(i for i, n in counts.items() if n > 1)
    if duplicates:
        raise InputError(f"case ids repeat across datasets: {', '.join(duplicates[:5])}")
    if not cases:
        raise InputError(f"suite {suite.name}: the dataset filters select no case")
    for case in cases:
        if suite.kind == "generative":
            _check_generative(suite, case)
    return cases


def _check_generative(suite: Suite, case: Case) -> None:
    # A rubric without a judge is reported "not graded": it cannot be a case's only check.
    specs = [*suite.asserts, *case.asserts]
    checked = [
        a for a in specs if a.weight > 0 and (a.type != "llm-rubric" or a.grader or suite.grader)
    ]
    if not checked:
        raise InputError(
            f"case {case.id}: no assertion to meet (suite or case `assert`; "
            "an llm-rubric counts only with a `grader`)"
        )
    check_python_assertions(case.asserts, suite.base_dir)


def load_dataset(path: Path, spec: DatasetSpec, *, generative: bool = False) -> list[Case]:
    """The cases of one JSONL dataset file that pass the spec's filters."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read dataset {path}: {exc}") from None
    name = spec.name or path.stem
    cases = []
    kept = 0  # cases through the filters, for `every`
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        case = _turn_case(line, where, name) if generative else _case(line, where, name)
        if spec.split is not None and case.split != spec.split:
            continue
        if spec.tags is not None and not set(spec.tags) & set(case.tags):
            continue
        if spec.label is not None and case.label != spec.label:
            continue
        kept += 1
        if spec.every is not None and (kept - 1) % spec.every:
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


_ROLES = {"child": "child", "companion": "assistant"}  # the senders the skill stores
_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)


def _turn_case(line: str, where: str, dataset: str) -> Case:
    """A generative case: {"id", "category", "history": [{"role", "text"}], "utterance",
    "assert": [...], "notes"}."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: malformed JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise InputError(f"{where}: a case is an object with id, utterance and assert")
    utterance = data.get("utterance")
    if not isinstance(utterance, str) or not utterance.strip():
        raise InputError(f"{where}: utterance must be a non-empty string")
    history = data.get("history") or []
    if not isinstance(history, list):
        raise InputError(f"{where}: history must be a list of {{role, text}}")
    messages = []
    for index, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in _ROLES:
            raise InputError(f"{where}: history[{index}].role must be child or companion")
        if not isinstance(turn.get("text"), str):
            raise InputError(f"{where}: history[{index}].text must be a string")
        messages.append(
            Message(
                conversation_id=data["id"],
                timestamp=_EPOCH + timedelta(minutes=index),
                sender=_ROLES[turn["role"]],
                text=turn["text"],
            )
        )
    raw_asserts = data.get("assert") or []
    if not isinstance(raw_asserts, list):
        raise InputError(f"{where}: assert must be a list of assertion objects")
    try:
        asserts = tuple(AssertionSpec.model_validate(a) for a in raw_asserts)
    except ValidationError as exc:
        raise InputError(f"{where}: assert: {describe_error(exc)}") from None
    tags = data.get("tags") or []
    return Case(
        id=data["id"],
        label=None,
        category=str(data.get("category") or "none"),
        tags=tuple(str(t) for t in tags) if isinstance(tags, list) else (),
        lang=str(data.get("lang") or ""),
        split=str(data.get("split") or ""),
        dataset=dataset,
        conversation=Conversation(id=data["id"], messages=tuple(messages)),
        utterance=utterance,
        asserts=asserts,
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
    if suite.kind == "generative":  # what the answers are checked against is the work too
        judged = [[a.model_dump() for a in suite.asserts], suite.grader, suite.show_text]
        digest.update(json.dumps(judged, default=str).encode())
    for case in cases:
        turns = [(m.sender, m.text, m.iso_timestamp) for m in case.conversation.messages]
        checks = [a.model_dump() for a in case.asserts]
        digest.update(json.dumps([case.id, case.label, turns, case.utterance, checks]).encode())
    return digest.hexdigest()
