"""Generative cells: answer a child's turn, then check the answer's assertions.

The runner calls the model as for a verdict; this module adds what differs: the
prompt renders the earlier turns (after the variant) and the new utterance, the
worker also asks the judges of `llm-rubric` assertions (each grade is a cached
model call like the answer), and the record holds the answer and every
assertion's outcome. Who served each call is named as it is (`served_by`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..settings import get_settings
from .assertions import (
    NOT_GRADED,
    AnswerContext,
    AssertionOutcome,
    AssertionSpec,
    Grade,
    case_passed,
    case_score,
    evaluate,
)
from .cache import cache_key
from .results import CaseResult, _case_fields
from .rubric import GRADE_SCHEMA, parse_grade, render_judge

if TYPE_CHECKING:
    from ..conversation import Conversation
    from ..models import ChatModel, ModelResult
    from ..prompts import PromptTemplate, RenderedPrompt
    from .suite import Case, Cell, Suite


def served_by(suite: Suite, reference: str, *, judge: bool = False) -> str:
    """Who answers a model reference's calls in this suite, named as it is."""
    prefix = reference.partition(":")[0]
    if "bedrock:" in reference:
        if suite.emulator is not None and suite.emulator.start:
            responder = "queued grades" if judge else f"{suite.emulator.responder} responder"
            label = f"emulator ({responder})"
            return f"{label}, with a local first tier" if prefix == "cascade" else label
        endpoint = get_settings().bedrock_endpoint_url
        if endpoint:
            return f"endpoint {endpoint}"
        return "bedrock"
    return prefix


def is_emulated(label: str) -> bool:
    return label.startswith("emulator")


# ------------------------------------------------------------------ fail fast

# Codes that mean "this configuration cannot work": on a model's first calls they
# stop the run (exit 2) instead of recording every case as failed.
FATAL_CODES: dict[str, str] = {
    "NoCredentialsError": "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID",
    "PartialCredentialsError": "incomplete AWS credentials",
    "UnrecognizedClientException": "the AWS credentials are not valid",
    "InvalidSignatureException": "the AWS credentials are not valid",
    "ExpiredTokenException": "the AWS session token has expired",
    "AccessDeniedException": "access denied: check model access in the Bedrock console and IAM",
    "ResourceNotFoundException": "unknown model id (or not offered in this region)",
    "ValidationException": "the request was refused: is the model id right for this region?",
    "EndpointConnectionError": "the endpoint cannot be reached",
    "ConnectTimeoutError": "the endpoint cannot be reached (connect timeout)",
}


class FirstCallError(ConfigError):
    """A model failed its first calls for a reason no retry can fix."""


def first_call_error(reference: str, code: str) -> FirstCallError:
    return FirstCallError(
        f"stopped: {reference} failed its first call with {code}: {FATAL_CODES[code]}"
    )


# ------------------------------------------------------------------- the tasks


@dataclass(frozen=True)
class Judging:
    """What the runner needs to grade rubrics: the judges and their prompt."""

    graders: dict[str, ChatModel] = field(default_factory=dict)
    identities: dict[str, str] = field(default_factory=dict)
    served: dict[str, str] = field(default_factory=dict)
    template: PromptTemplate | None = None
    default_grader: str | None = None


@dataclass(frozen=True)
class GradeCall:
    """One judge call: which assertion, which judge, its prompt and cache key."""

    index: int
    grader: str
    prompt: RenderedPrompt
    key: str


@dataclass(frozen=True)
class GradeAnswer:
    """A judge's answer to one GradeCall (or the error code of its failed call)."""

    call: GradeCall
    result: ModelResult | None
    attempts: int = 0
    error: str | None = None
    cached: bool = False


def case_specs(suite_asserts: list[AssertionSpec], case: Case) -> tuple[AssertionSpec, ...]:
    """The suite's assertions, then the case's own."""
    return (*suite_asserts, *case.asserts)


def grade_calls(
    specs: tuple[AssertionSpec, ...],
    judging: Judging,
    history: Conversation,
    case: Case,
    answer: str | None,
) -> list[GradeCall]:
    """The judge calls an answer needs (none for an empty answer: it fails anyway)."""
    if not answer or not answer.strip() or judging.template is None:
        return []
    calls = []
    for index, spec in enumerate(specs):
        if spec.type != "llm-rubric":
            continue
        grader = spec.grader or judging.default_grader
        if grader is None or grader not in judging.graders:
            continue  # no judge: the outcome says "not graded" (build_result)
        prompt = render_judge(
            judging.template, rubric=spec.value, history=history, utterance=case.utterance,
            answer=answer,
        )  # fmt: skip
        key = cache_key(judging.identities[grader], prompt, GRADE_SCHEMA)
        calls.append(GradeCall(index, grader, prompt, key))
    return calls


def judge_stand_in(max_answer_tokens: int) -> str:
    """A stand-in answer of the longest length, to budget judge calls before the answer
    exists."""
    return "x" * (4 * max_answer_tokens)


def build_result(
    case: Case,
    cell: Cell,
    specs: tuple[AssertionSpec, ...],
    *,
    result: ModelResult,
    prompt: RenderedPrompt,
    history: Conversation,
    grades: list[GradeAnswer],
    served: str,
    judges_served: dict[str, str],
    default_grader: str | None = None,
    cached: bool,
    attempts: int,
    elapsed_ms: float,
    show_text: bool,
) -> CaseResult:
    """The record of one answered generative case, its assertions checked."""
    cost = 0.0 if is_emulated(served) else _cost(result)
    latency = round(result.latency_ms or elapsed_ms, 3)
    context = AnswerContext(
        case=case, answer=result.text, prompt=prompt, latency_ms=latency, cost_usd=cost
    )
    by_index: dict[int, Grade | str] = {
        i: NOT_GRADED
        for i, spec in enumerate(specs)
        if spec.type == "llm-rubric" and not (spec.grader or default_grader)
    }
    for grade in grades:
        if grade.result is None:
            by_index[grade.call.index] = f"the judge's call failed ({grade.error})"
        else:
            by_index[grade.call.index] = parse_grade(grade.result)
    outcomes: list[AssertionOutcome] = [
        evaluate(spec, context, by_index.get(i) if spec.type == "llm-rubric" else None)
        for i, spec in enumerate(specs)
    ]
    # Each judge by who served it: an emulated judge's grade costs nothing.
    judge_labels = [judges_served.get(g.call.grader, "") for g in grades]
    grader_cost = sum(
        _cost(g.result)
        for g, label in zip(grades, judge_labels, strict=True)
        if g.result is not None and not g.cached and not is_emulated(label)
    )
    text: dict[str, Any] = {}
    if show_text:
        text = {
            "turns": tuple((m.sender, m.text) for m in history.messages),
            "utterance": case.utterance,
        }
    return CaseResult(
        **_case_fields(case, cell),
        status="scored",
        model_id=result.model_id,
        messages_shown=prompt.messages_shown,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        cost_usd=cost,
        latency_ms=latency,
        cached=cached,
        attempts=attempts,
        served_by=served,
        answer=result.text,
        passed=case_passed(outcomes),
        assertion_score=round(case_score(outcomes), 4),
        assertions=tuple(outcomes),
        grader_cost_usd=grader_cost,
        grader_served_by=", ".join(sorted(set(judge_labels))),
        **text,
    )


def _cost(result: ModelResult) -> float:
    from ..models.pricing import estimate_cost

    return result.cost_usd or estimate_cost(
        result.model_id, result.input_tokens, result.output_tokens
    )
