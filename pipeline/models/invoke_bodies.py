"""InvokeModel request and response bodies of the two original models.

The DealOfDay workflow called Titan Text Lite, later Mistral 7B Instruct, through
InvokeModel with each model's native body. These pure converters rebuild exactly
those bodies, so the v1 prompt can be replayed with its original request shape.
Everything else goes through Converse (pipeline.models.bedrock).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..prompts import Inference

# Native finish reasons, in Converse's stopReason vocabulary.
_TITAN_STOP = {"FINISH": "end_turn", "LENGTH": "max_tokens", "CONTENT_FILTERED": "content_filtered"}
_MISTRAL_STOP = {"stop": "end_turn", "length": "max_tokens"}


@dataclass(frozen=True)
class InvokeAnswer:
    """What a native InvokeModel body said, model-format independent."""

    text: str
    input_tokens: int
    output_tokens: int
    stop_reason: str | None
    tokens_estimated: bool = False


def invoke_family(model_id: str) -> str:
    """'titan' or 'mistral' for models with a native body here; ConfigError otherwise."""
    if model_id.startswith("amazon.titan-text"):
        return "titan"
    if model_id.startswith(("mistral.mistral-7b", "mistral.mixtral")):
        return "mistral"
    raise ConfigError(
        f"InvokeModel bodies exist for Titan Text and Mistral 7B/Mixtral only, not {model_id!r}; "
        "use bedrock:<model-id> (Converse) for other models"
    )


def titan_request(text: str, inference: Inference) -> dict[str, Any]:
    """Titan Text body: the whole prompt as `inputText` (Titan takes no system prompt)."""
    config: dict[str, Any] = {
        "maxTokenCount": inference.max_tokens,
        "temperature": inference.temperature,
    }
    if inference.top_p is not None:
        config["topP"] = inference.top_p
    if inference.stop_sequences:
        config["stopSequences"] = list(inference.stop_sequences)
    return {"inputText": text, "textGenerationConfig": config}


def titan_response(body: dict[str, Any]) -> InvokeAnswer:
    """Titan Text answer: `results[0].outputText`, token counts as reported."""
    result = (body.get("results") or [{}])[0]
    return InvokeAnswer(
        text=str(result.get("outputText") or ""),
        input_tokens=int(body.get("inputTextTokenCount") or 0),
        output_tokens=int(result.get("tokenCount") or 0),
        stop_reason=_native_stop(_TITAN_STOP, result.get("completionReason")),
    )


def mistral_prompt(text: str) -> str:
    """Wrap text in Mistral's instruction tags; instruction tags inside it are defused."""
    # A message containing "[/INST]" must not end the instruction early.
    safe = text.replace("[INST]", "[ INST]").replace("[/INST]", "[ /INST]")
    return f"<s>[INST] {safe} [/INST]"


def mistral_request(text: str, inference: Inference) -> dict[str, Any]:
    """Mistral 7B Instruct body."""
    body: dict[str, Any] = {
        "prompt": mistral_prompt(text),
        "max_tokens": inference.max_tokens,
        "temperature": inference.temperature,
    }
    if inference.top_p is not None:
        body["top_p"] = inference.top_p
    if inference.stop_sequences:
        body["stop"] = list(inference.stop_sequences)
    return body


def mistral_response(
    body: dict[str, Any], prompt_text: str, headers: dict[str, str] | None = None
) -> InvokeAnswer:
    """Mistral answer: `outputs[0].text`. The body has no token counts: they come from
    Bedrock's `x-amzn-bedrock-*-token-count` headers, else an estimate (flagged)."""
    from ..prompts import estimate_tokens  # lazy: prompts pulls in Jinja2 and YAML

    output = (body.get("outputs") or [{}])[0]
    text = str(output.get("text") or "")
    counted = _header_tokens(headers or {})
    if counted is not None:
        input_tokens, output_tokens = counted
    else:
        input_tokens, output_tokens = estimate_tokens(prompt_text), estimate_tokens(text)
    return InvokeAnswer(
        text=text,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        stop_reason=_native_stop(_MISTRAL_STOP, output.get("stop_reason")),
        tokens_estimated=counted is None,
    )


def _native_stop(table: dict[str, str], reason: Any) -> str | None:
    # Known reasons in Converse's words; an unknown one is kept as it came.
    return table.get(reason, reason) if isinstance(reason, str) and reason else None


def _header_tokens(headers: dict[str, str]) -> tuple[int, int] | None:
    # botocore lower-cases response header names.
    found = (
        headers.get("x-amzn-bedrock-input-token-count"),
        headers.get("x-amzn-bedrock-output-token-count"),
    )
    if None in found:
        return None
    try:
        return int(found[0]), int(found[1])  # type: ignore[arg-type]
    except ValueError:
        return None


def build_invoke_body(model_id: str, text: str, inference: Inference) -> dict[str, Any]:
    """The native body for `model_id` (a bare foundation-model id)."""
    if invoke_family(model_id) == "titan":
        return titan_request(text, inference)
    return mistral_request(text, inference)


def parse_invoke_body(
    model_id: str, body: dict[str, Any], prompt_text: str, headers: dict[str, str] | None = None
) -> InvokeAnswer:
    """Read the native answer body of `model_id`."""
    if invoke_family(model_id) == "titan":
        return titan_response(body)
    return mistral_response(body, prompt_text, headers)
