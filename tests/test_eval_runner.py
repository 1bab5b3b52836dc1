"""The evaluation runner: cache, retries, resume after interruption, cost budget,
bounded concurrency, progress, and an end-to-end run on the Bedrock emulator."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipeline.errors import ModelError, ThrottledError
from pipeline.evaluation.cache import ResponseCache, migrate, open_db
from pipeline.evaluation.progress import Progress
from pipeline.evaluation.runner import RunOptions, estimate_cost_usd, prepare_task, run_suite
from pipeline.evaluation.suite import Suite, expand_matrix, load_cases, load_suite
from pipeline.models import ModelResult
from pipeline.models.pricing import estimate_cost
from pipeline.prompts import DirectoryPromptStore, RenderedPrompt

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
STORE = DirectoryPromptStore(REPO / "prompts")
SCAM_WORDS = ("deposit", "whatsapp", "confirm your payment", "code", "refund", "pay now")


class FakeModel:
    """A ChatModel answering by keywords of the last message; counts and gates its calls."""

    def __init__(
        self,
        model_id: str = "fake",
        *,
        interrupt_after: int | None = None,
        failures: dict[str, list[BaseException]] | None = None,
        delay_s: float = 0.0,
    ) -> None:
        self.model_id = model_id
        self.interrupt_after = interrupt_after
        self.failures = failures or {}
        self.delay_s = delay_s
        self.calls = 0
        self.seen: list[str] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def generate(
        self, prompt: RenderedPrompt, *, schema: dict | None = None, deadline_s: float | None = None
    ) -> ModelResult:
        assert prompt.conversation is not None
        with self._lock:
            self.calls += 1
            self.seen.append(prompt.conversation.id)
            if self.interrupt_after is not None and self.calls > self.interrupt_after:
                raise KeyboardInterrupt
            queue = self.failures.get(prompt.conversation.id)
            failure = queue.pop(0) if queue else None
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if self.delay_s:
                time.sleep(self.delay_s)
            if failure is not None:
                raise failure
            text = prompt.conversation.last.text.lower()
            scam = any(word in text for word in SCAM_WORDS)
            return ModelResult(
                model_id=self.model_id,
                structured={
                    "suspicious": scam,
                    "score": 0.9 if scam else 0.1,
                    "categories": ["other"] if scam else [],
                    "rationale": "fake",
                },
                input_tokens=100,
                output_tokens=20,
                latency_ms=5.0,
                cost_usd=estimate_cost(self.model_id, 100, 20),
            )
        finally:
            with self._lock:
                self.active -= 1


def make_suite(tmp_path: Path, extra: str = "", model: str = "replay:fake") -> Suite:
    path = tmp_path / "suite.yaml"
    path.write_text(
        f"name: runner-test\n"
        f"datasets: [{{path: {FIXTURES / 'eval-cases.jsonl'}, split: test}}]\n"
        f"prompts: [suspicious-conversation@2]\n"
        f"models: ['{model}']\n"
        f"variants: [full]\n"
        f"cache: {tmp_path / 'cache.db'}\n"
        f"bootstrap: 50\n" + extra,
        encoding="utf-8",
    )
    return load_suite(path)


def run(suite: Suite, model: FakeModel, **options: Any):
    """Run with `model` standing for the suite's only model; retries never pause."""
    return run_suite(
        suite,
        models={suite.models[0]: model},
        options=RunOptions.from_suite(suite, retry_base_s=0.0, **options),
        sleep=lambda _: None,
    )


CASES = 11  # the fixture's test split


def test_second_run_is_answered_from_the_cache(tmp_path: Path) -> None:
    # GIVEN a suite run once
    suite = make_suite(tmp_path)
    first_model = FakeModel()
    first = run(suite, first_model)
    assert first_model.calls == CASES
    assert first.stats.model_calls == CASES and first.stats.cache_hits == 0
    # WHEN it runs again
    again_model = FakeModel()
    again = run(suite, again_model)
    # THEN no model call, the same verdicts, marked cached
    assert again_model.calls == 0
    assert again.stats.cache_hits == CASES
    assert all(r.cached for r in again.results)
    assert [r.suspicious for r in again.results] == [r.suspicious for r in first.results]
    assert again.run_id != first.run_id  # the first run had finished: a new run
    # AND --no-cache asks the model again
    fresh = FakeModel()
    run(suite, fresh, use_cache=False)
    assert fresh.calls == CASES


def test_cache_key_changes_with_model_identity_and_prompt(tmp_path: Path) -> None:
    suite = make_suite(tmp_path)
    case = load_cases(suite)[0]
    cell = expand_matrix(suite)[0]
    template = STORE.get("suspicious-conversation@2")
    model = FakeModel()
    key = prepare_task(cell, case, template, model, "fake|aws").key
    assert key == prepare_task(cell, case, template, model, "fake|aws").key
    assert key != prepare_task(cell, case, template, model, "fake|emulator").key
    other = STORE.get("suspicious-conversation@1")
    assert key != prepare_task(cell, case, other, model, "fake|aws").key


def test_errors_are_not_cached_and_are_retried_next_run(tmp_path: Path) -> None:
    # GIVEN a model failing for good on one case
    suite = make_suite(tmp_path)
    broken = FakeModel(failures={"ev-003": [ModelError("bad request", retryable=False)]})
    first = run(suite, broken)
    failed = [r for r in first.results if r.status == "error"]
    assert [(r.case_id, r.error, r.attempts) for r in failed] == [("ev-003", "ModelError", 1)]
    assert first.stats.errors == 1 and not first.complete
    db = open_db(tmp_path / "cache.db")
    assert len(ResponseCache(db)) == CASES - 1  # the error was not stored
    db.close()
    # WHEN the suite runs again
    healed = FakeModel()
    again = run(suite, healed)
    # THEN only the failed case reaches the model (the rest is resumed from the journal)
    assert healed.seen == ["ev-003"]
    assert again.complete and again.stats.resumed == CASES - 1


def test_retryable_errors_are_retried_with_backoff(tmp_path: Path) -> None:
    suite = make_suite(tmp_path)
    sleeps: list[float] = []
    model = FakeModel(
        failures={
            "ev-001": [ThrottledError("slow down"), ModelError("5xx", retryable=True)],
            "ev-002": [ThrottledError("slow down")] * 4,
        }
    )
    outcome = run_suite(
        suite,
        models={suite.models[0]: model},
        options=RunOptions.from_suite(suite, max_attempts=4, retry_base_s=0.01, retry_cap_s=0.05),
        sleep=sleeps.append,
    )
    by_id = {r.case_id: r for r in outcome.results}
    assert by_id["ev-001"].status == "scored" and by_id["ev-001"].attempts == 3
    assert by_id["ev-002"].status == "error" and by_id["ev-002"].error == "ThrottlingException"
    assert by_id["ev-002"].attempts == 4
    assert len(sleeps) == 2 + 3  # a pause before each retry
    assert all(0.0 <= s <= 0.05 for s in sleeps)


def test_resume_after_interruption_calls_only_the_remaining_cases(tmp_path: Path) -> None:
    # GIVEN a run interrupted (Ctrl-C) after 4 answers, caching off: only the journal helps
    suite = make_suite(tmp_path, "concurrency: 1\n")
    interrupted = FakeModel(interrupt_after=4)
    with pytest.raises(KeyboardInterrupt):
        run(suite, interrupted, use_cache=False)
    # WHEN the suite runs again
    resumed_model = FakeModel()
    resumed = run(suite, resumed_model, use_cache=False)
    # THEN the 4 finished cases are not asked again
    assert resumed_model.calls == CASES - 4
    assert set(resumed_model.seen).isdisjoint(interrupted.seen[:4])
    assert resumed.stats.resumed == 4
    assert len(resumed.results) == CASES and resumed.complete
    # AND --restart starts over
    restarted = FakeModel()
    run(suite, restarted, use_cache=False, resume=False)
    assert restarted.calls == CASES


def test_cost_budget_stops_before_spending_more(tmp_path: Path) -> None:
    # GIVEN a priced model (Nova Pro) and a budget for a few cases only
    suite = make_suite(tmp_path, "concurrency: 2\n")
    template = STORE.get("suspicious-conversation@2")
    model = FakeModel("amazon.nova-pro-v1:0")
    cases = load_cases(suite)
    cell = expand_matrix(suite)[0]
    estimates = [
        estimate_cost_usd(model, template.render_conversation(c.conversation), {}) for c in cases
    ]
    actual = estimate_cost("amazon.nova-pro-v1:0", 100, 20)  # what each call really costs
    assert all(e > actual for e in estimates)  # the estimate is an upper bound
    budget = max(estimates) + 3.5 * actual
    # WHEN it runs with the budget
    outcome = run(suite, model, max_cost=budget)
    # THEN it stopped, never spent beyond the budget, and the next case would have
    assert outcome.stopped == "budget"
    assert 3 <= model.calls < CASES
    assert outcome.stats.spent_usd <= budget
    assert outcome.stats.skipped_budget == CASES - model.calls
    next_case = cases[model.calls]
    task = prepare_task(cell, next_case, template, model, "x")
    assert outcome.stats.spent_usd + task.estimate_usd > budget
    assert not outcome.complete
    # AND a re-run with more budget finishes the rest only
    more = FakeModel("amazon.nova-pro-v1:0")
    finished = run(suite, more, max_cost=1.0, use_cache=False)
    assert more.calls == CASES - model.calls
    assert finished.complete


def test_concurrency_is_bounded(tmp_path: Path) -> None:
    suite = make_suite(tmp_path, "concurrency: 3\n")
    model = FakeModel(delay_s=0.03)
    run(suite, model)
    assert 1 < model.max_active <= 3


def test_progress_line_shows_count_rate_and_eta() -> None:
    now = [0.0]
    lines: list[str] = []
    progress = Progress(10, lines.append, tty=False, clock=lambda: now[0])
    for _ in range(5):
        now[0] += 2.0
        progress.advance(cached=False, cost_usd=0.001)
    assert lines[-1].startswith("eval 5/10 (50%) | 0.5 cases/s | ETA 0:10")
    assert "spent $0.0050" in lines[-1]
    assert len(lines) == 5  # one line per tenth off a terminal
    tty: list[str] = []
    live = Progress(4, tty.append, tty=True, interval_s=0.0, clock=lambda: now[0])
    live.skip(2)
    live.advance(cached=True)
    live.finish()
    assert tty[0].startswith("\reval 3/4") and "cached 1" in tty[0]
    assert tty[-1].endswith("\n")


def test_progress_reaches_the_injected_writer(tmp_path: Path) -> None:
    suite = make_suite(tmp_path)
    lines: list[str] = []
    run_suite(
        suite,
        models={suite.models[0]: FakeModel()},
        progress=lambda total: Progress(total, lines.append),
    )
    assert lines[-1].startswith(f"eval {CASES}/{CASES} (100%)")


def test_migrations_run_once(tmp_path: Path) -> None:
    db = open_db(tmp_path / "m.db")
    names = [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY rowid")]
    assert names == ["m001_initial", "m002_run_journal"]
    assert migrate(db) == []
    db.close()


def test_end_to_end_on_the_emulator_then_from_the_cache(tmp_path: Path) -> None:
    # GIVEN a suite whose bedrock: model runs on the in-process emulator
    suite = make_suite(
        tmp_path,
        "emulator: {latency_ms: 1, responder: baseline}\nvariants: [full, last_message]\n",
        model="bedrock:amazon.nova-micro-v1:0",
    )
    # WHEN it runs twice
    first = run_suite(suite)
    again = run_suite(suite)
    # THEN the first run called the emulator once per distinct prompt, with verdicts parsed
    calls = first.stats.model_calls
    assert first.info["emulator"]["served"] == calls == 2 * CASES - first.stats.cache_hits
    assert first.complete and all(r.status == "scored" for r in first.results)
    assert {r.model_id for r in first.results} == {"amazon.nova-micro-v1:0"}
    assert all(r.input_tokens > 0 for r in first.results)
    # AND the second made no model call: the emulator did not even start
    assert again.stats.model_calls == 0
    assert again.info["emulator"] == {"started": False}
    assert [r.suspicious for r in again.results] == [r.suspicious for r in first.results]
