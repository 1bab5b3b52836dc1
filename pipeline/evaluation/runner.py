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
import functools
import json
import math
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ..conversation import Conversation
from ..errors import ModelError
from ..models import ChatModel, ModelResult, resolve
from ..models.pricing import price_of
from ..moderation import build_verdict
from ..prompts import PromptTemplate, RenderedPrompt, estimate_tokens, open_prompt_store
from ..retry import RetryStats, call_with_retries
from ..settings import get_settings
from ..verdict import verdict_tool_schema
from . import attackgen
from .assertions import preload_language_model
from .cache import ResponseCache, cache_key, open_db
from .controls import run_controls
from .endpoint import SuiteEmulator, endpoint_label, judge_endpoint_label, suite_emulator
from .generative import (
    FATAL_CODES,
    GradeAnswer,
    GradeCall,
    Judging,
    build_result,
    case_specs,
    first_call_error,
    grade_calls,
    is_emulated,
    judge_stand_in,
    served_by,
)
from .journal import RunJournal, task_key
from .progress import Progress
from .results import CaseResult, case_result, error_result
from .rubric import GRADE_SCHEMA, JUDGE_PROMPT
from .suite import Case, Cell, Suite, expand_matrix, fingerprint, load_cases, parse_ttl
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
    cache_ttl: timedelta | None = None

    @classmethod
    def from_suite(cls, suite: Suite, **overrides: Any) -> RunOptions:
        values: dict[str, Any] = {
            "concurrency": suite.concurrency,
            "max_attempts": suite.max_attempts,
            "max_cost": suite.max_cost,
            "cache_ttl": parse_ttl(suite.cache_ttl) if suite.cache_ttl else None,
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
    # Generative suites: the fixed-answer controls (controls.py), checked like a model.
    control_cells: list[Cell] = field(default_factory=list)
    control_results: list[CaseResult] = field(default_factory=list)

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
    # Generative cases: the earlier turns as shown, and the assertions to check.
    history: Conversation | None = None
    specs: tuple[Any, ...] = ()


@dataclass(frozen=True)
class _Answer:
    result: ModelResult | None
    elapsed_ms: float
    attempts: int
    error: str | None = None
    grades: tuple[GradeAnswer, ...] = ()


@dataclass(frozen=True)
class GenerativeSetup:
    """What generative cells need beyond a classification run."""

    suite_asserts: list[Any] = field(default_factory=list)
    judging: Judging = field(default_factory=Judging)
    served: dict[str, str] = field(default_factory=dict)
    show_text: bool = False


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


def build_models(
    suite: Suite, emulator: SuiteEmulator | None = None, references: list[str] | None = None
) -> dict[str, ChatModel]:
    """Resolve each model reference once; with an emulator, `bedrock:` models call it."""
    # One client for all: the emulator's own (loopback endpoint, dummy credentials).
    client = emulator.client() if emulator is not None else None
    models = {}
    for reference in suite.models if references is None else references:
        options = {"client": client} if client is not None and "bedrock:" in reference else {}
        models[reference] = resolve(reference, **options)
    return models


def _warn_if_legacy(suite: Suite, emulator: SuiteEmulator | None, refs: list[str]) -> list[str]:
    """LEGACY Bedrock models of the suite, warned about (stderr line and EMF metric);
    answered by the suite's emulator's catalogue when it has one, else by Bedrock."""
    import sys

    from ..models.lifecycle import control_client, warn_if_legacy

    if not any(ref.startswith("bedrock:") for ref in refs):
        return []
    if emulator is not None:  # the emulator's catalogue, without starting it for this
        from ..emulator.catalogue import CatalogueClient

        client: Any = CatalogueClient()
    else:
        client = control_client(get_settings())
    where = f"suite {suite.name}"
    return warn_if_legacy(
        refs, client=client, service="parley-eval", where=where, metric_stream=sys.stderr
    )


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
    grader_refs = _grader_refs(suite, cases)
    if any(a.type == "language" for c in cases for a in (*suite.asserts, *c.asserts)):
        preload_language_model()
    if templates is None:
        store = open_prompt_store(get_settings().prompts)
        wanted = [*suite.prompts, *([JUDGE_PROMPT] if grader_refs else [])]
        templates = {ref: store.get(ref) for ref in wanted}
    emulator = suite_emulator(suite)
    try:
        label = endpoint_label(suite)
        if models is None:
            models = build_models(suite, emulator)
        graders = {ref: models[ref] for ref in grader_refs if ref in models}
        missing = [ref for ref in grader_refs if ref not in graders]
        if missing:
            graders.update(build_models(suite, emulator, missing))
        outcome_legacy = _warn_if_legacy(suite, emulator, [*models, *graders])
        identities = {ref: model_identity(ref, m, label) for ref, m in models.items()}
        served = {ref: served_by(suite, ref) for ref in models}
        judge_label = judge_endpoint_label(suite)
        judges = {r: model_identity(r, m, judge_label) for r, m in graders.items()}
        setup = None
        if suite.kind == "generative":
            setup = GenerativeSetup(
                suite_asserts=list(suite.asserts),
                judging=Judging(
                    graders=graders,
                    identities=judges,
                    served={r: served_by(suite, r, judge=True) for r in graders},
                    template=templates.get(JUDGE_PROMPT),
                    default_grader=suite.grader,
                ),
                served=served,
                show_text=suite.show_text,
            )
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
                # The judges too: a journaled case holds its grades.
                run_fingerprint=fingerprint(
                    suite, cells, cases, identities | {f"judge {r}": i for r, i in judges.items()}
                ),
                options=options,
                progress=progress(len(cells) * len(cases)) if progress else None,
                sleep=sleep,
                generative=setup,
                served=served,
            )
        finally:
            if own_db:
                db.close()
    finally:
        if emulator is not None:
            emulator.stop()
    if outcome_legacy:
        outcome.info["legacy_models"] = outcome_legacy
    if emulator is not None:
        outcome.info["emulator"] = emulator.stats() or {"started": False}
    outcome.info["served_by"] = {ref: served_by(suite, ref) for ref in suite.models}
    if grader_refs:
        outcome.info["graders"] = {ref: served_by(suite, ref, judge=True) for ref in grader_refs}
    if suite.kind == "generative":
        outcome.info["kind"] = "generative"
        outcome.info["show_text"] = suite.show_text
        outcome.control_cells, outcome.control_results = run_controls(suite, cases)
    if suite.generated:
        outcome.info["generated"] = generated_records(suite, cases)
    return outcome


def generated_records(suite: Suite, cases: list[Case]) -> dict[str, dict[str, Any]]:
    """What each generated attack drew, per family and case (family, seed, targeted
    messages, parameters): with the case, enough to make the same attack again."""
    return {
        family: {
            case.id: attackgen.generate(case.conversation, family, suite.seed, case.tags).record
            for case in cases
        }
        for family in suite.generated
    }


def _grader_refs(suite: Suite, cases: list[Case]) -> list[str]:
    """Every judge model the suite's rubrics name, in first-seen order."""
    refs = [
        spec.grader or suite.grader
        for case in cases
        for spec in (*suite.asserts, *case.asserts)
        if spec.type == "llm-rubric"
    ]
    return list(dict.fromkeys(r for r in refs if r))


def prepare_task(
    cell: Cell,
    case: Case,
    template: PromptTemplate,
    model: ChatModel,
    identity: str,
    *,
    estimate: bool = True,
    generative: GenerativeSetup | None = None,
) -> Task:
    """Apply the variant, render the prompt, compute the cache key and the cost estimate
    (skipped with `estimate=False`: only a budget needs it)."""
    conversation = parse_variant(cell.variant).view(case.conversation, case.tags)
    if generative is not None:
        return _prepare_generative(cell, case, template, model, identity, conversation,
                                   estimate=estimate, setup=generative)  # fmt: skip
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


def _prepare_generative(
    cell: Cell,
    case: Case,
    template: PromptTemplate,
    model: ChatModel,
    identity: str,
    history: Conversation,
    *,
    estimate: bool,
    setup: GenerativeSetup,
) -> Task:
    prompt = template.render_conversation(history, utterance=case.utterance)
    specs = case_specs(setup.suite_asserts, case)
    cost = 0.0
    if estimate and not is_emulated(setup.served.get(cell.model, "")):
        cost = estimate_cost_usd(model, prompt, None)
    judging = setup.judging
    if estimate and judging.template is not None:
        # Judges are budgeted before the answer exists, with an answer of max length.
        stand_in = judge_stand_in(prompt.inference.max_tokens)
        for call in grade_calls(specs, judging, history, case, stand_in):
            if not is_emulated(judging.served.get(call.grader, "")):
                cost += estimate_cost_usd(judging.graders[call.grader], call.prompt, GRADE_SCHEMA)
    return Task(
        cell=cell,
        case=case,
        prompt=prompt,
        schema=None,
        key=cache_key(identity, prompt, None),
        estimate_usd=cost,
        history=history,
        specs=specs,
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
    generative: GenerativeSetup | None = None,
    served: dict[str, str] | None = None,
) -> RunOutcome:
    """Evaluate every cell on every case. Without `db`: no cache and no journal.

    `served` names who answers each model (an emulator's answers cost nothing).

    A model (or judge) whose first calls fail for a configuration reason (no
    credentials, unknown model, unreachable endpoint) stops the run: FirstCallError.
    """
    identities = identities or {ref: ref for ref in models}
    served = served or (generative.served if generative is not None else {})
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
    cache = ResponseCache(db, ttl=options.cache_ttl) if db is not None else None
    answered_once: set[str] = set()  # models (and judges) with a successful call
    results: dict[str, CaseResult] = journal.finished() if journal is not None else {}
    stats.resumed = len(results)
    if progress is not None:
        progress.skip(stats.resumed)

    commits = _Commits(db)

    def record(task: Task, answer: _Answer, cached: bool) -> None:
        key = task_key(task.cell.key, task.case.id)
        commits.touch()
        if answer.result is None:
            results[key] = error_result(
                task.case, task.cell, answer.error or "?", answer.attempts
            ).model_copy(update={"served_by": served.get(task.cell.model, "")})
            stats.errors += 1
        elif generative is not None:
            setup = generative
            fresh = [g for g in answer.grades if not g.cached and g.result is not None]
            results[key] = build_result(
                task.case,
                task.cell,
                task.specs,
                result=answer.result,
                prompt=task.prompt,
                history=task.history or task.case.conversation,
                grades=list(answer.grades),
                served=served.get(task.cell.model, ""),
                judges_served=setup.judging.served,
                default_grader=setup.judging.default_grader,
                cached=cached,
                attempts=answer.attempts,
                elapsed_ms=answer.elapsed_ms,
                show_text=setup.show_text,
            )
            if cache is not None:
                for grade in fresh:
                    cache.put(grade.call.key, grade.result)  # type: ignore[arg-type]
            stats.spent_usd += results[key].grader_cost_usd
        else:
            conversation = task.prompt.conversation or task.case.conversation
            verdict = build_verdict(conversation, task.prompt, answer.result, answer.elapsed_ms)
            label = served.get(task.cell.model, "")
            if is_emulated(label):
                verdict = verdict.model_copy(update={"cost_usd": 0.0})  # not Bedrock's cost
            results[key] = case_result(
                task.case,
                task.cell,
                verdict,
                messages_shown=task.prompt.messages_shown,
                cached=cached,
                attempts=answer.attempts,
            ).model_copy(update={"served_by": label})
        # A cached answer is not journaled: a resumed run finds it in the cache again.
        if answer.result is not None and not cached:
            stats.spent_usd += results[key].cost_usd
            if cache is not None:
                cache.put(task.key, answer.result)
            if journal is not None:
                journal.append(results[key])
        if progress is not None:
            spent = results[key].grader_cost_usd + (0.0 if cached else results[key].cost_usd)
            progress.advance(cached=cached, cost_usd=spent)

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
            _fail_fast(task.cell.model, answer.result, answer.error)
            for grade in answer.grades:
                stats.attempts += grade.attempts
                stats.model_calls += not grade.cached
                _fail_fast(grade.call.grader, grade.result, grade.error)
            record(task, answer, cached=answer.result is not None and answer.attempts == 0)

    def _fail_fast(reference: str, result: ModelResult | None, error: str | None) -> None:
        if result is not None:
            answered_once.add(reference)
        elif error in FATAL_CODES and reference not in answered_once:
            raise first_call_error(reference, error)

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
                    estimate=options.max_cost is not None
                    and not is_emulated(served.get(cell.model, "")),
                    generative=generative,
                )
                hit = cache.get(task.key) if cache is not None and options.use_cache else None
                pending: list[GradeCall] = []
                known: tuple[GradeAnswer, ...] = ()
                if hit is not None and generative is not None:
                    pending, known = _cached_grades(task, hit, generative, cache, options)
                if hit is not None and not pending:
                    stats.cache_hits += 1
                    record(task, _Answer(hit, hit.latency_ms, 0, grades=known), cached=True)
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
                if hit is None:
                    stats.model_calls += 1
                else:
                    stats.cache_hits += 1  # the answer is cached; only judges are asked
                judging = generative.judging if generative is not None else None
                future = executor.submit(
                    _call, models[cell.model], task, options, sleep, judging, hit, known
                )
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


def _cached_grades(
    task: Task,
    hit: ModelResult,
    setup: GenerativeSetup,
    cache: ResponseCache | None,
    options: RunOptions,
) -> tuple[list[GradeCall], tuple[GradeAnswer, ...]]:
    """For a cached answer: the judge calls still to make, and the grades in the cache."""
    calls = grade_calls(task.specs, setup.judging, task.history or task.case.conversation,
                        task.case, hit.text)  # fmt: skip
    pending, known = [], []
    for call in calls:
        grade = cache.get(call.key) if cache is not None and options.use_cache else None
        if grade is None:
            pending.append(call)
        else:
            known.append(GradeAnswer(call, grade, cached=True))
    return pending, tuple(known)


def _retrying(
    call: Callable[[], ModelResult], options: RunOptions, sleep: Callable[[float], None]
) -> tuple[ModelResult | None, int, str | None]:
    retry = RetryStats()
    try:
        result = call_with_retries(
            call,
            time_left_s=lambda: math.inf,
            max_attempts=options.max_attempts,
            base_s=options.retry_base_s,
            cap_s=options.retry_cap_s,
            sleep=sleep,
            stats=retry,
        )
    except ModelError as exc:
        return None, retry.calls, exc.code
    return result, retry.calls, None


def _call(
    model: ChatModel,
    task: Task,
    options: RunOptions,
    sleep: Callable[[float], None],
    judging: Judging | None = None,
    known: ModelResult | None = None,
    grades: tuple[GradeAnswer, ...] = (),
) -> _Answer:
    """Worker: one case's model call (unless `known`, from the cache), with retries on
    retryable errors; then, for a generative case, the judge calls not in `grades`."""
    started = time.perf_counter()
    attempts = 0
    result = known
    if result is None:
        result, attempts, error = _retrying(
            lambda: model.generate(task.prompt, schema=task.schema), options, sleep
        )
        if result is None:
            return _Answer(None, (time.perf_counter() - started) * 1000, attempts, error)
    elapsed = (time.perf_counter() - started) * 1000
    if judging is None or not judging.graders:
        return _Answer(result, elapsed, attempts)
    done = {g.call.index for g in grades}
    answers = list(grades)
    history = task.history or task.case.conversation
    for call in grade_calls(task.specs, judging, history, task.case, result.text):
        if call.index in done:
            continue
        ask = functools.partial(
            judging.graders[call.grader].generate, call.prompt, schema=GRADE_SCHEMA
        )
        grade, tries, error = _retrying(ask, options, sleep)
        answers.append(GradeAnswer(call, grade, tries, error))
    return _Answer(result, elapsed, attempts, grades=tuple(answers))
