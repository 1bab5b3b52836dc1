"""Evaluation runner throughput against the Bedrock emulator, and the cache's effect.

Figures (issue 5): wall time of a first run / the ideal (cases x latency /
concurrency), target <= 1.15; on a re-run, model calls (target 0) and the speed-up
over the first run (target >= 50x). Both runs are `run_suite` end to end (cases
loaded, emulator started when a call needs it, every case judged), measured side by
side in one process after boto3 has loaded its service models. The targets are
for the full run (500 cases); `--quick` (100 cases) is a smoke test, its fixed
costs weigh five times more.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from pipeline.evaluation.runner import RunOptions, run_suite
from pipeline.evaluation.suite import load_suite

LATENCY_MS = 200
CONCURRENCY = 8
_OPENERS = [
    "Hi, is the {item} still available?",
    "Hello! I saw your ad for the {item}.",
    "Good morning, I am interested in the {item}.",
]
_REPLIES = [
    "Yes it is, you can come and see it on {day}.",
    "Send me a {amount} dollar deposit before the visit and I keep it for you.",
    "Pay with a gift card and I ship the {item} today, another buyer is waiting.",
    "Sure, we can meet at the station on {day}, payment on the platform.",
]
_ITEMS = ["bike", "sofa", "flat", "camera", "car", "guitar", "table", "phone"]
_DAYS = ["Monday", "Tuesday", "Saturday", "Sunday"]


def write_cases(path: Path, count: int, seed: int = 7) -> None:
    """Synthetic labelled conversations, each distinct (so no two share a cache key)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            reply = rng.randrange(len(_REPLIES))
            words = {
                "item": rng.choice(_ITEMS),
                "day": rng.choice(_DAYS),
                "amount": rng.randrange(100, 9000),
            }
            messages = [
                {"sender": "buyer", "text": rng.choice(_OPENERS).format(**words)},
                {"sender": "seller", "text": _REPLIES[reply].format(**words) + f" (ref {index})"},
            ]
            case = {
                "id": f"bench-{index:05d}",
                "split": "test",
                "label": int(reply in (1, 2)),
                "category": ["none", "advance_fee_deposit", "pressure_urgency", "none"][reply],
                "tags": ["synthetic"],
                "lang": "en",
                "messages": messages,
            }
            out.write(json.dumps(case) + "\n")


def write_suite(directory: Path, cases: int) -> Path:
    write_cases(directory / "cases.jsonl", cases)
    suite = directory / "bench.yaml"
    suite.write_text(
        "name: bench\n"
        "datasets: [{path: cases.jsonl}]\n"
        "prompts: [suspicious-conversation@2]\n"
        "models: ['bedrock:amazon.nova-micro-v1:0']\n"
        "variants: [full]\n"
        f"concurrency: {CONCURRENCY}\n"
        "cache: cache.db\n"
        "bootstrap: 0\n"
        f"emulator: {{latency_ms: {LATENCY_MS}, responder: baseline}}\n",
        encoding="utf-8",
    )
    return suite


def _warm_up() -> None:
    # botocore loads its service models once per process (~0.3 s): not the runner's cost.
    import boto3

    boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    cases = 100 if quick else 500
    _warm_up()
    with tempfile.TemporaryDirectory(prefix="parley-bench-eval-") as tmp:
        suite = load_suite(write_suite(Path(tmp), cases))
        options = RunOptions.from_suite(suite)

        started = time.perf_counter()
        first = run_suite(suite, options=options)
        first_s = time.perf_counter() - started

        started = time.perf_counter()
        again = run_suite(suite, options=options)
        again_s = time.perf_counter() - started

    ideal_s = cases * LATENCY_MS / 1000 / CONCURRENCY
    emulator = again.info.get("emulator", {})
    received = emulator.get("received", 0)
    emulator_state = "not started" if emulator.get("started") is False else f"{received} requests"
    if first.stats.errors or len(first.results) != cases:
        raise RuntimeError(f"first run incomplete: {first.stats}")
    return [
        (
            "first run wall / ideal",
            first_s / ideal_s,
            f"{cases} cases, {LATENCY_MS} ms, concurrency {CONCURRENCY}: "
            f"{first_s:.2f} s vs ideal {ideal_s:.2f} s (target <= 1.15)",
        ),
        (
            "re-run model calls",
            float(again.stats.model_calls + received),
            f"runner calls {again.stats.model_calls}, emulator {emulator_state}; "
            f"cache hits {again.stats.cache_hits}/{cases} (target 0)",
        ),
        (
            "re-run speed-up",
            first_s / again_s,
            f"{first_s:.2f} s -> {again_s:.3f} s (target >= 50x)",
        ),
    ]


if __name__ == "__main__":
    for name, value, context in run(quick="--quick" in __import__("sys").argv):
        print(f"{name}: {value:.3f}  ({context})")
