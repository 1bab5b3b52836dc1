"""Any LangChain chat model as a parley `ChatModel`, for evaluations across providers.

LangChain is imported only inside the functions that use it: importing
langchain-aws costs over a second and patches `boto3.client` globally, so no
Lambda handler may pull it in at load time (tests guard this).

Reference: `langchain:<module.path:factory>`, where the factory returns a
`BaseChatModel`; `langchain:pipeline.models.langchain_adapter:bedrock_converse`
builds langchain-aws `ChatBedrockConverse` from parley's settings.
"""

from __future__ import annotations

import importlib
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..verdict import text_answer_instruction
from . import VERDICT_TOOL, ModelResult
from .bedrock import TOOL_DESCRIPTION, answer_nonce_extra, call_with_deadline, known_capabilities
from .bedrock import map_client_error as _map_client_error
from .pricing import estimate_cost

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage, BaseMessage

    from ..prompts import Inference, RenderedPrompt


class LangChainModel:
    """Adapts a LangChain `BaseChatModel`: system + human message in, a ModelResult out.

    With a schema, it asks for structured output (`with_structured_output(...,
    include_raw=True)`) and keeps both the parsed tool input and the raw message's
    `usage_metadata`. botocore errors raised through LangChain map like Bedrock's own.
    """

    def __init__(self, chat_model: BaseChatModel, model_id: str | None = None) -> None:
        self.chat_model = chat_model
        self.model_id = model_id or _model_name(chat_model)

    def __repr__(self) -> str:
        return f"LangChainModel({type(self.chat_model).__name__}, {self.model_id!r})"

    def generate(
        self,
        prompt: RenderedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        deadline_s: float | None = None,
    ) -> ModelResult:
        """One call; `deadline_s` bounds the wait (the call itself keeps its own timeouts)."""
        from botocore.exceptions import BotoCoreError, ClientError

        chat = _with_inference(self.chat_model, prompt.inference)
        caps = known_capabilities(self.model_id)
        text_fallback = schema is not None and caps is not None and not caps.tools
        fold_system = caps is not None and not caps.system
        messages = _messages(prompt, schema if text_fallback else None, fold_system=fold_system)
        stop = list(prompt.inference.stop_sequences) or None
        started = time.perf_counter()
        try:
            if schema is not None and not text_fallback:
                runnable = chat.with_structured_output(_titled(schema), include_raw=True)
                output = call_with_deadline(lambda: runnable.invoke(messages), deadline_s)
                raw, parsed = output["raw"], output.get("parsed")
            else:
                raw = call_with_deadline(lambda: chat.invoke(messages, stop=stop), deadline_s)
                parsed = None
        except (ClientError, BotoCoreError) as exc:
            raise _map_client_error(exc, self.model_id, deadline_s=deadline_s) from None
        latency_ms = (time.perf_counter() - started) * 1000
        result = _result(self.model_id, raw, parsed, latency_ms)
        if text_fallback:
            result = replace(result, extra={**result.extra, **answer_nonce_extra(prompt)})
        return result


def _model_name(chat_model: Any) -> str:
    for attribute in ("model_id", "model_name", "model"):
        value = getattr(chat_model, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(chat_model).__name__


def _with_inference(chat_model: Any, inference: Inference) -> Any:
    """A shallow copy carrying the prompt's max tokens and temperature, where the
    model has such fields (per-call kwargs do not reach structured-output chains)."""
    fields = getattr(type(chat_model), "model_fields", {})
    update = {
        name: value
        for name, value in (
            ("max_tokens", inference.max_tokens),
            ("temperature", inference.temperature),
        )
        if name in fields
    }
    return chat_model.model_copy(update=update) if update else chat_model


def _titled(schema: dict[str, Any]) -> dict[str, Any]:
    # LangChain names the tool after the schema's title.
    return {"title": VERDICT_TOOL, "description": TOOL_DESCRIPTION, **schema}


def _messages(
    prompt: RenderedPrompt, fallback_schema: dict[str, Any] | None, *, fold_system: bool
) -> list[BaseMessage]:
    """[system, human]; Bedrock models without a system prompt get one human message,
    and models without tool use the text answer contract's instruction."""
    from langchain_core.messages import HumanMessage, SystemMessage

    user = prompt.as_text() if fold_system else prompt.user
    if fallback_schema is not None:
        user = f"{user}\n\n{text_answer_instruction(fallback_schema, prompt.nonce)}"
    if fold_system or not prompt.system:
        return [HumanMessage(user)]
    return [SystemMessage(prompt.system), HumanMessage(user)]


def _result(model_id: str, raw: AIMessage, parsed: Any, latency_ms: float) -> ModelResult:
    usage = getattr(raw, "usage_metadata", None) or {}
    input_tokens = int(usage.get("input_tokens") or 0)
    output_tokens = int(usage.get("output_tokens") or 0)
    metadata = getattr(raw, "response_metadata", None) or {}
    stop_reason = metadata.get("stopReason") or metadata.get("stop_reason")
    text = raw.text if isinstance(raw.text, str) else None
    extra: dict[str, Any] = {"api": "langchain"}
    if stop_reason == "guardrail_intervened":
        extra["guardrail"] = True
    return ModelResult(
        model_id=model_id,
        text=text or None,
        structured=parsed if isinstance(parsed, dict) else None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        latency_ms=round(latency_ms, 3),
        cost_usd=estimate_cost(model_id, input_tokens, output_tokens),
        stop_reason=stop_reason,
        extra=extra,
    )


def from_reference(rest: str, **options: Any) -> LangChainModel:
    """`langchain:<module.path:factory>`: import the factory, call it with the options."""
    from langchain_core.language_models import BaseChatModel

    module_name, sep, factory_name = rest.partition(":")
    if not sep or not module_name or not factory_name:
        raise ConfigError(
            f"langchain reference {rest!r} must be <module.path:factory>, e.g. "
            "langchain:pipeline.models.langchain_adapter:bedrock_converse"
        )
    try:
        factory = getattr(importlib.import_module(module_name), factory_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot load LangChain factory {rest!r}: {exc}") from None
    chat_model = factory(**options)
    if not isinstance(chat_model, BaseChatModel):
        raise ConfigError(f"{rest} returned {type(chat_model).__name__}, not a BaseChatModel")
    return LangChainModel(chat_model)


def bedrock_converse(**options: Any) -> BaseChatModel:
    """langchain-aws `ChatBedrockConverse` from parley's settings: model
    PARLEY_LANGCHAIN_MODEL, region PARLEY_REGION, endpoint PARLEY_BEDROCK_ENDPOINT_URL
    (point it at `parley emulator` to run offline); options override any field."""
    from botocore.config import Config
    from langchain_aws import ChatBedrockConverse

    from ..settings import get_settings

    settings = get_settings()
    params: dict[str, Any] = {
        "model": settings.langchain_model,
        "region_name": settings.region,
        "endpoint_url": settings.bedrock_endpoint_url,
        "max_tokens": 400,
        "temperature": 0.0,
        "config": Config(
            retries={"mode": "adaptive", "total_max_attempts": settings.max_attempts},
            tcp_keepalive=True,
        ),
    }
    params.update(options)
    return ChatBedrockConverse(**params)
