"""Model-graded rubrics: a judge model grades one answer against a rubric in plain words.

The judge's prompt is a stored, versioned template (`prompts/rubric-judge/v1.j2`):
the rubric, the conversation and the answer are template variables, neutralised
and inside delimiters like any user text. The judge is any model reference; it is
asked for the grade tool (`pass`, `score`, `reason`). Its answer is parsed with the
care of a verdict: the tool's input, a whole reply that is one JSON object with
exactly those types, or (a judge answering in text by parley's text answer contract)
a final line `VERDICT <this request's answer code>: <that object>`. Anything else is
*ungradable*, and the assertion fails.
"""

from __future__ import annotations

import hmac
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from ..verdict import ANSWER_MARK, json_object
from .assertions import Grade

if TYPE_CHECKING:
    from ..conversation import Conversation
    from ..models import ModelResult
    from ..prompts import PromptTemplate, RenderedPrompt

JUDGE_PROMPT = "rubric-judge@1"

GRADE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "pass": {"type": "boolean", "description": "true when the answer meets the rubric"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string", "description": "one short sentence"},
    },
    "required": ["pass", "score", "reason"],
}


class _JudgeGrade(BaseModel):
    model_config = ConfigDict(extra="ignore")

    passed: StrictBool = Field(alias="pass")
    score: float = Field(ge=0.0, le=1.0)
    reason: str = Field("", max_length=1000)


def render_judge(
    template: PromptTemplate,
    *,
    rubric: str,
    history: Conversation,
    utterance: str,
    answer: str,
) -> RenderedPrompt:
    """The judge's prompt for one answer (every value neutralised by the template)."""
    return template.render_conversation(history, rubric=rubric, utterance=utterance, answer=answer)


_MARKED = re.compile(rf"^{ANSWER_MARK} (\S+): (\{{.*\}})$")


def _marked_object(text: str, nonce: str | None) -> Any:
    """The object on the reply's last line when it is `VERDICT <nonce>: {…}` with the
    answer code of the judge's own request (a cached answer keeps its code)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    match = _MARKED.match(lines[-1]) if lines and nonce else None
    if match is None or not hmac.compare_digest(match.group(1).encode(), str(nonce).encode()):
        return None
    return json_object(match.group(2))


def parse_grade(result: ModelResult) -> Grade | str:
    """The judge's grade, or the reason it is ungradable (never a silent pass)."""
    data: Any = result.structured
    if data is None:
        text = (result.text or "").strip()
        if not text:
            return "the judge gave no answer"
        # The whole reply (not an object found inside it), read as a verdict is: a
        # repeated key ({"pass": false, …, "pass": true}) or NaN makes it no object.
        data = json_object(text) if text.startswith("{") else None
        if data is None:
            data = _marked_object(text, result.extra.get("answer_nonce"))
            if data is None:
                return "the judge's reply is not one JSON object nor a marked final line"
    if not isinstance(data, dict):
        return "the judge's reply is not an object"
    if isinstance(data.get("score"), bool):
        return "the judge's score is not a number"
    try:
        grade = _JudgeGrade.model_validate(data)
    except ValidationError as exc:
        field = ".".join(str(p) for p in exc.errors()[0]["loc"]) or "grade"
        return f"the judge's {field} is missing or invalid"
    return Grade(passed=grade.passed, score=grade.score, reason=grade.reason.strip())
