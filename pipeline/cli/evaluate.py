"""`parley eval`: offline prompt evaluations.

    parley eval evals/smoke.yaml [--output DIR] [--max-cost USD] ...   (= parley eval run …)
    parley eval compare RUN_A/results.json [RUN_B/results.json] [--a CELL] [--b CELL]
    parley eval batch evals/<suite>.yaml --s3 s3://bucket/prefix --role-arn ARN
    parley eval cache clear [SUITE.yaml | --cache PATH] [--older-than 7d]
    parley eval attack [STRATEGY TEXT]     (the evasion suite's strategies, or one applied)

`eval` is a group whose default command is `run`: a first argument that is not a
subcommand name is a suite file. Exit codes: 0 gate passed, 1 gate broken, 2 bad input.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from .common import echo_json, json_option


class DefaultGroup(click.Group):
    """A group that runs `default_command` when the first argument names no subcommand."""

    default_command = "run"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup)
def evaluate() -> None:
    """Evaluate prompts and models on labelled conversations: metrics, cost, a CI gate.

    `parley eval SUITE.yaml` runs a suite (same as `parley eval run SUITE.yaml`).
    """


def _suite_reports_dir(suite: Any) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return suite.base_dir / "reports" / f"{suite.name}-{stamp}"


@evaluate.command("run")
@click.argument("suite_path", metavar="SUITE.yaml", type=click.Path(path_type=Path))
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="report directory; default: <suite dir>/reports/<suite>-<timestamp>/",
)
@click.option("--max-cost", type=click.FloatRange(min=0), default=None, help="USD budget")
@click.option("--concurrency", type=click.IntRange(1, 256), default=None, help="calls at once")
@click.option("--no-cache", is_flag=True, help="ask the models again (answers are re-cached)")
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="SQLite cache and run journal; default: the suite's `cache` (evals/.cache/eval.db)",
)
@click.option(
    "--resume/--restart",
    default=True,
    show_default=True,
    help="continue an interrupted run of the same suite, or start over",
)
@click.option(
    "--cache-ttl",
    metavar="AGE",
    default=None,
    help="cached answers older than AGE (3600, 30m, 12h, 7d) are asked again",
)
@click.option("--quiet", is_flag=True, help="no progress line and no summary on the terminal")
@click.option("--update-baseline", is_flag=True, help="store this run's F1 as the gate baseline")
@click.option(
    "--dataset",
    "datasets",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="evaluate these JSONL files instead of the suite's datasets (repeatable), e.g. "
    "the output of `parley review export`",
)
@click.pass_context
def run(
    ctx: click.Context,
    suite_path: Path,
    output: Path | None,
    max_cost: float | None,
    concurrency: int | None,
    no_cache: bool,
    cache_path: Path | None,
    resume: bool,
    cache_ttl: str | None,
    quiet: bool,
    update_baseline: bool,
    datasets: tuple[Path, ...] = (),
) -> None:
    """Run every prompt x model x variant of a suite on its cases; write the reports."""
    from ..evaluation.progress import Progress
    from ..evaluation.report import build_report, write_reports
    from ..evaluation.runner import RunOptions, run_suite
    from ..evaluation.suite import load_suite, parse_ttl

    suite = load_suite(suite_path)
    if datasets:
        suite = _with_datasets(suite, datasets)
    if cache_path is not None:
        suite = suite.model_copy(update={"cache": str(cache_path.resolve())})
    try:
        ttl = parse_ttl(cache_ttl) if cache_ttl is not None else None
    except ValueError as exc:
        raise InputError(f"--cache-ttl: {exc}") from None
    options = RunOptions.from_suite(
        suite,
        concurrency=concurrency,
        max_cost=max_cost,
        use_cache=not no_cache,
        resume=resume,
        cache_ttl=ttl,
    )

    def progress(total: int) -> Progress | None:
        if quiet:
            return None
        return Progress(total, _write_stderr, tty=sys.stderr.isatty())

    try:
        outcome = run_suite(suite, options=options, progress=progress)
    except KeyboardInterrupt:
        click.echo("\ninterrupted: finished cases are saved; run again to resume", err=True)
        raise
    report = build_report(suite, outcome, update_baseline=update_baseline)
    directory = output or _suite_reports_dir(suite)
    paths = write_reports(report, directory)
    if not quiet:
        _echo_summary(report, paths)
    gate = report.gate
    if gate is not None and not gate.passed:
        for failure in gate.failures:
            click.echo(f"gate: {failure}", err=True)
        ctx.exit(1)


def _with_datasets(suite: Any, paths: tuple[Path, ...]) -> Any:
    """The suite on other datasets, named on the command line (relative to the working
    directory, not to the suite file); a missing file is one line."""
    from ..evaluation.suite import DatasetSpec

    for path in paths:
        if not path.is_file():
            raise InputError(f"--dataset {path}: no such file")
    specs = [DatasetSpec(path=str(path.resolve())) for path in paths]
    return suite.model_copy(update={"datasets": specs})


def _echo_summary(report: Any, paths: dict[str, Path]) -> None:
    from ..evaluation.report import failed_cases, markdown_summary

    click.echo(markdown_summary(report))
    failed = len(failed_cases(report))
    if failed:
        click.echo(f"{failed} failed cases, with what the model said: summary.md, report.html")
    names = ", ".join(p.name for key, p in paths.items() if key != "summary")
    click.echo(f"reports: {paths['summary']}, {names}")


def _write_stderr(text: str) -> None:
    sys.stderr.write(text)
    sys.stderr.flush()


@evaluate.command("compare")
@click.argument("run_a", metavar="A.json", type=click.Path(path_type=Path, dir_okay=False))
@click.argument(
    "run_b", metavar="[B.json]", type=click.Path(path_type=Path, dir_okay=False), required=False
)
@click.option("--a", "cell_a", metavar="CELL", help="cell key prompt|model|variant in A")
@click.option("--b", "cell_b", metavar="CELL", help="cell key in B (or in A without B.json)")
@json_option
def compare_command(
    run_a: Path, run_b: Path | None, cell_a: str | None, cell_b: str | None, as_json: bool
) -> None:
    """Compare two cells on the same cases: wins, losses, flipped cases, McNemar's test.

    Give two results.json files (one cell each, or choose with --a/--b), or one file
    and both --a and --b.
    """
    from ..evaluation.compare import compare, pick_cell
    from ..evaluation.results import by_cell, load_results

    groups_a = by_cell(load_results(run_a))
    groups_b = by_cell(load_results(run_b)) if run_b is not None else groups_a
    if run_b is None and (cell_a is None or cell_b is None):
        if len(groups_a) != 2:
            raise InputError("with one results file, choose both cells: --a CELL --b CELL")
        cell_a, cell_b = list(groups_a)
    key_a = pick_cell(groups_a, cell_a, "a")
    key_b = pick_cell(groups_b, cell_b, "b")
    result = compare(groups_a[key_a], groups_b[key_b])
    if as_json:
        echo_json(result.as_dict())
        return
    click.echo(f"A: {result.a}\nB: {result.b}")
    click.echo(
        f"{result.n} shared cases; correct: A {result.a_correct}, B {result.b_correct}; "
        f"B wins {result.wins}, B losses {result.losses}"
    )
    click.echo(
        f"McNemar p = {result.p_exact:.4f} (exact), {result.p_chi2:.4f} (chi-square, "
        f"continuity-corrected): {result.conclusion}"
    )
    for flip in result.flipped:
        side = "B right" if flip.b_wins else "A right"
        label = "" if flip.label is None else f"label {flip.label} "
        click.echo(f"  {flip.case_id}  {label}({flip.category}): {side}")


@evaluate.command("batch")
@click.argument("suite_path", metavar="SUITE.yaml", type=click.Path(path_type=Path))
@click.option("--s3", "s3_uri", required=True, metavar="s3://BUCKET/PREFIX", help="job files")
@click.option("--role-arn", required=True, help="service role Bedrock assumes to read/write S3")
@click.option("--output", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--poll-seconds", type=click.FloatRange(min=1), default=60.0, show_default=True)
@click.option("--timeout-hours", type=click.IntRange(24, 168), default=24, show_default=True)
@click.option("--quiet", is_flag=True, help="no summary on the terminal")
@click.pass_context
def batch_command(
    ctx: click.Context,
    suite_path: Path,
    s3_uri: str,
    role_arn: str,
    output: Path | None,
    poll_seconds: float,
    timeout_hours: int,
    quiet: bool,
) -> None:
    """Run a suite's `bedrock:` cells as Bedrock batch inference jobs, then report.

    One job per model; `local:` models run in-process. Results go into the same
    reports and gate as `parley eval run`.
    """
    import boto3

    from ..evaluation.batch import run_batch
    from ..evaluation.report import build_report, write_reports
    from ..evaluation.suite import load_suite
    from ..settings import get_settings

    suite = load_suite(suite_path)
    settings = get_settings()
    region = settings.region
    outcome = run_batch(
        suite,
        s3_uri=s3_uri,
        role_arn=role_arn,
        bedrock=boto3.client("bedrock", region_name=region),
        s3=boto3.client("s3", region_name=region, endpoint_url=settings.aws_endpoint_url),
        poll_s=poll_seconds,
        timeout_hours=timeout_hours,
        sleep=time.sleep,
        log=lambda line: click.echo(line, err=True),
    )
    report = build_report(suite, outcome)
    paths = write_reports(report, output or _suite_reports_dir(suite))
    if not quiet:
        _echo_summary(report, paths)
    if report.gate is not None and not report.gate.passed:
        for failure in report.gate.failures:
            click.echo(f"gate: {failure}", err=True)
        ctx.exit(1)


@evaluate.group("cache")
def cache_group() -> None:
    """The evaluation cache: cached answers and the run journal."""


@cache_group.command("clear")
@click.argument(
    "suite_path", metavar="[SUITE.yaml]", type=click.Path(path_type=Path), required=False
)
@click.option(
    "--cache",
    "cache_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="the SQLite cache to clear; default: the suite's `cache`",
)
@click.option(
    "--older-than",
    metavar="AGE",
    default=None,
    help="delete only answers cached longer ago than AGE (30m, 12h, 7d); keeps the journal",
)
def cache_clear(suite_path: Path | None, cache_path: Path | None, older_than: str | None) -> None:
    """Delete cached answers (and, without --older-than, the run journal)."""
    from ..evaluation.cache import clear_cache, open_db
    from ..evaluation.suite import load_suite, parse_ttl

    if cache_path is None:
        if suite_path is None:
            raise InputError("name a suite (its `cache`) or --cache PATH")
        suite = load_suite(suite_path)
        cache_path = suite.path(suite.cache)
    try:
        age = parse_ttl(older_than) if older_than is not None else None
    except ValueError as exc:
        raise InputError(f"--older-than: {exc}") from None
    if not cache_path.exists():
        click.echo(f"no cache at {cache_path}: nothing to clear")
        return
    db = open_db(cache_path)
    try:
        deleted = clear_cache(db, age)
    finally:
        db.close()
    click.echo(
        f"cleared {cache_path}: {deleted['responses']} cached answers"
        + (f", {deleted['runs']} journaled runs" if age is None else "")
    )


@evaluate.command("attack")
@click.argument("strategy", required=False)
@click.argument("text", required=False)
@click.option("--seed", type=int, default=0, show_default=True, help="the strategy's seed")
def attack_command(strategy: str | None, text: str | None, seed: int) -> None:
    """List the attack strategies of the evasion suite and the generated attack
    families (gen:FAMILY), or show what STRATEGY does to a message TEXT (invisible and
    non-ASCII characters shown as \\uXXXX below it; a generated attack also prints
    what it drew)."""
    import json
    import random

    from ..evaluation import attackgen
    from ..evaluation.attacks import STRATEGIES, known

    if strategy is None:
        for name, item in STRATEGIES.items():
            kind = "character" if item.character_level else "content"
            click.echo(f"{name:<16} {kind:<10} {item.summary}")
        for name, family in attackgen.FAMILIES.items():
            click.echo(f"{'gen:' + name:<20} {family.kind:<10} {family.summary}")
        return
    generated = strategy.removeprefix("gen:") if strategy.startswith("gen:") else None
    if generated is not None and not attackgen.known(generated):
        raise InputError(
            f"unknown attack family {generated!r}; known: {', '.join(attackgen.FAMILIES)}"
        )
    if generated is None and not known(strategy):
        raise InputError(f"unknown attack {strategy!r}; known: {', '.join(STRATEGIES)}")
    if text is None:
        raise InputError("give the message to attack: parley eval attack STRATEGY TEXT")
    if generated is not None:
        from ..conversation import conversation_from_dict

        one = conversation_from_dict({"id": "text", "messages": [{"sender": "a", "text": text}]})
        made = attackgen.generate(one, generated, seed)
        parts, record = [m.text for m in made.conversation.messages], made.record
    else:
        rng, parts = random.Random(seed), [text]
        for name in strategy.split("+"):  # a+b: a, then b
            parts = [out for part in parts for out in STRATEGIES[name].rewrite(part, rng)]
    for part in parts:
        click.echo(part)
        click.echo("  " + part.encode("ascii", "backslashreplace").decode("ascii"))
    if generated is not None:
        click.echo(json.dumps(record, ensure_ascii=False))
