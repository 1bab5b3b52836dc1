"""`cascade:<first>><second>`: a cheap first model decides the clear cases, the second
(typically Bedrock) the uncertain band.

The first model's structured `score` routes: below `low` the conversation is cleared
locally, above `high` it is flagged locally, otherwise the second model answers. The
result says which tier decided (`decided_by`), and tokens, cost and latency add up
both calls. A failing second model raises: the caller retries; the first model's
guess is never passed off as the answer.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from . import ChatModel, ModelResult, resolve
from .pricing import estimate_cost

if TYPE_CHECKING:
    from ..prompts import RenderedPrompt


class CascadeModel:
    """Two models in series, routed by the first one's score."""

    def __init__(
        self,
        first: ChatModel,
        second: ChatModel,
        low: float | None = None,
        high: float | None = None,
    ) -> None:
        band = getattr(first, "cascade_band", None)  # the baseline stores its own band
        if band is not None:
            low = band[0] if low is None else low
            high = band[1] if high is None else high
        if low is None or high is None:
            raise ConfigError(
                f"cascade: {first.model_id} stores no thresholds; give low= and high="
            )
        if not 0.0 <= low <= high <= 1.0:
            raise ConfigError(f"cascade thresholds need 0 <= low <= high <= 1 (got {low}, {high})")
        self.first = first
        self.second = second
        self.low = float(low)
        self.high = float(high)
        self.model_id = f"cascade:{first.model_id}>{second.model_id}"

    def generate(
        self,
        prompt: RenderedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        deadline_s: float | None = None,
    ) -> ModelResult:
        """Ask the first model; keep its answer outside the band, else ask the second."""
        started = time.perf_counter()
        first = self.first.generate(prompt, schema=schema, deadline_s=deadline_s)
        first_ms = first.latency_ms or (time.perf_counter() - started) * 1000
        score = _score(first)
        tier = {"cascade": self.model_id, "first_score": score, "low": self.low, "high": self.high}
        if score is not None and score < self.low:
            return _decided_locally(first, suspicious=False, latency_ms=first_ms, extra=tier)
        if score is not None and score > self.high:
            return _decided_locally(first, suspicious=True, latency_ms=first_ms, extra=tier)
        remaining = None if deadline_s is None else max(0.0, deadline_s - first_ms / 1000)
        second = self.second.generate(prompt, schema=schema, deadline_s=remaining)
        return ModelResult(
            model_id=second.model_id,
            text=second.text,
            structured=second.structured,
            input_tokens=first.input_tokens + second.input_tokens,
            output_tokens=first.output_tokens + second.output_tokens,
            latency_ms=first_ms + second.latency_ms,
            cost_usd=_cost(first) + _cost(second),
            stop_reason=second.stop_reason,
            decided_by=f"second:{second.model_id}",
            extra={**second.extra, **tier},
        )

    def first_decides(
        self, prompt: RenderedPrompt, *, schema: dict[str, Any] | None = None
    ) -> ModelResult | None:
        """The first model's answer when its score falls outside the band, else None (the
        second model must judge): for callers that send the second model's share elsewhere."""
        started = time.perf_counter()
        first = self.first.generate(prompt, schema=schema)
        first_ms = first.latency_ms or (time.perf_counter() - started) * 1000
        score = _score(first)
        tier = {"cascade": self.model_id, "first_score": score, "low": self.low, "high": self.high}
        if score is not None and (score < self.low or score > self.high):
            suspicious = score > self.high
            return _decided_locally(first, suspicious=suspicious, latency_ms=first_ms, extra=tier)
        return None


def _score(result: ModelResult) -> float | None:
    value = (result.structured or {}).get("score")
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 <= value <= 1:
        return float(value)
    return None  # no usable score: the second model decides


def _cost(result: ModelResult) -> float:
    return result.cost_usd or estimate_cost(
        result.model_id, result.input_tokens, result.output_tokens
    )


def _decided_locally(
    result: ModelResult, *, suspicious: bool, latency_ms: float, extra: dict[str, Any]
) -> ModelResult:
    # The band decides: the answer is made consistent with it even if low/high were overridden.
    structured = dict(result.structured or {})
    if structured.get("suspicious") is not suspicious:
        structured["suspicious"] = suspicious
        if not suspicious:
            structured["categories"] = []
        elif not structured.get("categories"):
            structured["categories"] = ["other"]
    text = result.text if result.text is None else ("1" if suspicious else "0")
    return ModelResult(
        model_id=result.model_id,
        text=text,
        structured=structured,
        input_tokens=result.input_tokens,
        output_tokens=result.output_tokens,
        latency_ms=latency_ms,
        cost_usd=_cost(result),
        stop_reason=result.stop_reason,
        decided_by=f"first:{result.model_id}",
        extra={**result.extra, **extra},
    )


def from_reference(rest: str, **options: Any) -> CascadeModel:
    """`cascade:<first ref>><second ref>`, split on the first '>' (model ids have none).

    Options `low=` and `high=` override the thresholds; other options go to both models.
    """
    first_ref, sep, second_ref = rest.partition(">")
    if not sep or not first_ref or not second_ref:
        raise ConfigError(
            f"cascade reference needs two models: cascade:<first>><second> (got {rest!r})"
        )
    low = options.pop("low", None)
    high = options.pop("high", None)
    try:
        low = None if low is None else float(low)
        high = None if high is None else float(high)
    except (TypeError, ValueError):
        raise ConfigError(f"cascade thresholds must be numbers (got {low!r}, {high!r})") from None
    return CascadeModel(resolve(first_ref, **options), resolve(second_ref, **options), low, high)
