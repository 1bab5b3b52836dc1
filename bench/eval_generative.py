"""Generative evaluations: a companion-style suite on the emulator, and report speed.

Figures (issue 13):
- a generative suite of 150 child turns x 2 prompts x 2 variants (600 cells) with
  deterministic assertions on every answer, on the emulator's canned companion at
  `LATENCY_MS`: wall time of a first run / the ideal (cells x latency / concurrency),
  target <= 1.15; a re-run makes 0 model calls;
- report generation (metrics with bootstrap intervals, comparisons, Markdown, JSON,
  CSV and HTML) for 5,000 case results: target < 2 s, and the HTML under 5 MB.
The turns are synthetic (each distinct, so no two share a cache key); `--quick`
uses 40 turns and 1,000 results.
- the shipped suite itself, evals/companion.yaml (301 hand-written turns x 2 prompts x
  2 variants, its deterministic assertions; its rubrics are not graded without a
  grader), on the same emulator at `LATENCY_MS` with a fresh cache: wall / the ideal
  of its distinct model calls (single-turn cases give the same prompt with and without
  history, and the cache answers the second) at its concurrency, target <= 1.15; a
  re-run makes 0 calls.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from pathlib import Path

from pipeline.evaluation.assertions import AnswerContext, AssertionSpec, evaluate
from pipeline.evaluation.report import build_report, write_reports
from pipeline.evaluation.results import CaseResult
from pipeline.evaluation.runner import RunOptions, RunOutcome, RunStats, run_suite
from pipeline.evaluation.suite import Cell, load_suite

LATENCY_MS = 200
CONCURRENCY = 8
_ASKS = [
    "can I have a {thing} now",
    "I want a {thing} please please",
    "why can't I have {thing}",
    "my {who} said I can have {thing}",
    "tell me about a {animal}",
    "I'm scared of the {animal}",
    "what does a {animal} eat",
]
_THINGS = ["cookie", "chocolate", "new toy", "tablet", "ice cream", "cartoon", "cake"]
_ANIMALS = ["lion", "dog", "cat", "dinosaur", "owl", "frog"]
_WHO = ["mummy", "daddy", "granny", "big sister"]
ASSERTS = (
    "assert:\n"
    "  - {type: passes-screen}\n"
    "  - {type: valid-ssml}\n"
    "  - {type: no-pii}\n"
    "  - {type: max-sentences, value: 3}\n"
    "  - {type: max-spoken-seconds, value: 15}\n"
    "  - {type: not-icontains-any, value: ['yes you can', 'i promise']}\n"
    "  - {type: language, value: en}\n"
)


def write_turns(path: Path, count: int, seed: int = 13) -> None:
    """Synthetic child turns with one earlier exchange each (so the variants differ)."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as out:
        for index in range(count):
            words = {
                "thing": rng.choice(_THINGS),
                "animal": rng.choice(_ANIMALS),
                "who": rng.choice(_WHO),
            }
            case = {
                "id": f"gen-{index:04d}",
                "category": rng.choice(["treats", "facts", "hurt_scared_lost", "memory"]),
                "history": [
                    {"role": "child", "text": rng.choice(_ASKS).format(**words)},
                    {"role": "companion", "text": "Ooh, tell me more! I'm all ears."},
                ],
                "utterance": rng.choice(_ASKS).format(**words) + f" number {index}",
                "assert": [{"type": "icontains-any", "value": ["after", "grown-up", "roar"]}],
            }
            out.write(json.dumps(case) + "\n")


def write_suite(directory: Path, turns: int) -> Path:
    write_turns(directory / "turns.jsonl", turns)
    suite = directory / "bench.yaml"
    suite.write_text(
        "name: bench-generative\nkind: generative\n"
        "datasets: [{path: turns.jsonl}]\n"
        "prompts: [companion@1, companion@2]\n"
        "models: ['bedrock:anthropic.claude-3-haiku-20240307-v1:0']\n"
        "variants: [with_history, without_history]\n"
        f"concurrency: {CONCURRENCY}\n"
        "cache: cache.db\nbootstrap: 1000\n"
        f"emulator: {{latency_ms: {LATENCY_MS}, responder: companion}}\n" + ASSERTS,
        encoding="utf-8",
    )
    return suite


def _warm_up() -> None:
    # Fixed per-process costs, not the runner's: botocore's service models, the
    # language detector's model.
    import boto3

    boto3.client("bedrock-runtime", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    evaluate(AssertionSpec(type="language", value="en"), AnswerContext(None, "warm up the model"))


def synthetic_results(count: int, cells: list[Cell], seed: int = 5) -> list[CaseResult]:
    """`count` generative case results spread over `cells`, about half of them failing."""
    rng = random.Random(seed)
    specs = [
        AssertionSpec(type="passes-screen"),
        AssertionSpec(type="max-sentences", value=3),
        AssertionSpec(type="icontains-any", value=["after", "grown-up"]),
        AssertionSpec(type="no-pii"),
    ]
    answers = [
        "A biscuit sounds yummy! Let's save it for after dinner and count to ten like a dinosaur.",
        "Ooh, tell me more! I'm all ears, like a bunny. What shall we play next, my friend?",
    ]
    per_cell = count // len(cells)
    results = []
    for cell in cells:
        for index in range(per_cell):
            answer = rng.choice(answers) + f" ({index})"
            outcomes = tuple(evaluate(s, AnswerContext(None, answer)) for s in specs)
            results.append(
                CaseResult(
                    case_id=f"gen-{index:05d}",
                    kind="generative",
                    category=rng.choice(["treats", "facts", "hurt_scared_lost", "memory", "rude"]),
                    cell=cell.key,
                    prompt=cell.prompt,
                    model=cell.model,
                    variant=cell.variant,
                    status="scored",
                    served_by="emulator (companion responder)",
                    answer=answer,
                    passed=all(o.passed for o in outcomes),
                    assertion_score=sum(o.score for o in outcomes) / len(outcomes),
                    assertions=outcomes,
                    input_tokens=300,
                    output_tokens=40,
                    latency_ms=rng.uniform(50, 400),
                )
            )
    return results


def report_speed(directory: Path, count: int) -> tuple[float, int]:
    directory.mkdir(parents=True, exist_ok=True)
    suite = load_suite(write_suite(directory, 10))
    cells = [Cell(p, suite.models[0], v) for p in suite.prompts for v in suite.variants]
    results = synthetic_results(count, cells)
    outcome = RunOutcome(
        suite=suite.name,
        run_id="bench",
        cells=cells,
        results=results,
        stats=RunStats(total=len(results)),
        info={"served_by": {suite.models[0]: "emulator (companion responder)"}},
    )
    started = time.perf_counter()
    paths = write_reports(build_report(suite, outcome), directory / "report")
    elapsed = time.perf_counter() - started
    return elapsed, paths["html"].stat().st_size


def companion_suite(directory: Path) -> list[tuple[str, float, str]]:
    """The shipped companion suite at `LATENCY_MS` on the emulator, fresh cache, twice."""
    from pipeline.settings import REPO_ROOT

    text = (REPO_ROOT / "evals" / "companion.yaml").read_text(encoding="utf-8")
    dataset = (REPO_ROOT / "evals" / "datasets" / "companion.jsonl").as_posix()
    text = text.replace("path: datasets/companion.jsonl", f"path: {dataset}")
    text = text.replace("  latency_ms: 0\n", f"  latency_ms: {LATENCY_MS}\n")
    path = directory / "companion.yaml"
    path.write_text(text + "cache: cache.db\n", encoding="utf-8")
    suite = load_suite(path)
    options = RunOptions.from_suite(suite)
    started = time.perf_counter()
    first = run_suite(suite, options=options)
    first_s = time.perf_counter() - started
    again = run_suite(suite, options=options)
    if first.stats.errors:
        raise RuntimeError(f"companion suite run had errors: {first.stats}")
    calls = first.stats.model_calls
    ideal_s = calls * LATENCY_MS / 1000 / suite.concurrency
    received = again.info.get("emulator", {}).get("received", 0)
    return [
        (
            "companion suite first run wall / ideal",
            first_s / ideal_s,
            f"evals/companion.yaml: {len(first.results)} cells, {calls} distinct model calls "
            f"({first.stats.cache_hits} answered by the cache), {LATENCY_MS} ms, concurrency "
            f"{suite.concurrency}: {first_s:.2f} s vs ideal {ideal_s:.2f} s (target <= 1.15)",
        ),
        (
            "companion suite re-run model calls",
            float(again.stats.model_calls + received),
            f"cache hits {again.stats.cache_hits}/{len(again.results)} (target 0)",
        ),
    ]


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    turns = 40 if quick else 150
    results = 1000 if quick else 5000
    _warm_up()
    with tempfile.TemporaryDirectory(prefix="parley-bench-gen-") as tmp:
        directory = Path(tmp)
        suite = load_suite(write_suite(directory, turns))
        options = RunOptions.from_suite(suite)
        started = time.perf_counter()
        first = run_suite(suite, options=options)
        first_s = time.perf_counter() - started
        again = run_suite(suite, options=options)
        report_s, html_bytes = report_speed(directory / "r", results)
        (directory / "companion").mkdir()
        shipped = [] if quick else companion_suite(directory / "companion")
    cells = turns * 4
    if first.stats.errors or len(first.results) != cells:
        raise RuntimeError(f"first run incomplete: {first.stats}")
    ideal_s = cells * LATENCY_MS / 1000 / CONCURRENCY
    emulator = again.info.get("emulator", {})
    received = emulator.get("received", 0)
    return [
        (
            "generative first run wall / ideal",
            first_s / ideal_s,
            f"{turns} turns x 2 prompts x 2 variants = {cells} cells, 7 suite + 1 case "
            f"assertions, {LATENCY_MS} ms, concurrency {CONCURRENCY}: {first_s:.2f} s vs "
            f"ideal {ideal_s:.2f} s (target <= 1.15)",
        ),
        (
            "generative re-run model calls",
            float(again.stats.model_calls + received),
            f"runner calls {again.stats.model_calls}, cache hits "
            f"{again.stats.cache_hits}/{cells} (target 0)",
        ),
        (
            "report generation seconds",
            report_s,
            f"{results} generative case results, 4 cells: metrics with 1,000-resample "
            "intervals, comparisons, Markdown, JSON, CSV, HTML (target < 2 s)",
        ),
        (
            "report HTML megabytes",
            html_bytes / 1e6,
            f"{html_bytes:,} bytes for {results} results (target < 5 MB)",
        ),
        *shipped,
    ]


if __name__ == "__main__":
    for name, value, context in run(quick="--quick" in __import__("sys").argv):
        print(f"{name}: {value:.3f}  ({context})")
