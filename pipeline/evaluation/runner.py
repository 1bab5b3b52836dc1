"""The evaluation runner: every cell of the matrix on every case, fast and frugal.

- bounded concurrency (a thread pool of `concurrency` workers; calls are I/O bound);
- retries with exponential backoff and full jitter on retryable model errors;
- the response cache: an answer already on disk is never asked for again;
- the run journal: finished cases survive an interruption; a re-run continues;
- `max_cost`: a case is not started when its estimated cost would exceed the budget.

All bookkeeping (cache, journal, parsing, progress) happens on the calling thread;
workers only call models.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..errors import ModelError
from ..models import ChatModel, ModelResult, resolve
from ..models.pricing import price_of
from ..moderation import build_verdict
from ..prompts import PromptTemplate, RenderedPrompt, estimate_tokens, open_prompt_store
from ..retry import RetryStats, call_with_retries
from ..settings import get_settings
from ..verdict import verdict_tool_schema
from .cache import ResponseCache, cache_key, open_db
from .endpoint import SuiteEmulator, endpoint_label, suite_emulator
from .journal import RunJournal, task_key
from .progress import Progress
from .results import CaseResult, case_result, error_result
from .suite import Case, Cell, Suite, expand_matrix, fingerprint, load_cases
from .variants import parse_variant


@dataclass(frozen=True)
class RunOptions:
    """How to run; the CLI's flags override the suite's values."""

    concurrency: int = 8
    max_attempts: int = 4
    max_cost: float | None = None
    use_cache: bool = True
    resume: bool = True
    retry_base_s: float = 0.5
    retry_cap_s: float = 20.0

    @classmethod
    def from_suite(cls, suite: Suite, **overrides: Any) -> RunOptions:
        values: dict[str, Any] = {
            "concurrency": suite.concurrency,
            "max_attempts": suite.max_attempts,
            "max_cost": suite.max_cost,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


@dataclass
class RunStats:
    """What a run did (counts of cases unless said otherwise)."""

    total: int
    model_calls: int = 0
    attempts: int = 0
    cache_hits: int = 0
    resumed: int = 0
    errors: int = 0
    skipped_budget: int = 0
    spent_usd: float = 0.0
    wall_s: float = 0.0


@dataclass
class RunOutcome:
    """The results of a run, in matrix order, with its statistics."""

    suite: str
    run_id: str | None
    cells: list[Cell]
    results: list[CaseResult]
    stats: RunStats
    stopped: str | None = None
    started_at: str = ""
    finished_at: str = ""
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every case of every cell has an answer (no budget stop, no failed call)."""
        return (
            self.stopped is None
            and self.stats.errors == 0
            and (len(self.results) == self.stats.total)
        )


@dataclass(frozen=True)
class Task:
    """One case in one cell, rendered and ready to send."""

    cell: Cell
    case: Case
    prompt: RenderedPrompt
    schema: dict[str, Any] | None
    key: str
    estimate_usd: float


@dataclass(frozen=True)
class _Answer:
    result: ModelResult | None
    elapsed_ms: float
    attempts: int
    error: str | None = None


# ------------------------------------------------------------------ the models


def priced_model_id(model: ChatModel) -> str:
    """The model whose price bounds a call: a cascade's second tier (worst case)."""
    second = getattr(model, "second", None)
    return priced_model_id(second) if second is not None else model.model_id


def estimate_cost_usd(model: ChatModel, prompt: RenderedPrompt, schema: dict | None) -> float:
    """Upper estimate of one call: estimated input tokens, and `max_tokens` of output."""
    price = price_of(priced_model_id(model))
    if price is None:
        return 0.0
    tokens_in = estimate_tokens(prompt.as_text())
    if schema is not None:
        tokens_in += estimate_tokens(json.dumps(schema))
    return (tokens_in * price[0] + prompt.inference.max_tokens * price[1]) / 1000.0


def model_identity(reference: str, model: ChatModel, endpoint: str | None = None) -> str:
    """What the cache keys a model by: its reference, where it runs, and the sha256 of
    any trained artifact behind it (a retrained baseline must not hit old answers)."""
    parts = [reference, endpoint or "aws", *_artifact_digests(model)]
    return "|".join(parts)


def _artifact_digests(model: Any) -> list[str]:
    digests = []
    artifact = getattr(model, "artifact", None)
    meta = getattr(artifact, "meta", None)
    if isinstance(meta, dict) and meta.get("model_sha256"):
        digests.append(str(meta["model_sha256"]))
    for tier in ("first", "second"):
        if (sub := getattr(model, tier, None)) is not None:
            digests.extend(_artifact_digests(sub))
    return digests


def build_models(suite: Suite, emulator: SuiteEmulator | None = None) -> dict[str, ChatModel]:
    """Resolve each model reference once; with an emulator, `bedrock:` models call it."""
    # One client for all: the emulator's own (loopback endpoint, dummy credentials).
    client = emulator.client() if emulator is not None else None
    models = {}
    for reference in suite.models:
        options = {"client": client} if client is not None and "bedrock:" in reference else {}
        models[reference] = resolve(reference, **options)
    return models


# -------------------------------------------------------------------- the run


def run_suite(
    suite: Suite,
    *,
    options: RunOptions | None = None,
    models: dict[str, ChatModel] | None = None,
    templates: dict[str, PromptTemplate] | None = None,
    progress: Callable[[int], Progress | None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    db: sqlite3.Connection | None = None,
) -> RunOutcome:
    """Load the suite's cases and prompts, start its emulator if any, run the matrix.

    `models` / `templates` / `db` may be injected (tests); `progress(total)` makes the
    progress reporter.
    """
    options = options or RunOptions.from_suite(suite)
    cases = load_cases(suite)
    cells = expand_matrix(suite)
    if templates is None:
        store = open_prompt_store(get_settings().prompts)
        templates = {ref: store.get(ref) for ref in suite.prompts}
    emulator = suite_emulator(suite)
    try:
        if models is None:
            models = build_models(suite, emulator)
        label = endpoint_label(suite)
        identities = {ref: model_identity(ref, m, label) for ref, m in models.items()}
        own_db = db is None
        db = db if db is not None else open_db(suite.path(suite.cache))
        try:
            outcome = run_matrix(
                cells,
                cases,
                templates=templates,
                models=models,
                identities=identities,
                db=db,
                suite_name=suite.name,
                run_fingerprint=fingerprint(suite, cells, cases, identities),
                options=options,
                progress=progress(len(cells) * len(cases)) if progress else None,
                sleep=sleep,
            )
        finally:
            if own_db:
                db.close()
    finally:
        if emulator is not None:
            emulator.stop()
    if emulator is not None:
        outcome.info["emulator"] = emulator.stats() or {"started": False}
    return outcome


def prepare_task(
    cell: Cell,
    case: Case,
    template: PromptTemplate,
    model: ChatModel,
    identity: str,
    *,
    estimate: bool = True,
) -> Task:
    """Apply the variant, render the prompt, compute the cache key and the cost estimate
    (skipped with `estimate=False`: only a budget needs it)."""
    conversation = parse_variant(cell.variant).apply(case.conversation)
    prompt = template.render_conversation(conversation)
    schema = _VERDICT_SCHEMA if prompt.output == "verdict" else None
    return Task(
        cell=cell,
        case=case,
        prompt=prompt,
        schema=schema,
        key=cache_key(identity, prompt, schema),
        estimate_usd=estimate_cost_usd(model, prompt, schema) if estimate else 0.0,
    )


_VERDICT_SCHEMA = verdict_tool_schema()


class _Commits:
    """Groups the run's database writes into one transaction every `interval_s` (and
    whenever the runner waits for calls): a commit per cached case would cost more
    than the case itself."""

    def __init__(self, db: sqlite3.Connection | None, interval_s: float = 0.25) -> None:
        self.db = db
        self.interval_s = interval_s
        self.opened = 0.0
        self.open = False

    def touch(self) -> None:
        if self.db is None:
            return
        now = time.monotonic()
        if self.open and now - self.opened >= self.interval_s:
            self.flush()
        if not self.open:
            self.db.execute("BEGIN")
            self.open, self.opened = True, now

    def flush(self) -> None:
        if self.db is not None and self.open:
            self.db.execute("COMMIT")
            self.open = False


def run_matrix(
    cells: list[Cell],
    cases: list[Case],
    *,
    templates: dict[str, PromptTemplate],
    models: dict[str, ChatModel],
    identities: dict[str, str] | None = None,
    db: sqlite3.Connection | None,
    suite_name: str,
    run_fingerprint: str,
    options: RunOptions,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> RunOutcome:
    """Evaluate every cell on every case. Without `db`: no cache and no journal."""
    identities = identities or {ref: ref for ref in models}
    total = len(cells) * len(cases)
    stats = RunStats(total=total)
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    journal = (
        RunJournal.open(
            db, suite=suite_name, fingerprint=run_fingerprint, total=total, resume=options.resume
        )
        if db is not None
        else None
    )
    cache = ResponseCache(db) if db is not None else None
    results: dict[str, CaseResult] = journal.finished() if journal is not None else {}
    stats.resumed = len(results)
    if progress is not None:
        progress.skip(stats.resumed)

    commits = _Commits(db)

    def record(task: Task, answer: _Answer, cached: bool) -> None:
        key = task_key(task.cell.key, task.case.id)
        commits.touch()
        if answer.result is None:
            results[key] = error_result(task.case, task.cell, answer.error or "?", answer.attempts)
            stats.errors += 1
        else:
            conversation = task.prompt.conversation or task.case.conversation
            verdict = build_verdict(conversation, task.prompt, answer.result, answer.elapsed_ms)
            results[key] = case_result(
                task.case,
                task.cell,
                verdict,
                messages_shown=task.prompt.messages_shown,
                cached=cached,
                attempts=answer.attempts,
            )
            # A cached answer is not journaled: a resumed run finds it in the cache again.
            if not cached:
                stats.spent_usd += verdict.cost_usd
                if cache is not None:
                    cache.put(task.key, answer.result)
                if journal is not None:
                    journal.append(results[key])
        if progress is not None:
            progress.advance(cached=cached, cost_usd=0.0 if cached else results[key].cost_usd)

    inflight: dict[Future[_Answer], Task] = {}

    backlog: list[tuple[Task, _Answer]] = []

    def drain() -> None:
        """Wait until a call finishes; its answer waits in the backlog for settle()."""
        commits.flush()  # while calls are in flight, committing costs no time
        done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
        for future in done:
            task = inflight.pop(future)
            backlog.append((task, future.result()))  # re-raises KeyboardInterrupt & bugs

    def settle() -> None:
        """Record finished calls (parse, cache, journal, progress)."""
        while backlog:
            task, answer = backlog.pop(0)
            stats.attempts += answer.attempts
            record(task, answer, cached=False)

    stopped: str | None = None
    executor = ThreadPoolExecutor(options.concurrency, thread_name_prefix="parley-eval")
    try:
        for cell in cells:
            for case in cases:
                if task_key(cell.key, case.id) in results:
                    continue
                task = prepare_task(
                    cell,
                    case,
                    templates[cell.prompt],
                    models[cell.model],
                    identities[cell.model],
                    estimate=options.max_cost is not None,
                )
                hit = cache.get(task.key) if cache is not None and options.use_cache else None
                if hit is not None:
                    stats.cache_hits += 1
                    record(task, _Answer(hit, hit.latency_ms, 0), cached=True)
                    continue
                if stopped is not None:
                    stats.skipped_budget += 1
                    continue
                while len(inflight) >= options.concurrency:
                    drain()
                if options.max_cost is not None:
                    settle()
                    while inflight and _over_budget(options, stats, inflight, task):
                        drain()  # actual costs replace estimates as calls finish
                        settle()
                    if _over_budget(options, stats, inflight, task):
                        stopped = "budget"
                        stats.skipped_budget += 1
                        continue
                stats.model_calls += 1
                future = executor.submit(_call, models[cell.model], task, options, sleep)
                inflight[future] = task
                settle()  # after refilling the free slot: the bookkeeping never delays a call
        while inflight:
            drain()
            settle()
    except BaseException:
        # Interrupted: what finished is journaled; calls still queued are dropped.
        with contextlib.suppress(Exception):
            settle()
        commits.flush()
        executor.shutdown(wait=False, cancel_futures=True)
        raise
    commits.flush()
    executor.shutdown(wait=True)
    stats.wall_s = time.perf_counter() - started
    if progress is not None:
        progress.finish()
    ordered = [
        results[key]
        for cell in cells
        for case in cases
        if (key := task_key(cell.key, case.id)) in results
    ]
    outcome = RunOutcome(
        suite=suite_name,
        run_id=journal.run_id if journal is not None else None,
        cells=cells,
        results=ordered,
        stats=stats,
        stopped=stopped,
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    if journal is not None:
        journal.close(complete=outcome.complete)
    return outcome


def _over_budget(
    options: RunOptions, stats: RunStats, inflight: dict[Future[_Answer], Task], task: Task
) -> bool:
    if options.max_cost is None:
        return False
    committed = stats.spent_usd + sum(t.estimate_usd for t in inflight.values())
    return committed + task.estimate_usd > options.max_cost + 1e-12


def _call(
    model: ChatModel, task: Task, options: RunOptions, sleep: Callable[[float], None]
) -> _Answer:
    """Worker: one case's model call, with retries on retryable errors."""
    retry = RetryStats()
    started = time.perf_counter()
    try:
        result = call_with_retries(
            lambda: model.generate(task.prompt, schema=task.schema),
            time_left_s=lambda: math.inf,
            max_attempts=options.max_attempts,
            base_s=options.retry_base_s,
            cap_s=options.retry_cap_s,
            sleep=sleep,
            stats=retry,
        )
    except ModelError as exc:
        return _Answer(None, (time.perf_counter() - started) * 1000, retry.calls, exc.code)
    return _Answer(result, (time.perf_counter() - started) * 1000, retry.calls)
