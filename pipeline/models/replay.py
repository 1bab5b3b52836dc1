"""A model that replays queued answers, for tests and examples (never for production)."""

from __future__ import annotations

import json
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InputError, ModelError
from . import ModelResult

if TYPE_CHECKING:
    from ..prompts import RenderedPrompt


class ReplayModel:
    """Answers with queued results in order; records every prompt it received.

    Queue a `str` (text answer), a `dict` (structured answer) or an exception instance
    (raised instead of answering). When the queue is empty, `default` answers.
    """

    def __init__(
        self, answers: list[Any] | None = None, *, default: Any = None, model_id: str = "replay"
    ) -> None:
        self.model_id = model_id
        self._answers: deque[Any] = deque(answers or [])
        self.default = default
        self.history: list[RenderedPrompt] = []
        self._lock = threading.Lock()

    def enqueue(self, *answers: Any) -> None:
        with self._lock:
            self._answers.extend(answers)

    def generate(
        self,
        prompt: RenderedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        deadline_s: float | None = None,
    ) -> ModelResult:
        with self._lock:
            self.history.append(prompt)
            answer = self._answers.popleft() if self._answers else self.default
        if isinstance(answer, BaseException):
            raise answer
        if answer is None:
            raise ModelError("replay model has no answer queued", retryable=False)
        if isinstance(answer, dict):
            return ModelResult(model_id=self.model_id, structured=answer, output_tokens=1)
        return ModelResult(model_id=self.model_id, text=str(answer), output_tokens=1)


def from_reference(rest: str, **_: Any) -> ReplayModel:
    """`replay:<file.json>`: a JSON list of answers (strings or objects)."""
    if not rest:
        return ReplayModel()
    try:
        answers = json.loads(Path(rest).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read replay answers from {rest}: {exc}") from None
    if not isinstance(answers, list):
        raise InputError(f"{rest}: replay answers must be a JSON list")
    return ReplayModel(answers)
