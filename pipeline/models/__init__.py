"""Model layer: one `ChatModel` protocol and a registry of model references.

References work like simonw/llm's prefixes: `bedrock:<model-id>`,
`langchain:<module.path:factory>`, `local:baseline`, `cascade:<first>><second>`,
`replay:<answers.json>`. Each prefix's module is imported only when used, so a
Lambda handler never pays for LangChain.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..prompts import RenderedPrompt

VERDICT_TOOL = "record_verdict"


@dataclass(frozen=True)
class ModelResult:
    """What one model call returned, with what it cost."""

    model_id: str
    text: str | None = None
    structured: dict[str, Any] | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0  # prompt-cache tokens, not counted in input_tokens
    cache_write_tokens: int = 0
    latency_ms: float = 0.0
    cost_usd: float = 0.0
    stop_reason: str | None = None
    decided_by: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class ChatModel(Protocol):
    """Anything that turns a rendered prompt into a result.

    `schema` asks for structured output (a JSON schema for the verdict tool);
    `deadline_s` bounds the call's wall time where the model supports it.
    Failures raise `ModelError` (with `retryable`).
    """

    model_id: str

    def generate(
        self,
        prompt: RenderedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        deadline_s: float | None = None,
    ) -> ModelResult: ...


# prefix -> "module:factory"; factories take (rest, **options) and return a ChatModel.
_LOADERS: dict[str, str] = {
    "bedrock": "pipeline.models.bedrock:from_reference",
    "langchain": "pipeline.models.langchain_adapter:from_reference",
    "local": "pipeline.models.local:from_reference",
    "cascade": "pipeline.models.cascade:from_reference",
    "replay": "pipeline.models.replay:from_reference",
}


def resolve(reference: str, **options: Any) -> ChatModel:
    """Build a model from its reference string, e.g. `bedrock:amazon.nova-micro-v1:0`."""
    prefix, sep, rest = reference.partition(":")
    if not sep or prefix not in _LOADERS:
        known = ", ".join(f"{p}:…" for p in _LOADERS)
        raise ConfigError(f"unknown model reference {reference!r}; use one of {known}")
    module_name, _, factory = _LOADERS[prefix].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        raise ConfigError(f"model kind {prefix!r} is not available in this build") from None
    return getattr(module, factory)(rest, **options)  # type: ignore[no-any-return]
