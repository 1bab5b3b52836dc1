"""The verdict schema, the scam taxonomy, and the one parser of model answers.

A model answer that cannot be parsed becomes `status="undetermined"` with
`suspicious=None`, never a silent 0.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class Category(StrEnum):
    """Scam taxonomy (docs/taxonomy.md explains each with an example)."""

    ADVANCE_FEE_DEPOSIT = "advance_fee_deposit"
    OFF_PLATFORM_PAYMENT = "off_platform_payment"
    OVERPAYMENT_REFUND = "overpayment_refund"
    PHISHING_LINK = "phishing_link"
    CREDENTIAL_THEFT = "credential_theft"
    FAKE_ESCROW_FEE = "fake_escrow_fee"
    PRESSURE_URGENCY = "pressure_urgency"
    OTHER = "other"


Status = Literal["scored", "undetermined"]


class ModelVerdict(BaseModel):
    """What the model is asked to return (the tool's input schema)."""

    model_config = ConfigDict(extra="ignore")

    suspicious: bool = Field(description="true if the conversation shows a scam attempt")
    score: float = Field(ge=0.0, le=1.0, description="probability that it is a scam")
    categories: list[Category] = Field(
        default_factory=list, description="scam categories present; empty when not suspicious"
    )
    rationale: str = Field("", max_length=600, description="one or two sentences, no quotes")

    @field_validator("categories", mode="before")
    @classmethod
    def _known_categories(cls, value: Any) -> Any:
        # Unknown category names from a model map to "other" instead of failing the verdict.
        if isinstance(value, list):
            known = {c.value for c in Category}
            return [v if v in known else Category.OTHER.value for v in value]
        return value

    @field_validator("rationale", mode="before")
    @classmethod
    def _short_rationale(cls, value: Any) -> Any:
        return value[:600] if isinstance(value, str) else value


def verdict_tool_schema() -> dict[str, Any]:
    """JSON schema of ModelVerdict, plain enough for every Converse tool-use model."""
    return {
        "type": "object",
        "properties": {
            "suspicious": {"type": "boolean", "description": "true if this is a scam attempt"},
            "score": {"type": "number", "minimum": 0, "maximum": 1},
            "categories": {
                "type": "array",
                "items": {"type": "string", "enum": [c.value for c in Category]},
            },
            "rationale": {"type": "string", "maxLength": 600},
        },
        "required": ["suspicious", "score", "categories", "rationale"],
    }


class Verdict(BaseModel):
    """A judgement on a conversation, at its newest message."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str
    last_message_at: datetime
    suspicious: bool | None
    score: float | None = Field(None, ge=0.0, le=1.0)
    categories: tuple[Category, ...] = ()
    rationale: str = ""
    status: Status
    model_id: str
    prompt: str = Field(description="prompt id@version")
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    decided_by: str | None = Field(None, description="the cascade tier that decided")
    window_digest: str | None = Field(
        None, description="hash of the messages judged (Conversation.digest); part of the key"
    )
    edited: bool = Field(
        False, description="the judged messages include one whose text was edited (MODIFY)"
    )

    @property
    def event_type(self) -> str:
        if self.status == "undetermined" or self.suspicious is None:
            return "parley.conversation.undetermined"
        return "parley.conversation.flagged" if self.suspicious else "parley.conversation.cleared"


class ParsedAnswer(BaseModel):
    """The model-independent part of a verdict, from whatever the model said."""

    suspicious: bool | None
    score: float | None = None
    categories: tuple[Category, ...] = ()
    rationale: str = ""
    status: Status


UNDETERMINED = ParsedAnswer(suspicious=None, status="undetermined")

# "1", " 0", "1.", "Answer: 1", "the answer is 0", "**1**" — a lone 0/1 token.
_LEGACY_TOKEN = re.compile(r"(?<![\w.,])([01])(?![\w,]|\.\d)")
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_structured(data: Any) -> ParsedAnswer:
    """Parse a tool-use input (dict) or a JSON string into an answer."""
    if isinstance(data, str):
        match = _JSON_OBJECT.search(data)
        if not match:
            return UNDETERMINED
        try:
            data = json.loads(match.group(0))
        except json.JSONDecodeError:
            return UNDETERMINED
    if not isinstance(data, dict):
        return UNDETERMINED
    try:
        answer = ModelVerdict.model_validate(data)
    except ValidationError:
        return UNDETERMINED
    return ParsedAnswer(
        suspicious=answer.suspicious,
        score=answer.score,
        categories=tuple(answer.categories) if answer.suspicious else (),
        rationale=answer.rationale,
        status="scored",
    )


def parse_legacy(text: Any) -> ParsedAnswer:
    """Parse the v1 answer form: a 1 (suspicious) or a 0, maybe inside a sentence.

    Exactly one distinct 0/1 token must be present; "0 or 1" is ambiguous.
    """
    if not isinstance(text, str):
        return UNDETERMINED
    tokens = set(_LEGACY_TOKEN.findall(text[:2000]))
    if len(tokens) != 1:
        return UNDETERMINED
    suspicious = tokens.pop() == "1"
    return ParsedAnswer(suspicious=suspicious, score=1.0 if suspicious else 0.0, status="scored")


def parse_answer(*, structured: Any = None, text: str | None = None) -> ParsedAnswer:
    """The one entry point: structured output first, then JSON in text, then legacy text."""
    if structured is not None:
        parsed = parse_structured(structured)
        if parsed.status == "scored":
            return parsed
    if text:
        parsed = parse_structured(text) if "{" in text else UNDETERMINED
        if parsed.status == "scored":
            return parsed
        return parse_legacy(text)
    return UNDETERMINED
