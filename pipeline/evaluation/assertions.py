"""Assertions on free-text answers: what a generative suite checks in every answer.

Each assertion is declared in the suite (for every case) or in a case, as
`{"type": ..., "value": ..., "weight": 1.0}` (the form promptfoo made familiar), and
gives a pass/fail, a score in 0..1 and a reason. Matchers see normalised text
(NFKC, straight quotes, no zero-width or control characters, one space).

No assertion can pass on an empty or missing answer, nor on one of markup alone
(tags, markdown, entities: what the output screen would leave empty): `evaluate`
fails every kind with the reason "no answer" before looking at its value. Nor can
a text assertion pass on an answer with no word in it ("...", "-", "🙂"): nothing
was said (the JSON checks may still see "{}").
The model-graded `llm-rubric` is graded elsewhere (rubric.py, a model call); here
its grade, already parsed, becomes an outcome like any other.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..errors import ConfigError
from ..normalise import normalised_text
from ..screen import clean_text, find_contacts, screen_output

if TYPE_CHECKING:
    from ..prompts import RenderedPrompt

_TEXT_ANY = ("contains-any", "icontains-any", "not-contains-any", "not-icontains-any")
_TEXT_ALL = ("contains-all", "icontains-all")
_TEXT_ONE = ("contains", "not-contains", "icontains", "not-icontains", "starts-with")
_NUMBER = ("max-sentences", "max-words", "max-spoken-seconds", "latency-ms", "cost-usd")
_NO_VALUE = ("valid-ssml", "passes-screen", "no-pii", "is-json")
_STRUCTURED = frozenset({"is-json", "json-schema", "python"})  # may judge "{}" or "[]"
TYPES = frozenset(
    {*_TEXT_ANY, *_TEXT_ALL, *_TEXT_ONE, *_NUMBER, *_NO_VALUE}
    | {"regex", "not-regex", "language", "json-schema", "python", "llm-rubric"}
)


class AssertionSpec(BaseModel):
    """One assertion as written in a suite or a case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    value: Any = None
    weight: float = Field(1.0, ge=0, description="0: reported, not counted in the case's pass")
    rate_wpm: float = Field(150.0, gt=0, le=1000, description="max-spoken-seconds: words/min")
    threshold: float | None = Field(
        None, ge=0, le=1, description="python / llm-rubric: lowest passing score"
    )
    grader: str | None = Field(None, description="llm-rubric: model reference of the judge")

    @model_validator(mode="after")
    def _value_fits_type(self) -> AssertionSpec:
        kind, value = self.type, self.value
        if kind not in TYPES:
            raise ValueError(f"unknown assertion type {kind!r}; known: {', '.join(sorted(TYPES))}")
        if kind in _TEXT_ANY + _TEXT_ALL:
            if isinstance(value, str):
                value = [value]
            if not _strings(value):
                raise ValueError(f"{kind}: value is a list of non-empty strings")
        elif kind in (*_TEXT_ONE, "language", "llm-rubric", "python"):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{kind}: value is a non-empty string")
        elif kind in ("regex", "not-regex"):
            if not isinstance(value, str):
                raise ValueError(f"{kind}: value is a regular expression string")
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{kind}: bad regular expression ({exc})") from None
        elif kind in _NUMBER:
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{kind}: value is a number >= 0")
        elif kind == "json-schema":
            if not isinstance(value, dict):
                raise ValueError("json-schema: value is a JSON schema object")
            from jsonschema import Draft202012Validator, SchemaError

            try:
                Draft202012Validator.check_schema(value)
            except SchemaError as exc:
                raise ValueError(f"json-schema: not a valid schema ({exc.message})") from None
        if kind == "python" and not re.fullmatch(r"[\w.]+:\w+", value):
            raise ValueError("python: value is 'module:function'")
        if self.grader is not None and ":" not in self.grader:
            raise ValueError(f"grader {self.grader!r} is not a model reference like bedrock:<id>")
        if value is not self.value:
            object.__setattr__(self, "value", value)
        return self

    @property
    def label(self) -> str:
        """Short description for reports: the type and its value."""
        if self.value is None:
            return self.type
        shown = self.value if isinstance(self.value, str) else json.dumps(self.value)
        return f"{self.type} {_short(shown, 80)}"


def _strings(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(v, str) and v.strip() for v in value)
    )


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AssertionOutcome(BaseModel):
    """The result of one assertion on one answer."""

    model_config = ConfigDict(frozen=True)

    type: str
    label: str
    passed: bool
    score: float = Field(ge=0, le=1)
    reason: str
    weight: float = 1.0
    skipped: bool = Field(
        False, description="not checked (an llm-rubric with no grader): neither pass nor fail"
    )

    @property
    def counted(self) -> bool:
        """Counts towards the case's pass: a weight above 0, and checked."""
        return self.weight > 0 and not self.skipped


@dataclass(frozen=True)
class AnswerContext:
    """What an assertion may look at."""

    case: Any  # suite.Case (not imported: suite imports this module)
    answer: str | None
    prompt: RenderedPrompt | None = None
    latency_ms: float = 0.0
    cost_usd: float = 0.0


NOT_GRADED = "no grader configured"


@dataclass(frozen=True)
class Grade:
    """A judge's parsed grade of one answer against one rubric."""

    passed: bool
    score: float
    reason: str


# ---------------------------------------------------------------- normalising

_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+(?:['’-][^\W_]+)*")
_SENTENCE = re.compile(r"[^.!?]*[^\W_][^.!?]*(?:[.!?]+|$)")
_STREET = re.compile(
    r"\b\d{1,5}[a-z]?,?\s+(?:[A-Za-z'-]+\s+){1,3}(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr"
    r"|way|close|court|ct|boulevard|blvd|place|pl|terrace|crescent|gardens|square|highway)\b\.?",
    re.IGNORECASE,
)
_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s+\d[A-Z]{2}\b")  # UK postcodes


def normalise(text: str) -> str:
    """What text matchers see: parley's normalisation (`pipeline.normalise`: invisible
    characters removed, NFKC, look-alike letters mapped to Latin), straight quotes, no
    control characters, one space."""
    text = normalised_text(text).translate(_QUOTES)
    return _SPACES.sub(" ", _CONTROLS.sub("", text)).strip()


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


# ------------------------------------------------------------------- checking

Check = Callable[[AssertionSpec, str, AnswerContext], tuple[bool, float, str]]


def evaluate(
    spec: AssertionSpec, ctx: AnswerContext, grade: Grade | str | None = None
) -> AssertionOutcome:
    """One assertion on one answer. `grade`: the judge's grade (or why there is none)
    for `llm-rubric`."""
    text = normalise(ctx.answer) if ctx.answer is not None else ""
    # Markup alone ("<speak></speak>", "**", "&nbsp;") is no answer either: nothing to say.
    cleaned = clean_text(ctx.answer or "")
    if not text or not cleaned:
        return _outcome(spec, False, 0.0, "no answer: an empty or missing answer never passes")
    if spec.type not in _STRUCTURED and not any(c.isalnum() for c in cleaned):
        return _outcome(spec, False, 0.0, "no words: an answer without a word never passes")
    if spec.type == "llm-rubric" and grade == NOT_GRADED:
        # The suite runs without a judge (offline): the rubric is shown as not graded,
        # and neither passes nor fails the case.
        return _outcome(spec, False, 0.0, "not graded: the suite names no grader", skipped=True)
    try:
        if spec.type == "llm-rubric":
            passed, score, reason = _rubric(spec, grade)
        else:
            passed, score, reason = _CHECKS[spec.type](spec, text, ctx)
    except Exception as exc:  # a check that breaks fails its case; it never passes
        passed, score, reason = False, 0.0, f"error: {type(exc).__name__}: {_short(str(exc), 200)}"
    return _outcome(spec, passed, score, reason)


def _outcome(
    spec: AssertionSpec, passed: bool, score: float, reason: str, *, skipped: bool = False
) -> AssertionOutcome:
    score = min(1.0, max(0.0, float(score)))
    return AssertionOutcome(
        type=spec.type,
        label=spec.label,
        passed=bool(passed),
        score=score,
        reason=reason,
        weight=spec.weight,
        skipped=skipped,
    )


def _found(needles: list[str], text: str, fold: bool) -> list[str]:
    hay = text.casefold() if fold else text
    return [n for n in needles if (normalise(n).casefold() if fold else normalise(n)) in hay]


def _text_check(spec: AssertionSpec, text: str, _ctx: AnswerContext) -> tuple[bool, float, str]:
    kind = spec.type
    negate = kind.startswith("not-")
    fold = kind.removeprefix("not-").startswith("i")
    needles = [spec.value] if isinstance(spec.value, str) else list(spec.value)
    found = _found(needles, text, fold)
    if kind.endswith("-all"):
        missing = [n for n in needles if n not in found]
        share = len(found) / len(needles)
        return (not missing, share, "all present" if not missing else f"missing: {missing}")
    if negate:
        return (not found, 0.0 if found else 1.0, f"found: {found}" if found else "none found")
    return (bool(found), 1.0 if found else 0.0, f"found: {found}" if found else "none found")


def _starts_with(spec: AssertionSpec, text: str, _ctx: AnswerContext) -> tuple[bool, float, str]:
    ok = text.startswith(normalise(spec.value))
    return ok, float(ok), "starts as expected" if ok else f"starts with {_short(text, 40)!r}"


def _regex(spec: AssertionSpec, text: str, _ctx: AnswerContext) -> tuple[bool, float, str]:
    match = re.search(spec.value, text)
    found = f"matched {_short(match.group(0), 60)!r}" if match else "no match"
    ok = (match is None) if spec.type == "not-regex" else (match is not None)
    return ok, float(ok), found


def _ceiling(actual: float, limit: float, unit: str) -> tuple[bool, float, str]:
    ok = actual <= limit
    score = 1.0 if ok else (limit / actual if actual else 0.0)
    return ok, score, f"{actual:g} {unit} ({'≤' if ok else '>'} {limit:g})"


def _max_sentences(spec: AssertionSpec, text: str, _ctx: AnswerContext) -> tuple[bool, float, str]:
    return _ceiling(len(sentences(text)), spec.value, "sentences")


def _max_words(spec: AssertionSpec, text: str, _ctx: AnswerContext) -> tuple[bool, float, str]:
    return _ceiling(len(words(text)), spec.value, "words")


def _spoken(spec: AssertionSpec, text: str, _ctx: AnswerContext) -> tuple[bool, float, str]:
    seconds = round(len(words(text)) / spec.rate_wpm * 60, 1)
    return _ceiling(seconds, spec.value, f"s spoken at {spec.rate_wpm:g} wpm")


def _latency(spec: AssertionSpec, _text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    return _ceiling(round(ctx.latency_ms, 1), spec.value, "ms")


def _cost(spec: AssertionSpec, _text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    return _ceiling(round(ctx.cost_usd, 6), spec.value, "USD")


def _valid_ssml(_spec: AssertionSpec, _text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    # What Alexa is given: the screened answer, escaped, inside <speak>. The answer
    # is escaped first, so the parser never sees markup the model wrote.
    ssml = screen_output(ctx.answer).ssml
    if not ssml:
        return False, 0.0, "nothing left to speak after screening"
    try:
        ElementTree.fromstring(f"<speak>{ssml}</speak>")
    except ElementTree.ParseError as exc:
        return False, 0.0, f"not valid SSML ({exc})"
    return True, 1.0, "valid SSML"


def _passes_screen(_spec: AssertionSpec, _text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    screened = screen_output(ctx.answer)
    if screened.ok:
        return True, 1.0, "passes the output screen"
    return False, 0.0, f"screen problems: {', '.join(screened.problems)}"


def find_pii(text: str) -> list[str]:
    """Kinds of personal details in text: e-mail, phone, URL, street address."""
    cleaned = normalise(clean_text(text))
    found = find_contacts(cleaned)
    if _STREET.search(cleaned) or _POSTCODE.search(cleaned):
        found.append("address")
    return found


def _no_pii(_spec: AssertionSpec, _text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    found = find_pii(ctx.answer or "")
    return (not found, 0.0 if found else 1.0, f"found: {', '.join(found)}" if found else "none")


MIN_LANGUAGE_WORDS = 3


def _language(spec: AssertionSpec, text: str, _ctx: AnswerContext) -> tuple[bool, float, str]:
    count = len(words(text))
    if count < MIN_LANGUAGE_WORDS:
        return False, 0.0, f"too short to identify a language ({count} words)"
    found, probability = detect_language(text)
    want = spec.value.strip().lower()
    ok = found == want
    return ok, probability if ok else 0.0, f"detected {found} (p={probability:.2f})"


def detect_language(text: str) -> tuple[str, float]:
    """(ISO 639-1 code, probability) from py3langid's model (loaded once)."""
    identifier = _identifier()
    code, probability = identifier.classify(text)
    return str(code), float(probability)


def preload_language_model() -> None:
    """Load the detector on a background thread, so the first `language` check does not
    hold up the runner's bookkeeping while calls could be in flight."""
    import threading

    threading.Thread(target=_identifier, name="parley-langid-load", daemon=True).start()


@cache
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _is_json(_spec: AssertionSpec, text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    try:
        json.loads((ctx.answer or "").strip())
    except json.JSONDecodeError as exc:
        return False, 0.0, f"not JSON ({exc.msg} at {exc.pos})"
    return True, 1.0, "valid JSON"


def _json_schema(spec: AssertionSpec, text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    from jsonschema import Draft202012Validator

    try:
        document = json.loads((ctx.answer or "").strip())
    except json.JSONDecodeError as exc:
        return False, 0.0, f"not JSON ({exc.msg} at {exc.pos})"
    errors = list(Draft202012Validator(spec.value).iter_errors(document))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
        return False, 0.0, f"{len(errors)} schema error(s); first at {where}: {errors[0].message}"
    return True, 1.0, "matches the schema"


def _python(spec: AssertionSpec, text: str, ctx: AnswerContext) -> tuple[bool, float, str]:
    func = load_function(spec.value)
    value = func(ctx.case, ctx.answer, ctx.prompt)
    threshold = 0.5 if spec.threshold is None else spec.threshold
    if isinstance(value, bool):
        return value, float(value), f"{spec.value} returned {value}"
    if isinstance(value, int | float):
        score = float(value)
        return score >= threshold, score, f"{spec.value} scored {score:.2f} (pass ≥ {threshold:g})"
    if isinstance(value, dict) and isinstance(value.get("pass"), bool):
        score = value.get("score", 1.0 if value["pass"] else 0.0)
        if isinstance(score, bool) or not isinstance(score, int | float):
            return False, 0.0, f"{spec.value} returned a non-numeric score"
        return value["pass"], float(score), str(value.get("reason") or f"{spec.value}")[:500]
    return False, 0.0, f"{spec.value} returned {type(value).__name__}, not bool/float/dict"


def _rubric(spec: AssertionSpec, grade: Grade | str | None) -> tuple[bool, float, str]:
    if not isinstance(grade, Grade):
        return False, 0.0, f"ungradable: {grade or 'no grade'}"
    ok = grade.passed and (spec.threshold is None or grade.score >= spec.threshold)
    return ok, grade.score, grade.reason or ("pass" if ok else "fail")


_CHECKS: dict[str, Check] = {
    **{kind: _text_check for kind in _TEXT_ANY + _TEXT_ALL + _TEXT_ONE if kind != "starts-with"},
    "starts-with": _starts_with,
    "regex": _regex,
    "not-regex": _regex,
    "max-sentences": _max_sentences,
    "max-words": _max_words,
    "max-spoken-seconds": _spoken,
    "latency-ms": _latency,
    "cost-usd": _cost,
    "valid-ssml": _valid_ssml,
    "passes-screen": _passes_screen,
    "no-pii": _no_pii,
    "language": _language,
    "is-json": _is_json,
    "json-schema": _json_schema,
    "python": _python,
}


def load_function(reference: str, base_dir: Path | None = None) -> Callable[..., Any]:
    """The function `module:function`; the suite's directory is importable first."""
    return _load_function(reference, str(base_dir) if base_dir else "")


@cache
def _load_function(reference: str, base_dir: str) -> Callable[..., Any]:
    module_name, _, name = reference.partition(":")
    if base_dir and base_dir not in sys.path:
        sys.path.insert(0, base_dir)  # like pytest's rootdir: suite helpers sit beside it
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"python assertion {reference}: cannot import ({exc})") from None
    func = getattr(module, name, None)
    if not callable(func):
        raise ConfigError(f"python assertion {reference}: no function {name!r}")
    return func  # type: ignore[no-any-return]


def case_passed(outcomes: list[AssertionOutcome]) -> bool:
    """A case passes when every counted assertion (weight > 0, checked) passes, and at
    least one was counted."""
    counted = [o for o in outcomes if o.counted]
    return bool(counted) and all(o.passed for o in counted)


def case_score(outcomes: list[AssertionOutcome]) -> float:
    """The weighted mean of the checked assertions' scores (0.0 when none is counted)."""
    checked = [o for o in outcomes if not o.skipped]
    total = sum(o.weight for o in checked)
    return sum(o.score * o.weight for o in checked) / total if total else 0.0
