"""Bedrock batch inference for large evaluations: one job per model instead of one
call per case, at batch prices.

1. write each case's request as a JSONL record `{"recordId", "modelInput"}`: the
   Converse request body (`modelInvocationType="Converse"`), or the native body of
   Titan/Mistral for `bedrock:invoke:` models (`"InvokeModel"`) — built by the same
   converters as the on-demand model (pipeline.models.bedrock);
2. upload it to S3 and submit `CreateModelInvocationJob` on the `bedrock` control plane;
3. poll `GetModelInvocationJob` until the job ends;
4. read `<output>/<job id>/<input file>.out` (records `{"recordId", "modelInput",
   "modelOutput"}` or `{"…", "error"}`) and turn each into the same `CaseResult`
   the case-by-case runner produces, so reports and the gate are identical.
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from ..errors import ConfigError, InputError, ModelError
from ..models import ModelResult
from ..models.bedrock import (
    BedrockModel,
    answer_nonce_extra,
    build_converse_request,
    invoke_text,
)
from ..models.bedrock import parse_converse_response as _parse_converse
from ..models.invoke_bodies import build_invoke_body, parse_invoke_body
from ..models.pricing import estimate_cost
from ..moderation import build_verdict
from ..prompts import PromptTemplate, open_prompt_store
from ..settings import get_settings
from .journal import task_key
from .results import CaseResult, case_result, error_result
from .runner import RunOptions, RunOutcome, RunStats, Task, build_models, prepare_task, run_matrix
from .suite import Cell, Suite, expand_matrix, load_cases

Invocation = Literal["Converse", "InvokeModel"]
INPUT_FILE = "records.jsonl"
TERMINAL = frozenset({"Completed", "PartiallyCompleted", "Failed", "Stopped", "Expired"})
FAILED = frozenset({"Failed", "Stopped", "Expired"})
# Bedrock batch inference is billed at about half the on-demand price.
BATCH_PRICE_FACTOR = 0.5
_JOB_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9-]+")


@dataclass(frozen=True)
class BatchJob:
    """One submitted job: which model, which tasks, where its files are."""

    model: str
    model_id: str
    invocation: Invocation
    job_arn: str
    input_uri: str
    output_uri: str
    tasks: dict[str, Task]


def split_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b' -> ('bucket', 'a/b')."""
    if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
        raise InputError(f"not an S3 URI: {uri!r} (expected s3://bucket/prefix)")
    bucket, _, prefix = uri[5:].partition("/")
    return bucket, prefix.strip("/")


def record_id(index: int) -> str:
    """An 11-character alphanumeric record id, as the Bedrock guide shows."""
    return f"R{index:010d}"


def model_input(task: Task, model: BedrockModel) -> dict[str, Any]:
    """The request body of one record, exactly as the on-demand call would send it."""
    if model.api == "converse":
        body = build_converse_request(model.model_id, task.prompt, task.schema, model.capabilities)
        body.pop("modelId")  # the job names the model once
        return body
    text = invoke_text(task.prompt, task.schema)
    return build_invoke_body(model.base_id, text, task.prompt.inference)


def batch_records(tasks: dict[str, Task], model: BedrockModel) -> bytes:
    """The job's input JSONL."""
    lines = [
        json.dumps({"recordId": rid, "modelInput": model_input(task, model)}, ensure_ascii=False)
        for rid, task in tasks.items()
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def job_name(suite: str, model_id: str, stamp: str) -> str:
    """A valid job name (letters, digits, hyphens; at most 63 characters)."""
    slug = _JOB_NAME_UNSAFE.sub("-", f"parley-{suite}-{model_id}").strip("-")
    return f"{slug[: 62 - len(stamp)]}-{stamp}"


def submit_job(
    bedrock: Any,
    *,
    name: str,
    role_arn: str,
    model_id: str,
    input_uri: str,
    output_uri: str,
    invocation: Invocation,
    timeout_hours: int = 24,
) -> str:
    """CreateModelInvocationJob; returns the job ARN."""
    response = bedrock.create_model_invocation_job(
        jobName=name,
        roleArn=role_arn,
        modelId=model_id,
        modelInvocationType=invocation,
        inputDataConfig={"s3InputDataConfig": {"s3Uri": input_uri, "s3InputFormat": "JSONL"}},
        outputDataConfig={"s3OutputDataConfig": {"s3Uri": output_uri}},
        timeoutDurationInHours=timeout_hours,
    )
    return str(response["jobArn"])


def wait_for_job(
    bedrock: Any,
    job_arn: str,
    *,
    poll_s: float = 60.0,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """Poll GetModelInvocationJob until the job ends; a failed job raises ModelError."""
    last = None
    while True:
        job = bedrock.get_model_invocation_job(jobIdentifier=job_arn)
        status = job["status"]
        if status != last:
            log(f"batch job {job_arn.rsplit('/', 1)[-1]}: {status}")
            last = status
        if status in FAILED:
            raise ModelError(
                f"batch job {job_arn} ended {status}: {job.get('message', '')}".strip(),
                retryable=False,
                code=f"Batch{status}",
            )
        if status in TERMINAL:
            return dict(job)
        sleep(poll_s)


def read_output(s3: Any, output_uri: str, job_arn: str) -> list[dict[str, Any]]:
    """The job's output records: `<output>/<job id>/<input file>.out`."""
    bucket, prefix = split_s3_uri(output_uri)
    job_id = job_arn.rsplit("/", 1)[-1]
    wanted = f"{job_id}/{INPUT_FILE}.out"
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if item["Key"].endswith(f"/{INPUT_FILE}.out")
    ]
    # The job writes under a folder named after its id; take that one if present.
    chosen = [k for k in keys if k.endswith(wanted)] or keys
    if not chosen:
        raise ModelError(
            f"batch job {job_id}: no {INPUT_FILE}.out under {output_uri}", retryable=False
        )
    records = []
    body = s3.get_object(Bucket=bucket, Key=chosen[0])["Body"].read().decode("utf-8")
    for number, line in enumerate(body.splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError:
                raise ModelError(
                    f"batch output line {number} is not JSON", retryable=False
                ) from None
    return records


def result_from_record(model: BedrockModel, record: dict[str, Any], task: Task) -> ModelResult:
    """A ModelResult from one output record (batch price); an `error` record raises."""
    if "modelOutput" not in record:
        error = record.get("error") or {}
        code = str(error.get("errorCode", "missing output")) if isinstance(error, dict) else "?"
        raise ModelError(
            f"batch record {record.get('recordId')}: {code}", retryable=False, code=code
        )
    output = record["modelOutput"]
    if model.api == "converse":
        result = _parse_converse(model.model_id, output, latency_ms=0.0)
        tokens = (result.input_tokens, result.output_tokens)
    else:
        answer = parse_invoke_body(model.base_id, output, task.prompt.as_text())
        result = ModelResult(
            model_id=model.model_id,
            text=answer.text,
            input_tokens=answer.input_tokens,
            output_tokens=answer.output_tokens,
            stop_reason=answer.stop_reason,
            extra={"api": "invoke"},
        )
        tokens = (answer.input_tokens, answer.output_tokens)
    cost = estimate_cost(model.model_id, *tokens) * BATCH_PRICE_FACTOR
    extra = {**result.extra, **answer_nonce_extra(task.prompt), "batch": True}
    return dataclasses.replace(result, cost_usd=cost, extra=extra)


def ingest(job: BatchJob, model: BedrockModel, records: list[dict[str, Any]]) -> list[CaseResult]:
    """Every task of the job as a CaseResult; tasks without an output record are errors."""
    by_id = {str(r.get("recordId")): r for r in records}
    results = []
    for rid, task in job.tasks.items():
        record = by_id.get(rid)
        if record is None:
            results.append(error_result(task.case, task.cell, "MissingBatchRecord", 1))
            continue
        try:
            result = result_from_record(model, record, task)
        except ModelError as exc:
            results.append(error_result(task.case, task.cell, exc.code, 1))
            continue
        conversation = task.prompt.conversation or task.case.conversation
        verdict = build_verdict(conversation, task.prompt, result, 0.0)
        results.append(
            case_result(
                task.case,
                task.cell,
                verdict,
                messages_shown=task.prompt.messages_shown,
                cached=False,
            )
        )
    return results


def run_batch(
    suite: Suite,
    *,
    s3_uri: str,
    role_arn: str,
    bedrock: Any,
    s3: Any,
    poll_s: float = 60.0,
    timeout_hours: int = 24,
    sleep: Callable[[float], None] = time.sleep,
    log: Callable[[str], None] = lambda _: None,
    templates: dict[str, PromptTemplate] | None = None,
) -> RunOutcome:
    """Evaluate a suite with one batch job per `bedrock:` model; `local:` models run here.

    Cascades and LangChain models cannot run as a batch job: the suite is refused.
    """
    if suite.kind != "classification":
        raise ConfigError("batch runs labelled suites only; use `parley eval run` for generative")
    started = time.perf_counter()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    unsupported = [m for m in suite.models if not m.startswith(("bedrock:", "local:", "replay:"))]
    if unsupported:
        raise ConfigError(
            f"batch runs bedrock: and local: models only, not {', '.join(unsupported)}; "
            "use `parley eval run` for those"
        )
    cases = load_cases(suite)
    cells = expand_matrix(suite)
    if templates is None:
        store = open_prompt_store(get_settings().prompts)
        templates = {ref: store.get(ref) for ref in suite.prompts}
    models = build_models(suite)
    results: list[CaseResult] = []
    stats = RunStats(total=len(cells) * len(cases))

    local_cells = [c for c in cells if not c.model.startswith("bedrock:")]
    if local_cells:
        local = run_matrix(
            local_cells,
            cases,
            templates=templates,
            models=models,
            db=None,
            suite_name=suite.name,
            run_fingerprint="",
            options=RunOptions.from_suite(suite),
        )
        results.extend(local.results)
        stats.model_calls += local.stats.model_calls
        stats.errors += local.stats.errors

    bucket, prefix = split_s3_uri(s3_uri)
    stamp = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
    jobs: list[tuple[BatchJob, BedrockModel]] = []
    for reference in dict.fromkeys(c.model for c in cells if c.model.startswith("bedrock:")):
        model = models[reference]
        if not isinstance(model, BedrockModel):
            raise ConfigError(f"{reference} did not resolve to a Bedrock model")
        tasks = _tasks(
            [c for c in cells if c.model == reference], cases, templates, model, reference
        )
        folder = "/".join(p for p in (prefix, f"{suite.name}-{stamp}", _slug(model.model_id)) if p)
        s3.put_object(Bucket=bucket, Key=f"{folder}/{INPUT_FILE}", Body=batch_records(tasks, model))
        invocation: Invocation = "Converse" if model.api == "converse" else "InvokeModel"
        input_uri = f"s3://{bucket}/{folder}/{INPUT_FILE}"
        output_uri = f"s3://{bucket}/{folder}/output/"
        arn = submit_job(
            bedrock,
            name=job_name(suite.name, model.model_id, stamp),
            role_arn=role_arn,
            model_id=model.model_id,
            input_uri=input_uri,
            output_uri=output_uri,
            invocation=invocation,
            timeout_hours=timeout_hours,
        )
        log(f"submitted {len(tasks)} records for {model.model_id}: {arn}")
        jobs.append(
            (
                BatchJob(reference, model.model_id, invocation, arn, input_uri, output_uri, tasks),
                model,
            )
        )
        stats.model_calls += len(tasks)

    for job, model in jobs:
        wait_for_job(bedrock, job.job_arn, poll_s=poll_s, sleep=sleep, log=log)
        ingested = ingest(job, model, read_output(s3, job.output_uri, job.job_arn))
        stats.errors += sum(r.status == "error" for r in ingested)
        stats.spent_usd += sum(r.cost_usd for r in ingested)
        results.extend(ingested)

    order = {
        task_key(c.key, case.id): i
        for i, (c, case) in enumerate((c, case) for c in cells for case in cases)
    }
    results.sort(key=lambda r: order[task_key(r.cell, r.case_id)])
    stats.attempts = stats.model_calls
    stats.wall_s = time.perf_counter() - started
    return RunOutcome(
        suite=suite.name,
        run_id=f"batch-{stamp}",
        cells=cells,
        results=results,
        stats=stats,
        started_at=started_at,
        finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
        info={"batch_jobs": [j.job_arn for j, _ in jobs]},
    )


def _tasks(
    cells: list[Cell],
    cases: list[Any],
    templates: dict[str, PromptTemplate],
    model: BedrockModel,
    reference: str,
) -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    for cell in cells:
        for case in cases:
            task = prepare_task(cell, case, templates[cell.prompt], model, reference)
            tasks[record_id(len(tasks))] = task
    return tasks


def _slug(model_id: str) -> str:
    return _JOB_NAME_UNSAFE.sub("-", model_id).strip("-")
