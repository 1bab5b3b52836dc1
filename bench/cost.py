"""Cost per million messages in live traffic, billed as Bedrock bills it: the original
design and parley side by side on one traffic model with arrival times (bench/traffic.py).

Traffic: conversations of 2-30 messages written seconds to minutes apart; `live` (an
hour of interleaved conversations) and `burst` (each conversation's messages a second or
two apart). quick: 60 conversations; full: 200.

Designs, each on the models a user would pick today (Nova Micro, Nova Lite, Claude
Haiku 4.5, Claude 3.5 Haiku) and the template's default (Claude 3 Haiku):

- original: one call per message as it arrives, judged alone with the v1 prompt (the
  original one-line prompt, last 5 messages, answer 0/1), as one Step Functions
  execution per message ran it (cost does not depend on how many run at once);
- parley_batch: the stream job with the cascade (`local:baseline` first) and the v2
  prompt, each batch judged as the event source mapping forms it (window 5 s, batch
  100, 4 shards): the design before the quiet period;
- parley_quiet: the same with the quiet period on (pipeline.quiet: 5 s, the wake-ups
  batched over up to 40 s; a risky new message judged at once; stream window 1 s);
- parley: the quiet period, and the quiet conversations of one worker invocation judged
  together (pipeline.group: up to 10 a call, the rules paid once, lean verdicts), each
  showing only the messages not yet judged after five earlier ones (incremental): the
  template's default;
- parley_compact: parley with the candidate `suspicious-compact@1` for the conversations
  judged alone (the rules in half the tokens, timestamps to the minute; a candidate
  until evaluated on Bedrock).

Levers (LEVERS, on Nova Micro and Claude Haiku 4.5 live): whole anchored tiles instead
of incremental windows, two earlier messages instead of five, the compact rules as the
group prompt's (`suspicious-group@2`), 25 and 50 conversations a call (the wake-up
mapping's batch size raised to match), and their combinations. `floor_every_message_once`
is what showing every message once would cost with nothing else (no rules, tool,
context or output). Recall: scam conversations with a suspicious verdict (the emulator
answers with the local classifier, so this checks that no lever hides a scam's
messages from the judgement, not how well a language model judges).

Tokens are the emulator's usage (the prompt, the tool definitions and Anthropic's
tool-use system prompt: pipeline/emulator/billing.py), USD from the one price table
(pipeline/models/pricing.py, PRICES_AS_OF). Time is simulated: each model call takes 1 s
(8 at once per invocation); latency is from a message's arrival to the first verdict
that covers it. On Nova Micro in live traffic, parley is also run with other pairs of
quiet period and wake-up batching window (SWEEP), and (full run) on the live mix at ten
times the rate (2,000 conversations in 15 minutes), where more wake-ups meet. "risky": a
message with a payment or contact cue (pipeline.quiet).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from bench import stream_throughput as st
from bench import traffic
from bench.emulator_process import EmulatorProcess
from pipeline.models.pricing import PRICES_AS_OF, estimate_cost
from pipeline.quiet_worker import DEFAULT_CONTEXT

MODELS = {
    "nova_micro": "amazon.nova-micro-v1:0",
    "nova_lite": "amazon.nova-lite-v1:0",
    "claude_haiku_4_5": "anthropic.claude-haiku-4-5-20251001-v1:0",
    "claude_3_5_haiku": "anthropic.claude-3-5-haiku-20241022-v1:0",
    "claude_3_haiku": "anthropic.claude-3-haiku-20240307-v1:0",
}
QUICK_MODELS = ("nova_micro", "claude_haiku_4_5")
ORIGINAL_PROMPT = "suspicious-conversation@1"
PARLEY_PROMPT = "suspicious-conversation@2"
COMPACT_PROMPT = "suspicious-compact@1"  # a cheaper candidate, not yet proven on Bedrock
# The template's defaults: a short quiet period and a long wake-up batching window, so
# that quiet conversations meet in groups; the cheapest pair measured with p95 <= 60 s.
QUIET_S = 5
# Before the quiet period: a 5 s batching window (the template's old default) coalesces
# bursts. With it, a 1 s window: risky messages wait less, the others wait anyway.
BATCH_MAPPING = traffic.Mapping(batch_size=100, window_s=5.0, shards=4)
QUIET_MAPPING = traffic.Mapping(batch_size=100, window_s=1.0, shards=4)
# Levers measured one by one on top of the default, on Nova Micro and Claude Haiku 4.5
# live: (name, group prompt, conversations per group call = the wake-up batch size).
# context: a quiet point shows only the messages not yet judged, after that many earlier.
# The default (parley) shows the new messages after 5 earlier ones, 10 a call, group@1.
LEVERS: tuple[tuple[str, str | None, int, int | None], ...] = (
    ("lever_whole_tiles", None, 10, None),  # before: each quiet point re-sends its tile
    ("lever_context_2", None, 10, 2),
    ("lever_group_rules_compact", "suspicious-group@2", 10, 5),
    ("lever_group_25", None, 25, 5),
    ("lever_group_50", None, 50, 5),
    ("lever_all_context_5", "suspicious-group@2", 50, 5),
    ("lever_all_context_2", "suspicious-group@2", 50, 2),
)
# Other (quiet period, wake-up batching window) pairs, measured on Nova Micro live.
SWEEP = ((20, 5.0), (15, 15.0), (10, 30.0), (5, 50.0), (45, 5.0))
CALL_S = 1.0  # simulated seconds a model call takes
WAKE_WINDOW_S = 40.0  # the wake-up queue's batching window (template: QuietWorkerFunction)


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
            f"({self.calls / self.records:.3f} per message); "
            f"{self.input_tokens / max(self.calls, 1):.0f} input and "
            f"{self.output_tokens / max(self.calls, 1):.0f} output tokens a call"
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
    emulator: EmulatorProcess, convs: dict[str, list[Any]], model_id: str, tmp: Path
) -> Bill:
    """The original design: every message judged alone as it arrives, the v1 prompt."""
    emulator.reset()
    messages = traffic.arrivals(convs)
    st.baseline(emulator, messages, tmp, model=f"bedrock:{model_id}", prompt=ORIGINAL_PROMPT)
    return bill(emulator, model_id, len(messages))


@dataclass
class Timing:
    p95_s: float
    p95_risky_s: float
    scams_late: float  # share of scam conversations whose first risky message waited > 5 s
    never_judged: int
    judged_twice: int
    wake_ups: int
    stream_calls: int
    worker_calls: int
    shown_per_message: float = 0.0
    recall: float = 0.0  # scam conversations with a suspicious verdict / scams
    false_flags: float = 0.0  # honest conversations with one / honest conversations


def parley(
    emulator: EmulatorProcess,
    convs: dict[str, list[Any]],
    scam_ids: set[str],
    model_id: str,
    tmp: Path,
    *,
    prompt: str = PARLEY_PROMPT,
    quiet_s: int | None = QUIET_S,
    group: bool = True,
    wake_window_s: float = WAKE_WINDOW_S,
    group_prompt: str | None = None,
    group_size: int = 10,
    context: int | None = DEFAULT_CONTEXT,
) -> tuple[Bill, Timing]:
    """The stream job (cascade) on the traffic, in simulated time, with or without quiet."""
    from pipeline.history import SqliteHistory
    from pipeline.quiet import QuietPolicy
    from pipeline.quiet_worker import QuietWorker
    from pipeline.settings import Settings
    from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
    from pipeline.stream import build_handler

    emulator.reset()
    name = f"{model_id}-{prompt}-{quiet_s}-{group}-{wake_window_s}"
    name += f"-{group_prompt}-{group_size}-{context}"
    name = name.replace(":", "_").replace("@", "_")
    history = SqliteHistory(tmp / f"history-{name}.db")
    verdicts = traffic.VerdictClock()
    tally = st.Tally()
    settings = Settings(prompt=prompt, max_concurrency=8, min_remaining_ms=10_000)
    run = st.Run(name, "burst", "live", pace=False, cascade=True, model=f"bedrock:{model_id}")
    model = st.job_model(emulator, tally, settings, run)
    clock = traffic.Clock()
    queue = traffic.SimQueue(clock) if quiet_s else None
    quiet = None
    if queue is not None:
        local = model.first  # the cascade's local tier scores risk
        quiet = QuietPolicy(
            queue, quiet_s or 1, scorer=local.score, risky_score=local.cascade_band[1]
        )
    handler = build_handler(
        model=model,
        history=history,
        publisher=VerdictPublisher(SqliteVerdictSink(tmp / f"verdicts-{name}.db"), verdicts),
        settings=settings,
        metrics=None,
        quiet=quiet,
    )
    group_template = None
    if group:
        from pipeline.group import GROUP_PROMPT
        from pipeline.prompts import DirectoryPromptStore
        from pipeline.settings import REPO_ROOT

        store = DirectoryPromptStore(REPO_ROOT / "prompts")
        group_template = store.get(group_prompt or GROUP_PROMPT)
    worker = (
        QuietWorker(handler.runner, history, group_template, group_size, context) if quiet else None
    )
    replay = traffic.Replay(
        handler, history, verdicts, lambda: tally.answers, worker=worker, queue=queue,
        clock=clock, call_s=CALL_S, concurrency=settings.max_concurrency,
        wake_window_s=wake_window_s, wake_batch=group_size,
    )  # fmt: skip
    result = replay.run(convs, QUIET_MAPPING if quiet_s else BATCH_MAPPING)
    times = timing(convs, scam_ids, result)
    honest = set(convs) - scam_ids
    times.recall = len(verdicts.flagged & scam_ids) / max(1, len(scam_ids))
    times.false_flags = len(verdicts.flagged & honest) / max(1, len(honest))
    return bill(emulator, model_id, result.messages), times


def timing(convs: dict[str, list[Any]], scam_ids: set[str], result: traffic.ReplayResult) -> Timing:
    from pipeline.quiet import has_cue

    latencies = result.latencies_s
    risky = [
        latencies[(m.conversation_id, m.timestamp)]
        for ms in convs.values()
        for m in ms
        if has_cue(m.text) and (m.conversation_id, m.timestamp) in latencies
    ]
    late = 0
    for cid in scam_ids:
        first = next((m for m in convs[cid] if has_cue(m.text)), None)
        if first is not None and latencies.get((cid, first.timestamp), 1e9) > 5.0:
            late += 1
    return Timing(
        traffic.percentile(list(latencies.values()), 95),
        traffic.percentile(risky, 95),
        late / max(1, len(scam_ids)),
        result.never_judged,
        result.judged_twice,
        result.wake_ups,
        result.stream_calls,
        result.worker_calls,
        result.shown_per_message,
    )


# (name, prompt of the stream job, quiet period, quiet conversations judged in groups)
DESIGNS: tuple[tuple[str, str, int | None, bool], ...] = (
    ("parley_batch", PARLEY_PROMPT, None, False),
    ("parley_quiet", PARLEY_PROMPT, QUIET_S, False),
    ("parley", PARLEY_PROMPT, QUIET_S, True),
    ("parley_compact", COMPACT_PROMPT, QUIET_S, True),
)


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    n = 60 if quick else 200
    models = {k: v for k, v in MODELS.items() if not quick or k in QUICK_MODELS}
    rows: list[tuple[str, float, str]] = []
    previous = st.logger.log_level
    st.logger.setLevel("ERROR")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    try:
        with TemporaryDirectory() as tmp_dir, EmulatorProcess("baseline") as emulator:
            tmp = Path(tmp_dir)
            for mix in (traffic.LIVE, traffic.BURST):
                convs, scam_ids = traffic.draw(mix, n, random.Random(f"cost-{mix.name}"))
                count = sum(len(ms) for ms in convs.values())
                rows.append(
                    (
                        f"{mix.name}.messages_per_conversation",
                        count / len(convs),
                        f"{count} messages, {len(convs)} conversations, {len(scam_ids)} scams; "
                        f"prices as of {PRICES_AS_OF}",
                    )
                )
                for name, model_id in models.items():
                    work = tmp / f"{mix.name}-{name}"
                    work.mkdir()
                    base = original(emulator, convs, model_id, work)
                    rows.append(
                        (f"{mix.name}.{name}.original.usd_per_million_messages",
                         base.per_million, base.describe())
                    )  # fmt: skip
                    for design, prompt, quiet_s, group in DESIGNS:
                        spent, times = parley(
                            emulator, convs, scam_ids, model_id, work, prompt=prompt,
                            quiet_s=quiet_s, group=group,
                        )  # fmt: skip
                        rows += design_rows(f"{mix.name}.{name}.{design}", spent, base, times)
                        if design == "parley":
                            default = spent  # the template's defaults
                    if mix is traffic.LIVE:
                        rows += floor_rows(f"{mix.name}.{name}", convs, model_id, base)
                    if name in QUICK_MODELS and mix is traffic.LIVE:
                        for label, group_prompt, size, context in LEVERS:
                            spent, times = parley(
                                emulator, convs, scam_ids, model_id, work,
                                group_prompt=group_prompt, group_size=size, context=context,
                            )  # fmt: skip
                            rows += design_rows(f"{mix.name}.{name}.{label}", spent, base, times)
                    if name == "nova_micro" and mix is traffic.LIVE:
                        spent = default
                        rows += rationale_rows(f"{mix.name}.{name}", model_id, spent)
                        for quiet_s, window_s in SWEEP:
                            spent, times = parley(
                                emulator, convs, scam_ids, model_id, work, quiet_s=quiet_s,
                                wake_window_s=window_s,
                            )  # fmt: skip
                            label = f"parley_quiet_{quiet_s}s_window_{window_s:.0f}s"
                            rows += design_rows(f"{mix.name}.{name}.{label}", spent, base, times)
            if not quick:
                rows += busy_rows(emulator, tmp)
        rows += caching_rows()
    finally:
        st.logger.setLevel(previous)
    return rows


BUSY_CONVERSATIONS = 2000  # the live mix at ten times the rate: about 12 messages a second


def busy_rows(emulator: EmulatorProcess, tmp: Path) -> list[tuple[str, float, str]]:
    """The live mix at ten times the rate, on Nova Micro: more quiet conversations wake at
    once, so groups fill (the original design's cost per message does not move)."""
    convs, scam_ids = traffic.draw(traffic.LIVE, BUSY_CONVERSATIONS, random.Random("cost-busy"))
    model_id = MODELS["nova_micro"]
    work = tmp / "busy"
    work.mkdir()
    base = original(emulator, convs, model_id, work)
    spent, times = parley(emulator, convs, scam_ids, model_id, work)
    rows = [("live_busy.nova_micro.original.usd_per_million_messages", base.per_million,
             base.describe())]  # fmt: skip
    return rows + design_rows("live_busy.nova_micro.parley", spent, base, times)


def design_rows(name: str, spent: Bill, base: Bill, times: Timing) -> list[tuple[str, float, str]]:
    return [
        (f"{name}.usd_per_million_messages", spent.per_million, spent.describe()),
        (
            f"{name}.vs_original",
            spent.per_million / base.per_million,
            "USD per message / the original design's on the same model; target <= 0.2 (live)",
        ),
        (
            f"{name}.latency_p95_s",
            times.p95_s,
            f"arrival to verdict, all messages (target <= 60); {times.wake_ups} wake-ups; "
            f"model calls: {times.stream_calls} by the stream job, {times.worker_calls} by the "
            "wake-up worker",
        ),
        (
            f"{name}.latency_p95_risky_s",
            times.p95_risky_s,
            f"messages with a payment or contact cue (target <= 5); "
            f"{times.scams_late:.0%} of scams had their first cue judged after 5 s",
        ),
        (
            f"{name}.recall",
            times.recall,
            f"scam conversations flagged by a verdict (the emulator answers with the local "
            f"classifier); honest ones flagged: {times.false_flags:.1%}",
        ),
        (
            f"{name}.messages_never_judged",
            float(times.never_judged),
            f"target 0; {times.judged_twice} verdicts published twice (target 0); each "
            f"message shown {times.shown_per_message:.2f} times in published windows",
        ),
    ]


def floor_rows(
    name: str, convs: dict[str, list[Any]], model_id: str, base: Bill
) -> list[tuple[str, float, str]]:
    """What showing every message to the model exactly once would cost, and nothing
    else: no rules, no tool, no context, no output. Each conversation is rendered once
    as a block of the group prompt (sender, time to the minute); a design that shows
    every message to Bedrock cannot cost less, whatever it shares."""
    from pipeline.conversation import Conversation
    from pipeline.group import GROUP_PROMPT
    from pipeline.prompts import DirectoryPromptStore
    from pipeline.settings import REPO_ROOT
    from pipeline.tokens import count_for_model

    template = DirectoryPromptStore(REPO_ROOT / "prompts").get(GROUP_PROMPT)
    tokens = 0
    count = 0
    for cid, messages in convs.items():
        for start in range(0, len(messages), template.meta.history.messages):
            part = messages[start : start + template.meta.history.messages]
            block = template.render_conversation(
                Conversation(id=cid, messages=part), ref="0a1b2c3d"
            )
            tokens += count_for_model(model_id, block.user)
        count += len(messages)
    usd = estimate_cost(model_id, tokens, 0) / count * 1_000_000
    return [
        (
            f"{name}.floor_every_message_once.vs_original",
            usd / base.per_million,
            f"${usd:.2f} per million messages: {tokens / count:.0f} input tokens a message, "
            "shown once, no rules, tool, context or output (only the local tier, deciding "
            "without Bedrock, can go below it)",
        )
    ]


def rationale_rows(name: str, model_id: str, spent: Bill) -> list[tuple[str, float, str]]:
    """What the verdict's output (its rationale, mostly) costs, and its bound: the v2
    prompt's max_tokens on every call."""
    from pipeline.models.pricing import price_of
    from pipeline.prompts import DirectoryPromptStore
    from pipeline.settings import REPO_ROOT

    max_tokens = DirectoryPromptStore(REPO_ROOT / "prompts").get(PARLEY_PROMPT).meta.inference
    out_price = (price_of(model_id) or (0.0, 0.0))[1]
    output_usd = spent.output_tokens * out_price / 1000
    bound = spent.calls * max_tokens.max_tokens * out_price / 1000 / spent.records * 1e6
    return [
        (
            f"{name}.parley.output_share",
            output_usd / spent.usd if spent.usd else 0.0,
            f"output USD / all USD; {spent.output_tokens / max(spent.calls, 1):.0f} output "
            f"tokens a call",
        ),
        (
            f"{name}.parley.output_bound_usd_per_million",
            bound,
            f"every call spending max_tokens={max_tokens.max_tokens} on output",
        ),
    ]


def caching_rows() -> list[tuple[str, float, str]]:
    """Whether the stable part of the v2 and group prompts (the system text, sent before a
    cache point) reaches each caching model's minimum prefix; below it Bedrock caches
    nothing, and the point costs nothing."""
    from pipeline.group import GROUP_PROMPT
    from pipeline.models.prompt_cache import MIN_PREFIX_TOKENS
    from pipeline.prompts import DirectoryPromptStore
    from pipeline.settings import REPO_ROOT
    from pipeline.tokens import count_for_model

    store = DirectoryPromptStore(REPO_ROOT / "prompts")
    rows = []
    for label, ref in (("v2", PARLEY_PROMPT), ("group", GROUP_PROMPT)):
        system = store.get(ref).sections.get("system", "")  # no variables in either
        for prefix, minimum in MIN_PREFIX_TOKENS.items():
            tokens = count_for_model(prefix, system)
            verdict = "cached" if tokens >= minimum else "below the minimum: nothing cached"
            rows.append(
                (
                    f"prompt_cache.{label}.{prefix}.prefix_over_minimum",
                    tokens / minimum,
                    f"{ref} system text {tokens} tokens vs minimum {minimum}: {verdict}",
                )
            )
    return rows


if __name__ == "__main__":
    import sys

    for figure, value, context in run(quick="--quick" in sys.argv[1:]):
        print(f"cost.{figure} = {value:.4g}  ({context})", flush=True)
