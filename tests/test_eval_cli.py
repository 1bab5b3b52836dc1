"""`parley eval`: the three report forms, the gate's exit codes, baselines, compare."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest

from pipeline.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
FLAG_ALL = {"suspicious": True, "score": 0.9, "categories": ["other"], "rationale": "r"}
# The fixture's test split: 6 scams, 5 benign. Flagging all: recall 1, precision 6/11.


def cli(*args: object) -> int:
    """Run `parley …` as the console script does; returns the exit code."""
    try:
        code = main([str(a) for a in args])  # the console script does sys.exit(main())
    except SystemExit as exc:
        return int(exc.code or 0)
    return int(code or 0)


def replay_suite(tmp_path: Path, gate: str, *, extra: str = "") -> Path:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps([FLAG_ALL] * 40), encoding="utf-8")
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: gated\n"
        f"datasets: [{{path: {FIXTURES / 'eval-cases.jsonl'}, split: test}}]\n"
        "prompts: [suspicious-conversation@2]\n"
        f"models: ['replay:{answers}']\n"
        "concurrency: 1\n"
        "bootstrap: 100\n"
        f"cache: {tmp_path / 'cache.db'}\n"
        f"gate: {gate}\n" + extra,
        encoding="utf-8",
    )
    return path


class StrictHTML(HTMLParser):
    """Checks that every non-void element is closed, in order; records the tags seen."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link"})  # `<x/>` needs no entry

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> with open {self.stack[-3:]}")
        else:
            self.stack.pop()


def test_smoke_suite_writes_four_reports_and_passes(tmp_path: Path) -> None:
    out = tmp_path / "report"
    code = cli(
        "eval",
        REPO / "evals" / "smoke.yaml",
        "--output",
        out,
        "--cache",
        tmp_path / "c.db",
        "--quiet",
    )
    assert code == 0
    assert {p.name for p in out.iterdir()} == {
        "summary.md",
        "results.json",
        "cases.csv",
        "report.html",
    }
    assert "**PASS**" in (out / "summary.md").read_text(encoding="utf-8")
    dataset = (REPO / "evals" / "datasets" / "marketplace.jsonl").read_text(encoding="utf-8")
    test_cases = sum(json.loads(line)["split"] == "test" for line in dataset.splitlines() if line)
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(document["cells"]) == 2 * 2 * 4
    assert len(document["cases"]) == 16 * test_cases
    assert document["run"]["complete"] is True
    assert document["run"]["stats"]["errors"] == 0
    parser = StrictHTML()
    parser.feed((out / "report.html").read_text(encoding="utf-8"))
    assert parser.errors == [] and parser.stack == []


def test_report_forms_are_complete_and_self_contained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a suite with two variants on the local baseline
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: forms\n"
        f"datasets: [{{path: {FIXTURES / 'eval-cases.jsonl'}, split: test}}]\n"
        "prompts: [suspicious-conversation@2]\n"
        "models: [local:baseline]\n"
        "variants: [full, last_message]\n"
        f"cache: {tmp_path / 'cache.db'}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    # WHEN it runs
    assert cli("eval", "run", suite, "--output", out) == 0
    # THEN the summary is printed and written
    printed = capsys.readouterr().out
    summary = (out / "summary.md").read_text(encoding="utf-8")
    head, _, failures = summary.partition("\n## Failed cases")
    assert head.strip() in printed and failures  # the failed cases are in the file only
    assert "## Variants side by side" in summary and "## Comparisons" in summary
    # AND results.json has every case of every cell, with its verdict and accounting
    document = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert len(document["cases"]) == 2 * 11
    case = document["cases"][0]
    for field in (
        "case_id",
        "label",
        "category",
        "tags",
        "cell",
        "suspicious",
        "score",
        "status",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
        "cached",
    ):
        assert field in case
    assert [c["variant"] for c in document["cells"]] == ["full", "last_message"]
    assert document["cells"][0]["metrics"]["n"] == 11
    assert document["gate"]["passed"] is True
    # AND the HTML is well-formed, readable and reaches nothing outside the file
    page = (out / "report.html").read_text(encoding="utf-8")
    parser = StrictHTML()
    parser.feed(page)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert {"svg", "table", "polyline", "circle"} <= parser.tags
    assert "link" not in parser.tags and 'src="' not in page  # the one script is inline
    assert "http://" not in page and "https://" not in page
    assert "Confusion matrices" in page and "Cost against F1" in page


def test_gate_passes_with_exit_0(tmp_path: Path) -> None:
    suite = replay_suite(tmp_path, "{recall_min: 0.9}")
    assert cli("eval", suite, "--output", tmp_path / "out", "--quiet") == 0


def test_broken_gate_exits_1_with_a_line_per_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = replay_suite(tmp_path, "{precision_min: 0.9, f1_min: 0.8, recall_min: 0.5}")
    assert cli("eval", suite, "--output", tmp_path / "out", "--quiet") == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "gate: suspicious-conversation@2|replay:"
        + str(tmp_path / "answers.json")
        + "|full: precision 0.545 < 0.900",
        "gate: suspicious-conversation@2|replay:"
        + str(tmp_path / "answers.json")
        + "|full: f1 0.706 < 0.800",
    ]


def test_bad_suite_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = replay_suite(tmp_path, "{recall_min: 0.9}", extra="thresholds: {}\n")
    assert cli("eval", suite, "--output", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "thresholds: Extra inputs are not permitted" in err
    assert err.count("\n") == 1
    assert cli("eval", tmp_path / "nope.yaml") == 2


def test_baseline_update_then_regression_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN a gate comparing F1 with a stored baseline that does not exist yet
    suite = replay_suite(tmp_path, "{f1_drop_max: 0.02, baseline: baselines/gated.json}")
    baseline = tmp_path / "baselines" / "gated.json"
    # WHEN the baseline is written
    assert cli("eval", suite, "--output", tmp_path / "a", "--quiet", "--update-baseline") == 0
    stored = json.loads(baseline.read_text(encoding="utf-8"))
    cell = next(iter(stored["cells"]))
    assert stored["cells"][cell]["f1"] == pytest.approx(12 / 17, abs=1e-4)
    # THEN the same results pass against it
    assert cli("eval", suite, "--output", tmp_path / "b", "--quiet") == 0
    # AND a better stored F1 turns the same results into a regression
    stored["cells"][cell]["f1"] = 0.9
    baseline.write_text(json.dumps(stored), encoding="utf-8")
    capsys.readouterr()
    assert cli("eval", suite, "--output", tmp_path / "c", "--quiet") == 1
    assert "fell more than 0.020 below the baseline 0.900" in capsys.readouterr().err


def test_a_hand_edited_baseline_is_one_line_or_a_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = replay_suite(tmp_path, "{f1_drop_max: 0.02, baseline: baselines/gated.json}")
    baseline = tmp_path / "baselines" / "gated.json"
    assert cli("eval", suite, "--output", tmp_path / "a", "--quiet", "--update-baseline") == 0
    stored = json.loads(baseline.read_text(encoding="utf-8"))
    cell = next(iter(stored["cells"]))
    # A stored metric that is not a number was a traceback (float("x")): one line, exit 2
    stored["cells"][cell]["f1"] = "x"
    baseline.write_text(json.dumps(stored), encoding="utf-8")
    capsys.readouterr()
    assert cli("eval", suite, "--output", tmp_path / "b", "--quiet") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "`cells` must map cell keys to metrics" in err
    # A cell stored without its F1 was a KeyError: now the gate notes it, as for no cell
    del stored["cells"][cell]["f1"]
    baseline.write_text(json.dumps(stored), encoding="utf-8")
    assert cli("eval", suite, "--output", tmp_path / "c", "--quiet") == 0
    summary = (tmp_path / "c" / "summary.md").read_text(encoding="utf-8")
    assert f"note: {cell}: no stored baseline F1" in summary


def test_budget_stop_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The replay model is unpriced and the emulator costs nothing, so use a priced
    # Bedrock model behind an endpoint, and a budget below one call (none is made).
    monkeypatch.setenv("PARLEY_BEDROCK_ENDPOINT_URL", "http://127.0.0.1:9")
    from pipeline.settings import get_settings

    get_settings.cache_clear()
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: budget\n"
        f"datasets: [{{path: {FIXTURES / 'eval-cases.jsonl'}, split: test}}]\n"
        "prompts: [suspicious-conversation@2]\n"
        "models: ['bedrock:amazon.nova-pro-v1:0']\n"
        f"cache: {tmp_path / 'cache.db'}\n",
        encoding="utf-8",
    )
    assert cli("eval", path, "--output", tmp_path / "out", "--quiet", "--max-cost", "0.0001") == 1
    err = capsys.readouterr().err
    assert "run incomplete: 11 of 11 cases have no answer (stopped by the cost budget)" in err


def test_compare_two_cells_of_one_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    suite = tmp_path / "suite.yaml"
    suite.write_text(
        "name: pair\n"
        f"datasets: [{{path: {FIXTURES / 'eval-cases.jsonl'}, split: test}}]\n"
        "prompts: [suspicious-conversation@2]\n"
        "models: [local:baseline]\n"
        "variants: [full, last_message]\n"
        f"cache: {tmp_path / 'cache.db'}\n",
        encoding="utf-8",
    )
    assert cli("eval", suite, "--output", tmp_path / "out", "--quiet") == 0
    results = tmp_path / "out" / "results.json"
    capsys.readouterr()
    assert cli("eval", "compare", results, "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["a"].endswith("|full") and data["b"].endswith("|last_message")
    assert data["n"] == 11
    assert data["wins"] + data["losses"] == len(data["flipped"])
    assert 0.0 <= data["p_exact"] <= 1.0
    assert cli("eval", "compare", results, results, "--a", "nope") == 2
    capsys.readouterr()
    assert cli("eval", "compare", results) == 0
    assert "McNemar p =" in capsys.readouterr().out


def test_eval_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("eval", "--help") == 0
    out = capsys.readouterr().out
    assert "run" in out and "compare" in out and "batch" in out
