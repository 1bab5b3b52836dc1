"""The pure core: judge one conversation with one prompt and one model."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .errors import InputError
from .models import ModelResult
from .models.pricing import estimate_cost
from .verdict import ParsedAnswer, Verdict, parse_answer, parse_text_answer, verdict_tool_schema

if TYPE_CHECKING:
    from collections.abc import Collection
    from datetime import datetime

    from .conversation import Conversation
    from .models import ChatModel
    from .prompts import PromptTemplate, RenderedPrompt


def parse_result(prompt: RenderedPrompt, result: ModelResult) -> ParsedAnswer:
    """Read a model result by what the prompt asked for (structured verdict or legacy 0/1).

    Text is read by the text answer contract with the answer code of the request that
    produced it (kept on the result; a cached result was asked with an older render's).
    """
    nonce = result.extra.get("answer_nonce") or prompt.nonce
    if prompt.output == "legacy" and result.structured is None:
        return parse_text_answer(result.text, nonce)
    return parse_answer(structured=result.structured, text=result.text, nonce=nonce)


def verdict_rationale(answer: ParsedAnswer) -> str:
    """The model's rationale; for an undetermined answer, why first (parley's words)."""
    if answer.status == "scored" or not answer.reason:
        return answer.rationale
    reason = f"undetermined: {answer.reason}"
    return f"{reason}; model rationale: {answer.rationale}" if answer.rationale else reason


def build_verdict(
    conversation: Conversation, prompt: RenderedPrompt, result: ModelResult, elapsed_ms: float
) -> Verdict:
    """Combine the parsed answer with the call's accounting into a Verdict."""
    answer = parse_result(prompt, result)
    cost = result.cost_usd or estimate_cost(
        result.model_id, result.input_tokens, result.output_tokens
    )
    return Verdict(
        conversation_id=conversation.id,
        last_message_at=conversation.last.timestamp,
        suspicious=answer.suspicious,
        score=answer.score,
        categories=answer.categories,
        rationale=verdict_rationale(answer),
        status=answer.status,
        model_id=result.model_id,
        prompt=prompt.ref,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        latency_ms=round(result.latency_ms or elapsed_ms, 3),
        cost_usd=cost,
        decided_by=result.decided_by,
        window_digest=conversation.digest(),
        message_digests=conversation.message_digests(),
    )


def assess(
    conversation: Conversation,
    template: PromptTemplate,
    model: ChatModel,
    *,
    pinned: Collection[datetime] = (),
    risk_note: str | None = None,
) -> Verdict:
    """Render the prompt over the conversation's window, call the model, parse a Verdict.

    `pinned` messages stay in the window (earlier messages that carried risk) and
    `risk_note` tells the model of a standing flag (`pipeline.risk`), for templates
    that show it. Model errors propagate (`ModelError.retryable` tells the caller what
    to do); an answer that cannot be parsed is an `undetermined` verdict, never a silent 0.
    """
    if not conversation.messages:
        raise InputError(f"conversation {conversation.id!r} is empty")
    # Only a standing flag adds the variable: a template shows its line when it is defined.
    notes = {"risk_note": risk_note} if risk_note else {}
    prompt = template.render_conversation(conversation, pinned=pinned, **notes)
    schema = verdict_tool_schema() if prompt.output == "verdict" else None
    started = time.perf_counter()
    result = model.generate(prompt, schema=schema)
    elapsed_ms = (time.perf_counter() - started) * 1000
    return build_verdict(conversation, prompt, result, elapsed_ms)
