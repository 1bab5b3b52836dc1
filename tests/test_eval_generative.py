"""Generative suites end to end: the companion prompt on the emulator, rubric judges
with queued grades, honest labels in every report form, the conversation text only
when the suite opts in, the assertion gate, fail-fast and cache expiry."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.errors import ConfigError, InputError, ModelError
from pipeline.evaluation.compare import compare
from pipeline.evaluation.generative import FirstCallError
from pipeline.evaluation.report import build_report, cases_csv, write_reports
from pipeline.evaluation.results import by_cell
from pipeline.evaluation.runner import RunOptions, run_suite
from pipeline.evaluation.suite import load_suite
from pipeline.models import ModelResult
from pipeline.models.pricing import estimate_cost

FIXTURES = Path(__file__).parent / "fixtures" / "companion"
HAIKU = "bedrock:us.anthropic.claude-haiku-4-5-20251001-v1:0"
JUDGE = "bedrock:amazon.nova-lite-v1:0"
MICRO, LITE = "amazon.nova-micro-v1:0", "amazon.nova-lite-v1:0"


def cli(*args: object) -> int:
    try:
        return main([str(a) for a in args]) or 0
    except SystemExit as exc:
        return int(exc.code or 0)


def write_suite(tmp_path: Path, body: str, *, dataset: Path | None = None) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        "name: gen\nkind: generative\n"
        f"datasets: [{{path: {dataset or FIXTURES / 'turns.jsonl'}}}]\n"
        f"cache: {tmp_path / 'cache.db'}\nbootstrap: 50\n" + body,
        encoding="utf-8",
    )
    return path


def companion_suite(tmp_path: Path, extra: str = "") -> Path:
    return write_suite(
        tmp_path,
        "prompts: [companion@1, companion@2]\n"
        f"models: ['{HAIKU}']\n"
        "variants: [with_history, without_history]\n"
        "emulator: {responder: companion}\n"
        "assert: [{type: passes-screen}, {type: max-sentences, value: 3}]\n" + extra,
    )


# ------------------------------------------------------------------- the suite


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kind: classification\n", "need `kind: generative`"),
        ("variants: [full]\n", "generative suites use with_history"),
        ("gate: {assertion: sounds-nice, floor: 0.9}\n", "not an assertion type"),
        ("gate: {assertion: passes-screen}\n", "`assertion` and `floor` go together"),
        ("assert: [{type: regex, value: '('}]\n", "bad regular expression"),
        ("cache_ttl: soon\n", "cache_ttl"),
        ("cache_ttl: 1000000000d\n", "longer than 36500 days"),  # overflowed timedelta
    ],
)
def test_bad_generative_settings_are_one_line(
    tmp_path: Path, body: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "name: gen\nkind: generative\ndatasets: [{path: x.jsonl}]\n"
        "prompts: [companion@1]\nmodels: [local:baseline]\n"
        "assert: [{type: passes-screen}]\n"
    )
    lines = [line for line in text.splitlines() if not line.startswith(body.split(":")[0])]
    path = tmp_path / "suite.yaml"
    path.write_text("\n".join(lines) + "\n" + body, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_suite(path)


def test_gate_shorthands(tmp_path: Path) -> None:
    one = load_suite(companion_suite(tmp_path, "gate: {assertion: passes-screen, floor: 0.95}\n"))
    assert [(a.assertion, a.floor) for a in one.gate.assertions] == [("passes-screen", 0.95)]
    assert one.gate.cells[0].variant is None  # every cell, not only `full`
    many = load_suite(
        companion_suite(
            tmp_path, "gate: [{assertion: all, floor: 0.5}, {assertion: no-pii, floor: 1}]\n"
        )
    )
    assert [a.assertion for a in many.gate.assertions] == ["all", "no-pii"]


def test_a_case_needs_an_assertion_and_a_rubric_needs_a_judge(tmp_path: Path) -> None:
    data = tmp_path / "cases.jsonl"
    data.write_text('{"id": "a", "utterance": "hi", "assert": []}\n', encoding="utf-8")
    body = f"prompts: [companion@1]\nmodels: ['{HAIKU}']\nemulator: {{responder: companion}}\n"
    with pytest.raises(InputError, match="no assertion to meet"):
        run_suite(load_suite(write_suite(tmp_path, body, dataset=data)))
    data.write_text(
        '{"id": "a", "utterance": "hi", "assert": [{"type": "llm-rubric", "value": "kind"}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="an llm-rubric counts only with a `grader`"):
        run_suite(load_suite(write_suite(tmp_path, body, dataset=data)))


def test_a_rubric_without_a_grader_is_shown_not_graded(tmp_path: Path) -> None:
    # GIVEN an offline suite (no grader) whose cases carry a rubric besides other checks
    data = tmp_path / "cases.jsonl"
    data.write_text(
        '{"id": "a", "utterance": "can I have a cookie", "assert": ['
        '{"type": "llm-rubric", "value": "does not promise"}, '
        '{"type": "icontains", "value": "after"}]}\n',
        encoding="utf-8",
    )
    body = f"prompts: [companion@1]\nmodels: ['{HAIKU}']\nemulator: {{responder: companion}}\n"
    suite = load_suite(write_suite(tmp_path, body, dataset=data))
    outcome = run_suite(suite)
    # THEN the rubric is neither a pass nor a fail, and the case is judged on the rest
    (result,) = outcome.results
    rubric = result.assertions[0]
    assert rubric.skipped and not rubric.passed and rubric.reason.startswith("not graded")
    assert result.passed and result.failed_assertions == []
    report = build_report(suite, outcome)
    summary = report.summaries[result.cell]
    assert summary["not_graded"] == 1 and "llm-rubric" not in summary["per_assertion"]
    text = write_reports(report, tmp_path / "out")["summary"].read_text(encoding="utf-8")
    assert "1 llm-rubric assertions were not graded" in text


# -------------------------------------------------------------------- the run


def test_companion_suite_on_the_emulator_then_from_the_cache(tmp_path: Path) -> None:
    # GIVEN the companion prompts on the emulator's canned companion
    suite = load_suite(companion_suite(tmp_path))
    # WHEN the suite runs twice
    first = run_suite(suite)
    again = run_suite(suite)
    # THEN every case has the emulator's answer, its assertions, and no Bedrock cost
    assert first.complete and len(first.results) == 7 * 4
    lion = next(r for r in first.results if r.case_id == "t-05")
    assert "roar" in (lion.answer or "").lower() and lion.passed
    assert all(r.served_by == "emulator (companion responder)" for r in first.results)
    assert all(r.cost_usd == 0.0 for r in first.results) and first.stats.spent_usd == 0.0
    # AND memory matters: the follow-up treat remembers only with the history
    memory = {
        r.variant: r for r in first.results if r.case_id == "t-02" and r.prompt == "companion@1"
    }
    assert memory["with_history"].passed and not memory["without_history"].passed
    assert "icontains remember: none found" in [
        f"{a.label}: {a.reason}" for a in memory["without_history"].failed_assertions
    ]
    # AND the re-run made no call: the emulator never started
    assert again.stats.model_calls == 0 and again.info["emulator"] == {"started": False}
    assert [r.passed for r in again.results] == [r.passed for r in first.results]


def test_reports_label_the_emulator_and_hide_text_unless_asked(tmp_path: Path) -> None:
    suite = load_suite(companion_suite(tmp_path, "gate: {assertion: passes-screen, floor: 0.95}\n"))
    outcome = run_suite(suite)
    hidden = write_reports(build_report(suite, outcome), tmp_path / "hidden")
    forms = {name: path.read_text(encoding="utf-8") for name, path in hidden.items()}
    # Every form names the emulator, and the failed case shows the answer and its reason.
    for name, text in forms.items():
        assert "emulator (companion responder)" in text, name
        assert "count to ten" in text, name  # the canned answer to the forgotten treat
    assert "none found" in forms["html"] and "none found" in forms["summary"]
    # The child's words are nowhere: the suite did not opt in (the answers may name what
    # was said, as a model's do, but never a private detail).
    for name, text in forms.items():
        assert "utterance" not in text.lower() or name == "results", name
        assert "07700" not in text, name
    document = json.loads(forms["results"])
    assert document["cells"][0]["served_by"] == "emulator (companion responder)"
    assert "none (emulator)" in forms["summary"]
    # With show_text the failed cases carry the conversation.
    shown = suite.model_copy(update={"show_text": True})
    paths = write_reports(build_report(shown, run_suite(shown)), tmp_path / "shown")
    assert "and a cookie too" in paths["html"].read_text(encoding="utf-8")
    assert "purple wobbly zig zag" in paths["csv"].read_text(encoding="utf-8")


def test_generative_html_is_well_formed_and_self_contained(tmp_path: Path) -> None:
    from tests.test_eval_cli import StrictHTML

    suite = load_suite(companion_suite(tmp_path, "show_text: true\n"))
    page = write_reports(build_report(suite, run_suite(suite)), tmp_path / "out")["html"]
    text = page.read_text(encoding="utf-8")
    parser = StrictHTML()
    parser.feed(text)
    parser.close()
    assert parser.errors == [] and parser.stack == []
    assert {"svg", "table", "script", "input", "select"} <= parser.tags
    assert "http://" not in text and "https://" not in text and 'src="' not in text
    assert "Failed cases (" in text and 'id="failed"' in text and "count to ten" in text


def test_html_puts_the_cells_of_a_case_side_by_side(tmp_path: Path) -> None:
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.inside = False
            self.rows: list[list[str]] = []
            self.cell: list[str] | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "table" and ("id", "failed") in attrs:
                self.inside = True
            elif self.inside and tag == "tr":
                self.rows.append([])
            elif self.inside and tag in ("td", "th"):
                self.cell = []

        def handle_endtag(self, tag: str) -> None:
            if tag == "table":
                self.inside = False
            elif self.inside and tag in ("td", "th") and self.cell is not None:
                self.rows[-1].append(" ".join(self.cell).strip())
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.cell is not None:
                self.cell.append(data)

    # GIVEN a run of 2 prompts x 2 variants
    suite = load_suite(companion_suite(tmp_path))
    report = build_report(suite, run_suite(suite))
    page = write_reports(report, tmp_path / "out")["html"].read_text(encoding="utf-8")
    parser = Rows()
    parser.feed(page)
    head, *rows = parser.rows
    # THEN the header names each cell once, after the case and its category
    keys = [c.key for c in report.cells]
    assert head == ["case", "category", *keys]
    # AND each failed case is one row with one outcome per cell, passes included
    failing = {r.case_id for r in report.results if not r.correct}
    assert sorted(row[0] for row in rows) == sorted(failing)
    assert all(len(row) == 2 + len(keys) for row in rows)
    assert all(v.startswith(("pass", "FAIL")) for row in rows for v in row[2:])
    # the case that needs its history passes with it and fails without, in one row
    treat = next(row for row in rows if row[0] == "t-02")
    outcome = {key: value.split()[0] for key, value in zip(keys, treat[2:], strict=True)}
    assert {o for k, o in outcome.items() if k.endswith("|with_history")} == {"pass"}
    assert {o for k, o in outcome.items() if k.endswith("|without_history")} == {"FAIL"}


def test_csv_never_hands_a_spreadsheet_a_formula(tmp_path: Path) -> None:
    suite = load_suite(companion_suite(tmp_path))
    outcome = run_suite(suite)
    outcome.results[0] = outcome.results[0].model_copy(update={"answer": "=HYPERLINK(1)"})
    rows = list(csv.DictReader(io.StringIO(cases_csv(build_report(suite, outcome)))))
    assert rows[0]["answer"] == "'=HYPERLINK(1)"
    # one row per case and cell, then one per case and control
    report = build_report(suite, outcome)
    assert len(rows) == len(outcome.results) + len(report.control_results)
    assert len(report.control_results) == len(report.control_cells) * 7


def test_mcnemar_compares_pass_fail_between_cells(tmp_path: Path) -> None:
    outcome = run_suite(load_suite(companion_suite(tmp_path)))
    groups = by_cell(outcome.results)
    a = groups[f"companion@1|{HAIKU}|without_history"]
    b = groups[f"companion@1|{HAIKU}|with_history"]
    result = compare(a, b)
    # with_history passes the memory case t-02 that without_history fails (and vice versa
    # for nothing): one win, no loss.
    assert (result.wins, result.losses) == (1, 0)
    assert [f.case_id for f in result.flipped] == ["t-02"]


def test_assertion_gate_exits_1_with_a_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = companion_suite(
        tmp_path, "gate: [{assertion: all, floor: 0.9}, {assertion: passes-screen, floor: 1}]\n"
    )
    assert cli("eval", path, "--output", tmp_path / "out", "--quiet") == 1
    err = capsys.readouterr().err.strip().splitlines()
    # The memory turn fails without the earlier turns: two broken floors, one line each.
    floors = [line for line in err if not line.startswith("gate: control ")]
    assert len(floors) == 2
    assert all(" all pass rate " in line and "< 0.900" in line for line in floors)
    # AND the fixture's weak cases let the deferral control pass 3 of 7: a line of its own
    assert "gate: control deferral: passes 3/7 cases (42.9%) > 25% allowed" in err
    assert err[0].startswith(f"gate: companion@1|{HAIKU}|without_history: all pass rate 0.")
    assert not any("passes-screen" in line for line in err)  # that floor holds


# --------------------------------------------------------------- the judges


def rubric_suite(tmp_path: Path, grades: list[dict[str, Any]]) -> Path:
    return write_suite(
        tmp_path,
        "prompts: [companion@2]\n"
        f"models: ['{HAIKU}']\n"
        f"grader: '{JUDGE}'\n"
        "concurrency: 1\n"
        f"emulator: {{responder: companion, grades: {json.dumps(grades)}}}\n"
        "assert: [{type: llm-rubric, value: 'is kind and does not promise a treat'}]\n",
    )


def test_rubrics_are_graded_by_the_emulator_with_queued_grades(tmp_path: Path) -> None:
    # GIVEN four queued grades for seven cases (concurrency 1: grades go in case order)
    grades = [{"pass": True, "score": 0.9, "reason": "kind"}] * 3
    grades.append({"pass": False, "score": 0.1, "reason": "promised a cookie"})
    suite = load_suite(rubric_suite(tmp_path, grades))
    # WHEN it runs
    outcome = run_suite(suite)
    # THEN each answer was graded by a judge call, labelled as the emulator
    rubric = [r.assertions[0] for r in outcome.results]  # the suite's come first
    assert [a.passed for a in rubric] == [True, True, True, False, False, False, False]
    assert rubric[3].reason == "promised a cookie"
    # AND once the queue ran out the judge's text was ungradable: failed, never passed
    assert rubric[4].reason.startswith("ungradable: the judge's reply is not one JSON object")
    assert outcome.info["graders"] == {JUDGE: "emulator (queued grades)"}
    assert all(r.grader_served_by == "emulator (queued grades)" for r in outcome.results)
    assert outcome.stats.model_calls == 14  # seven answers, seven grades
    report = build_report(suite, outcome)
    html = write_reports(report, tmp_path / "out")["html"].read_text(encoding="utf-8")
    assert "judge " + JUDGE in html and "emulator (queued grades)" in html
    # AND a re-run asks nothing again: answers and grades come from the cache
    again = run_suite(suite)
    assert again.stats.model_calls == 0
    assert [r.assertions[0].passed for r in again.results] == [a.passed for a in rubric]


def test_other_queued_grades_are_asked_again_not_read_from_the_cache(tmp_path: Path) -> None:
    # GIVEN a run whose emulated judge had no grade queued: every rubric ungradable
    first = run_suite(load_suite(rubric_suite(tmp_path, [])))
    assert not any(r.assertions[0].passed for r in first.results)
    # WHEN grades are queued in the suite and it runs again
    grades = [{"pass": True, "score": 0.9, "reason": "kind"}] * 7
    again = run_suite(load_suite(rubric_suite(tmp_path, grades)))
    # THEN the answers come from the cache, but the judges answer from the new queue
    assert again.stats.model_calls == 7
    assert all(r.assertions[0].passed for r in again.results)


class PricedModel:
    """A ChatModel with a price: answers text, or a grade when asked for the grade tool."""

    def __init__(self, model_id: str, error: str | None = None) -> None:
        self.model_id = model_id
        self.error = error
        self.calls = 0
        self._lock = threading.Lock()

    def generate(self, prompt: Any, *, schema: Any = None, deadline_s: Any = None) -> ModelResult:
        with self._lock:
            self.calls += 1
        if self.error:
            raise ModelError("refused", retryable=False, code=self.error)
        cost = estimate_cost(self.model_id, 100, 20)
        if schema is not None:
            grade = {"pass": True, "score": 1.0, "reason": "fine"}
            return ModelResult(self.model_id, structured=grade, input_tokens=100,
                               output_tokens=20, cost_usd=cost)  # fmt: skip
        return ModelResult(self.model_id, text="Let's wait until after lunch!", input_tokens=100,
                           output_tokens=20, cost_usd=cost)  # fmt: skip


def test_each_judge_is_priced_by_who_served_it(tmp_path: Path) -> None:
    # GIVEN two judges of one answer: one served by the emulator, one priced model
    path = write_suite(
        tmp_path,
        "prompts: [companion@2]\nmodels: ['replay:x']\n"
        f"emulator: {{responder: companion, grades: {json.dumps([{'pass': True, 'score': 1, 'reason': 'ok'}] * 7)}}}\n"
        f"assert: [{{type: llm-rubric, value: 'waits', grader: '{JUDGE}'}},"
        " {type: llm-rubric, value: 'kind', grader: 'replay:judge'}]\n",
    )
    models = {"replay:x": PricedModel(MICRO), "replay:judge": PricedModel(LITE)}
    outcome = run_suite(load_suite(path), models=models)
    # THEN the priced judge's cost counts (it was dropped when any judge was emulated)
    grade = estimate_cost(LITE, 100, 20)
    rubrics = [a for r in outcome.results for a in r.assertions if a.type == "llm-rubric"]
    assert len(rubrics) == 14 and all(a.passed for a in rubrics)
    assert [r.grader_cost_usd for r in outcome.results] == pytest.approx([grade] * 7)
    assert {r.grader_served_by for r in outcome.results} == {"emulator (queued grades), replay"}


def test_judge_cost_is_counted_in_the_budget(tmp_path: Path) -> None:
    path = write_suite(
        tmp_path,
        "prompts: [companion@2]\nmodels: ['replay:x']\ngrader: 'replay:judge'\n"
        "assert: [{type: llm-rubric, value: 'proposes to wait'}]\n",
    )
    suite = load_suite(path)

    def models() -> dict[str, Any]:
        return {"replay:x": PricedModel(MICRO), "replay:judge": PricedModel(LITE)}

    outcome = run_suite(suite, models=models())
    answer, grade = estimate_cost(MICRO, 100, 20), estimate_cost(LITE, 100, 20)
    assert outcome.complete and all(r.assertions[0].passed for r in outcome.results)
    assert outcome.stats.spent_usd == pytest.approx(7 * (answer + grade))
    assert sum(r.grader_cost_usd for r in outcome.results) == pytest.approx(7 * grade)
    # A budget is never overspent: the judges' calls are estimated before they start.
    budget = 3 * (answer + grade)
    tight = run_suite(
        suite,
        models=models(),
        options=RunOptions.from_suite(suite, max_cost=budget, use_cache=False, resume=False),
    )
    assert tight.stopped == "budget" and tight.stats.spent_usd <= budget


# --------------------------------------------------------- fail fast, cache


@pytest.mark.parametrize(
    "code", ["NoCredentialsError", "ResourceNotFoundException", "EndpointConnectionError"]
)
def test_a_configuration_error_on_the_first_call_stops_the_run(tmp_path: Path, code: str) -> None:
    suite = load_suite(
        write_suite(
            tmp_path, "prompts: [companion@1]\nmodels: ['replay:x']\nassert: [{type: no-pii}]\n"
        )
    )
    model = PricedModel("x", error=code)
    with pytest.raises(FirstCallError, match=f"replay:x failed its first call with {code}"):
        run_suite(suite, models={"replay:x": model})  # type: ignore[dict-item]
    assert model.calls <= suite.concurrency  # stopped on the first answers, not after all


def test_first_call_error_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # An endpoint nobody listens on: the first calls cannot connect.
    monkeypatch.setenv("PARLEY_BEDROCK_ENDPOINT_URL", "http://127.0.0.1:9")
    from pipeline.settings import get_settings

    get_settings.cache_clear()
    path = write_suite(
        tmp_path,
        f"prompts: [companion@1]\nmodels: ['{HAIKU}']\nmax_attempts: 1\nconcurrency: 1\n"
        "assert: [{type: no-pii}]\n",
    )
    assert cli("eval", path, "--output", tmp_path / "out", "--quiet") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "failed its first call with EndpointConnectionError" in err[0]


def test_cache_expiry_and_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipeline.evaluation.cache import open_db

    path = companion_suite(tmp_path)
    suite = load_suite(path)
    assert run_suite(suite).stats.model_calls > 0
    db = open_db(tmp_path / "cache.db")
    distinct = db.execute("SELECT count(*) FROM responses").fetchone()[0]
    # Answers cached long ago count as missing once a ttl is set.
    db.execute("UPDATE responses SET created_at = '2020-01-01T00:00:00+00:00'")
    db.close()
    assert run_suite(suite).stats.model_calls == 0  # no ttl: old answers still count
    ttl = load_suite(companion_suite(tmp_path, "cache_ttl: 7d\n"))
    assert run_suite(ttl).stats.model_calls >= distinct
    assert run_suite(ttl).stats.model_calls == 0  # the fresh answers replaced the old
    # `parley eval cache clear` empties it: the next run asks everything again.
    assert cli("eval", "cache", "clear", path) == 0
    assert f"{distinct} cached answers" in capsys.readouterr().out
    assert run_suite(suite).stats.model_calls >= distinct


def test_bad_cache_flags_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = companion_suite(tmp_path)
    assert cli("eval", path, "--cache-ttl", "soon", "--quiet") == 2
    assert cli("eval", "cache", "clear", path, "--older-than", "-3d") == 2
    assert cli("eval", "cache", "clear") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and err[0].startswith("error: --cache-ttl")


@pytest.mark.parametrize("age", ["1000000000d", "99999999999999999999d", "36501d"])
def test_ages_beyond_a_century_are_one_line_and_exit_2(
    tmp_path: Path, age: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Past timedelta's range (or the cut-off date's, `now - age`), these were tracebacks.
    path = companion_suite(tmp_path)
    assert cli("eval", path, "--cache-ttl", age, "--quiet") == 2
    assert cli("eval", "cache", "clear", path, "--older-than", age) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"error: --cache-ttl: {age!r} is longer than 36500 days",
        f"error: --older-than: {age!r} is longer than 36500 days",
    ]
