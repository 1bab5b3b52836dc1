"""Several conversations judged in one model call: the rules paid once, one verdict each.

Each conversation is shown under a reference drawn at random for this call only
(`secrets`, like the text answer contract's answer codes in pipeline.verdict), so no
message can name another conversation's reference in advance: text cannot swap or forge
ids. Message text is neutralised as in every prompt (no `</conversation>` can be
written). The answer is a `verdicts` array; an entry counts only when its ref is one of
this call's and appears once. A conversation left without a usable entry gets no
verdict from the call (the caller judges it alone).
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from .models.pricing import estimate_cost
from .verdict import Category, ParsedAnswer, Verdict, parse_structured

if TYPE_CHECKING:
    from .conversation import Conversation
    from .models import ChatModel, ModelResult
    from .prompts import PromptTemplate, RenderedPrompt

GROUP_PROMPT = "suspicious-group@1"
MAX_GROUP = 10
_CLOSING = "Judge each conversation above on its own messages: one entry per ref."


def group_tool_schema() -> dict[str, Any]:
    """The answer: one lean verdict per conversation ref (no rationale)."""
    return {
        "type": "object",
        "properties": {
            "verdicts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "ref": {"type": "string"},
                        "suspicious": {"type": "boolean"},
                        "score": {"type": "number", "minimum": 0, "maximum": 1},
                        "categories": {
                            "type": "array",
                            "items": {"type": "string", "enum": [c.value for c in Category]},
                        },
                    },
                    "required": ["ref", "suspicious", "score"],
                },
            }
        },
        "required": ["verdicts"],
    }


def new_ref() -> str:
    """A fresh reference: 8 hex digits, drawn per conversation per call."""
    return secrets.token_hex(4)


@dataclass(frozen=True)
class GroupPrompt:
    prompt: RenderedPrompt
    refs: dict[str, Conversation]  # ref -> the window shown under it


def render_group(template: PromptTemplate, windows: Sequence[Conversation]) -> GroupPrompt:
    """One prompt showing every window under its own fresh reference."""
    if not windows:
        raise ValueError("render_group needs at least one conversation")
    refs: dict[str, Conversation] = {}
    blocks: list[str] = []
    first: RenderedPrompt | None = None
    for window in windows:
        ref = new_ref()
        while ref in refs:
            ref = new_ref()
        rendered = template.render_conversation(window, ref=ref)
        first = first or rendered
        refs[ref] = window
        blocks.append(rendered.user)
    assert first is not None
    user = "\n".join([*blocks, _CLOSING])
    return GroupPrompt(replace(first, user=user, conversation=None, messages_shown=0), refs)


def parse_group(data: Any, refs: Sequence[str]) -> dict[str, ParsedAnswer]:
    """ref -> parsed verdict, for each of this call's refs answered exactly once."""
    entries = data.get("verdicts") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        return {}
    known = set(refs)
    counts = Counter(e.get("ref") for e in entries if isinstance(e, dict))
    answers: dict[str, ParsedAnswer] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        ref = entry.get("ref")
        if ref not in known or counts[ref] != 1:
            continue  # unknown, forged or ambiguous: that conversation is judged alone
        fields = {k: v for k, v in entry.items() if k != "ref"}
        answers[ref] = parse_structured({"rationale": "", "categories": [], **fields})
    return answers


def judge_group(
    windows: Sequence[Conversation], template: PromptTemplate, model: ChatModel
) -> dict[str, Verdict]:
    """One model call for several conversations: conversation id -> Verdict, for those
    answered (one window per conversation; `judge_windows` takes several)."""
    answered = judge_windows(windows, template, model)
    return {w.id: v for w, v in zip(windows, answered, strict=True) if v is not None}


def judge_windows(
    windows: Sequence[Conversation], template: PromptTemplate, model: ChatModel
) -> list[Verdict | None]:
    """One model call for several windows (tiles of one conversation may be among
    them, each under its own ref): a Verdict per window, None for one left unanswered.

    Tokens and cost are shared out evenly among the windows of the call.
    """
    group = render_group(template, windows)
    started = time.perf_counter()
    result = model.generate(group.prompt, schema=group_tool_schema())
    elapsed_ms = (time.perf_counter() - started) * 1000
    answers = parse_group(result.structured, list(group.refs))
    share = max(1, len(group.refs))
    by_ref = list(group.refs)
    verdicts: list[Verdict | None] = []
    for ref in by_ref:
        answer = answers.get(ref)
        window = group.refs[ref]
        verdicts.append(
            None
            if answer is None
            else _verdict(window, group.prompt, result, answer, share, elapsed_ms)
        )
    return verdicts


def _verdict(
    window: Conversation,
    prompt: RenderedPrompt,
    result: ModelResult,
    answer: ParsedAnswer,
    share: int,
    elapsed_ms: float,
) -> Verdict:
    cost = result.cost_usd or estimate_cost(
        result.model_id, result.input_tokens, result.output_tokens
    )
    return Verdict(
        conversation_id=window.id,
        last_message_at=window.last.timestamp,
        suspicious=answer.suspicious,
        score=answer.score,
        categories=answer.categories,
        rationale=answer.rationale,
        status=answer.status,
        model_id=result.model_id,
        prompt=prompt.ref,
        input_tokens=result.input_tokens // share,
        output_tokens=result.output_tokens // share,
        latency_ms=round(result.latency_ms or elapsed_ms, 3),
        cost_usd=cost / share,
        decided_by=result.decided_by,
        window_digest=window.digest(),
    )
