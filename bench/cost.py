"""Cost per million messages: model calls, tokens and USD of the same stream through
the original design and through parley, side by side in one run.

The stream is stream_throughput's (quick: 60 conversations x 5 messages; full: 200 x 5),
in burst order (a conversation's messages together) and interleaved (shuffled,
live arrival). Three designs, each on Titan Text Lite, Nova Micro and the template's
default model (Claude 3 Haiku):

- original: one call per record, each judged alone as it arrives, the v1 prompt
  (the original system's one-line prompt), through InvokeModel for Titan as the
  original did, Converse for the others;
- parley: the stream job (coalescing, checkpoints) with the v2 prompt on the full
  window;
- parley+cascade: the same with `local:baseline` first; Bedrock sees only its
  uncertain band.

Tokens are the emulator's usage figures (`inputTokens`/`outputTokens`, as Bedrock
reports them), so the count is the emulator's tokeniser's: see docs/operations.md
"Cost" for how it follows each model family. USD comes from the one price table
(pipeline/models/pricing.py). The emulator answers with the local classifier's
judgement, in its own process, with no latency and no quota: this run counts, it
does not time.

Figures per model and order: calls per record, input and output tokens per message,
USD per million messages for each design, and the ratio parley+cascade / original
(target <= 1/5 on Titan Text Lite and Nova Micro).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench import stream_throughput as st
from bench.emulator_process import EmulatorProcess
from pipeline.models.pricing import estimate_cost

MODELS = {
    "titan_text_lite": ("amazon.titan-text-lite-v1", "bedrock:invoke:amazon.titan-text-lite-v1"),
    "nova_micro": ("amazon.nova-micro-v1:0", "bedrock:amazon.nova-micro-v1:0"),
    "claude_3_haiku": (
        "anthropic.claude-3-haiku-20240307-v1:0",
        "bedrock:anthropic.claude-3-haiku-20240307-v1:0",
    ),
}
ORIGINAL_PROMPT = "suspicious-conversation@1"
PARLEY_PROMPT = "suspicious-conversation@2"
ORDERS = ("burst", "interleaved")


@dataclass
class Bill:
    records: int
    calls: int
    input_tokens: int
    output_tokens: int
    usd: float
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def per_million(self) -> float:
        return self.usd / self.records * 1_000_000

    def describe(self) -> str:
        return (
            f"{self.calls} calls for {self.records} messages "
            f"({self.calls / self.records:.2f} per message); "
            f"{self.input_tokens / self.records:.0f} input and "
            f"{self.output_tokens / self.records:.1f} output tokens per message"
            + (
                f"; cache read {self.cache_read_tokens}, written {self.cache_write_tokens}"
                if self.cache_read_tokens or self.cache_write_tokens
                else ""
            )
        )


def bill(emulator: EmulatorProcess, model_id: str, records: int) -> Bill:
    stats = emulator.stats()
    tokens_in, tokens_out = stats["input_tokens"], stats["output_tokens"]
    read, written = stats["cache_read_tokens"], stats["cache_write_tokens"]
    usd = estimate_cost(model_id, tokens_in, tokens_out, read, written)
    return Bill(records, stats["served"], tokens_in, tokens_out, usd, read, written)


def original(
    emulator: EmulatorProcess, messages: list[Any], model: str, tmp: Path, tag: str
) -> Bill:
    """The original design: every record judged alone, the v1 prompt."""
    st.baseline(emulator, messages, tmp / tag, model=model, prompt=ORIGINAL_PROMPT)
    return bill(emulator, _model_id(model), len(messages))


def _model_id(reference: str) -> str:
    return reference.removeprefix("bedrock:").removeprefix("invoke:")


def parley(
    emulator: EmulatorProcess,
    convs: dict[str, list[Any]],
    order: str,
    model: str,
    cascade: bool,
    tmp: Path,
) -> Bill:
    """The stream job on the same stream (live arrival), v2 prompt, optionally cascaded."""
    name = f"{order}-{_model_id(model)}-{'cascade' if cascade else 'plain'}".replace(":", "_")
    run = st.Run(
        name, order, "live", pace=False, cascade=cascade, model=model, prompt=PARLEY_PROMPT
    )
    result, _, _ = st.order_run(run, convs, emulator, tmp)
    return bill(emulator, _model_id(model), result.records)


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    convs = st.conversations(60 if quick else 200, random.Random(4))
    rows: list[tuple[str, float, str]] = []
    previous = st.logger.log_level
    st.logger.setLevel("ERROR")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        with TemporaryDirectory() as tmp_dir, EmulatorProcess("baseline") as emulator:
            tmp = Path(tmp_dir)
            for order in ORDERS:
                arrival = st.ordered(convs, order, random.Random(f"order-{order}"))
                for name, (model_id, reference) in MODELS.items():
                    (tmp / f"{order}-{name}").mkdir()
                    emulator.reset()
                    bills = {
                        "original": original(emulator, arrival, reference, tmp, f"{order}-{name}")
                    }
                    for design, cascade in (("parley", False), ("parley_cascade", True)):
                        emulator.reset()
                        bills[design] = parley(emulator, convs, order, reference, cascade, tmp)
                    for design, spent in bills.items():
                        rows.append(
                            (
                                f"{order}.{name}.{design}.usd_per_million_messages",
                                spent.per_million,
                                spent.describe(),
                            )
                        )
                    ratio = bills["parley_cascade"].per_million / bills["original"].per_million
                    target = "target <= 0.2" if name != "claude_3_haiku" else "reported"
                    rows.append(
                        (
                            f"{order}.{name}.cascade_vs_original",
                            ratio,
                            f"USD per message, parley+cascade / original on {model_id}; {target}",
                        )
                    )
        rows += caching_rows()
    finally:
        st.logger.setLevel(previous)
    return rows


def caching_rows() -> list[tuple[str, float, str]]:
    """Whether the v2 prompt's stable part (its system text, sent before a cache point)
    reaches each caching model's minimum prefix; below it Bedrock caches nothing."""
    from pipeline.models.prompt_cache import MIN_PREFIX_TOKENS
    from pipeline.prompts import DirectoryPromptStore
    from pipeline.settings import REPO_ROOT
    from pipeline.tokens import count_for_model

    template = DirectoryPromptStore(REPO_ROOT / "prompts").get(PARLEY_PROMPT)
    system = template.sections.get("system", "")  # the v2 system text has no variables
    rows = []
    for prefix, minimum in MIN_PREFIX_TOKENS.items():
        tokens = count_for_model(prefix, system)
        verdict = "cached" if tokens >= minimum else "below the minimum: nothing cached"
        rows.append(
            (
                f"prompt_cache.{prefix}.prefix_over_minimum",
                tokens / minimum,
                f"v2 system text {tokens} tokens vs minimum {minimum}: {verdict}",
            )
        )
    return rows


if __name__ == "__main__":
    import sys

    for figure, value, context in run(quick="--quick" in sys.argv[1:]):
        print(f"cost.{figure} = {value:.4g}  ({context})", flush=True)
