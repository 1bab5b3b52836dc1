"""The LangChain adapter, with langchain-aws ChatBedrockConverse over real HTTP against
the local Bedrock emulator."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import pytest

from pipeline.conversation import conversation_from_dict
from pipeline.emulator import BedrockEmulator, EmulatorReply, ScriptedResponder
from pipeline.errors import ConfigError, DeadlineExceeded, ModelError, ThrottledError
from pipeline.models import VERDICT_TOOL, resolve
from pipeline.models.langchain_adapter import LangChainModel
from pipeline.moderation import assess
from pipeline.prompts import DirectoryPromptStore
from pipeline.settings import REPO_ROOT
from pipeline.verdict import Category, answer_nonce_in, text_answer_instruction, verdict_tool_schema

HAIKU = "anthropic.claude-3-haiku-20240307-v1:0"
SCHEMA = verdict_tool_schema()
STORE = DirectoryPromptStore(REPO_ROOT / "prompts")
HOUSE = conversation_from_dict(
    {
        "id": "conv-house-2",
        "messages": [
            {"sender": "buyer", "text": "I am interested in your house, can we fix a visit?"},
            {"sender": "seller", "text": "Send me a 5000 dollar deposit before the visit"},
        ],
    }
)
SCAM_VERDICT = {
    "suspicious": True,
    "score": 0.88,
    "categories": ["advance_fee_deposit"],
    "rationale": "Deposit before the visit.",
}


def chat_model(emulator: BedrockEmulator, model: str = HAIKU) -> Any:
    from botocore.config import Config
    from langchain_aws import ChatBedrockConverse

    return ChatBedrockConverse(
        model=model,
        endpoint_url=emulator.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        max_tokens=1000,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def v2_prompt() -> Any:
    return STORE.get("suspicious-conversation@2").render_conversation(HOUSE)


def test_structured_verdict_and_tokens(bedrock_emulator: BedrockEmulator) -> None:
    script = ScriptedResponder(
        [EmulatorReply(tool_input=SCAM_VERDICT, input_tokens=812, output_tokens=44)]
    )
    bedrock_emulator.responder = script
    result = LangChainModel(chat_model(bedrock_emulator)).generate(v2_prompt(), schema=SCHEMA)
    assert result.structured == SCAM_VERDICT
    assert (result.input_tokens, result.output_tokens) == (812, 44)
    assert result.model_id == HAIKU and result.stop_reason == "tool_use"
    assert result.cost_usd == pytest.approx((812 * 0.00025 + 44 * 0.00125) / 1000)
    body = script.requests[0].body
    assert script.requests[0].forced_tool == VERDICT_TOOL
    # the prompt's inference settings reach the wire, not the chat model's defaults
    assert body["inferenceConfig"]["maxTokens"] == 400
    assert body["system"][0]["text"].startswith("You are a trust-and-safety reviewer")


def test_assess_through_langchain(bedrock_emulator: BedrockEmulator) -> None:
    bedrock_emulator.responder = ScriptedResponder([SCAM_VERDICT, "I am not sure."])
    model = LangChainModel(chat_model(bedrock_emulator))
    template = STORE.get("suspicious-conversation@2")
    verdict = assess(HOUSE, template, model)
    assert (verdict.status, verdict.suspicious, verdict.score) == ("scored", True, 0.88)
    assert verdict.categories == (Category.ADVANCE_FEE_DEPOSIT,)
    # a text answer instead of the tool is undetermined, never a silent 0
    assert assess(HOUSE, template, model).status == "undetermined"


def test_plain_text_answer(bedrock_emulator: BedrockEmulator) -> None:
    script = ScriptedResponder([EmulatorReply(text="1", input_tokens=70, output_tokens=1)])
    bedrock_emulator.responder = script
    template = STORE.get("suspicious-conversation@1")
    model = LangChainModel(chat_model(bedrock_emulator), model_id="custom-id")
    result = model.generate(template.render_conversation(HOUSE))
    assert (result.text, result.structured) == ("1", None)
    assert (result.input_tokens, result.output_tokens, result.model_id) == (70, 1, "custom-id")
    assert script.requests[0].body["inferenceConfig"]["maxTokens"] == 5
    assert "toolConfig" not in script.requests[0].body


def test_titan_gets_the_json_text_fallback(bedrock_emulator: BedrockEmulator) -> None:
    script = ScriptedResponder([SCAM_VERDICT])  # answered as JSON text: no tool offered
    bedrock_emulator.responder = script
    model = LangChainModel(chat_model(bedrock_emulator, "amazon.titan-text-lite-v1"))
    verdict = assess(HOUSE, STORE.get("suspicious-conversation@2"), model)
    assert (verdict.status, verdict.suspicious) == ("scored", True)
    body = script.requests[0].body
    assert "toolConfig" not in body and not body.get("system")
    text = body["messages"][0]["content"][0]["text"]
    assert text.endswith(text_answer_instruction(SCHEMA, answer_nonce_in(text)))
    assert answer_nonce_in(text) is not None


@pytest.mark.parametrize(
    ("code", "kind", "retryable"),
    [
        ("ThrottlingException", ThrottledError, True),
        ("ServiceUnavailableException", ModelError, True),
        ("AccessDeniedException", ModelError, False),
    ],
)
def test_errors_map_like_bedrock(
    bedrock_emulator: BedrockEmulator, code: str, kind: type, retryable: bool
) -> None:
    bedrock_emulator.responder = ScriptedResponder([EmulatorReply(error=code)])
    with pytest.raises(kind) as info:
        LangChainModel(chat_model(bedrock_emulator)).generate(v2_prompt(), schema=SCHEMA)
    assert (info.value.code, info.value.retryable) == (code, retryable)


def test_deadline(bedrock_emulator: BedrockEmulator) -> None:
    bedrock_emulator.configure(hang_rate=1.0, hang_s=5)
    model = LangChainModel(chat_model(bedrock_emulator))
    started = time.perf_counter()
    with pytest.raises(DeadlineExceeded):
        model.generate(v2_prompt(), schema=SCHEMA, deadline_s=0.5)
    assert time.perf_counter() - started < 1.5


def test_resolve_the_bedrock_converse_factory(
    bedrock_emulator: BedrockEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.settings import get_settings

    monkeypatch.setenv("PARLEY_BEDROCK_ENDPOINT_URL", bedrock_emulator.endpoint_url)
    monkeypatch.setenv("PARLEY_LANGCHAIN_MODEL", "amazon.nova-micro-v1:0")
    get_settings.cache_clear()
    model = resolve("langchain:pipeline.models.langchain_adapter:bedrock_converse")
    assert isinstance(model, LangChainModel)
    assert model.model_id == "amazon.nova-micro-v1:0"
    bedrock_emulator.responder = ScriptedResponder([SCAM_VERDICT])
    verdict = assess(HOUSE, STORE.get("suspicious-conversation@2"), model)
    assert (verdict.status, verdict.model_id) == ("scored", "amazon.nova-micro-v1:0")
    assert bedrock_emulator.stats.by_model == {"amazon.nova-micro-v1:0": 1}


def not_a_chat_model() -> object:
    return object()


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("langchain:pipeline.models.langchain_adapter", "must be <module.path:factory>"),
        ("langchain:no_such_module_xyz:factory", "cannot load LangChain factory"),
        ("langchain:pipeline.models.langchain_adapter:nope", "cannot load LangChain factory"),
        ("langchain:tests.test_langchain_adapter:not_a_chat_model", "not a BaseChatModel"),
    ],
)
def test_resolve_errors(reference: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        resolve(reference)


def test_bedrock_path_never_imports_langchain() -> None:
    code = (
        "import sys, pipeline.models, pipeline.models.bedrock, pipeline.models.invoke_bodies; "
        "import pipeline.models.langchain_adapter; "  # the adapter imports LangChain lazily too
        "loaded = sorted(m for m in sys.modules if m.startswith('langchain')); "
        "assert not loaded, loaded"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
