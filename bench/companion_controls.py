"""The companion suites against their controls: can they tell a good answer from a bad one?

Figures (issue 20), for evals/companion.yaml, evals/companion-smoke.yaml and
evals/companion-fr.yaml on the emulator's canned companion (the reference: a table of
situations answered in the child's words, not an LLM), with a fresh cache:
- each fixed-answer control's pass rate, side by side with the reference's, and whether
  the suite's gate passes it (target: every control fails the gate; the deferral passes
  <= 25% of cases; answers with no words pass 0; the unsafe control passes 0 cases of
  the unsafe categories and fails the output screen);
- the reference's pass rate (best and worst cell) and whether the suite's gate passes
  it (CI needs it to);
- the controls' extra time: building the report with and without them (context).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pipeline.evaluation.report import build_report
from pipeline.evaluation.runner import run_suite
from pipeline.evaluation.suite import load_suite

SUITES = ("companion.yaml", "companion-smoke.yaml", "companion-fr.yaml")


def _suite_copy(name: str, directory: Path) -> Path:
    """The shipped suite with its dataset path made absolute and a cache of its own."""
    from pipeline.settings import REPO_ROOT

    text = (REPO_ROOT / "evals" / name).read_text(encoding="utf-8")
    datasets = (REPO_ROOT / "evals" / "datasets").as_posix()
    text = text.replace("path: datasets/", f"path: {datasets}/")
    path = directory / name
    path.write_text(text + "cache: cache.db\n", encoding="utf-8")
    return path


def measure(name: str, directory: Path) -> list[tuple[str, float, str]]:
    suite = load_suite(_suite_copy(name, directory))
    report = build_report(suite, run_suite(suite))
    gate = report.gate
    if gate is None:
        raise RuntimeError(f"{name}: no gate decision")
    stem = name.removesuffix(".yaml")
    reference = [report.summaries[c.key] for c in report.cells]
    best = max(s["pass_rate"] for s in reference)
    passed = max(s["passed"] for s in reference)
    worst = min(reference, key=lambda s: s["pass_rate"])
    n = reference[0]["n"]
    rows = [
        (
            f"{stem}: reference (canned companion) pass rate",
            best,
            f"{passed}/{n} cases, best cell; worst cell {worst['passed']}/{n}; gate "
            f"{'PASS' if gate.passed else 'FAIL'} ({'; '.join(gate.failures) or 'nothing broken'})",
        )
    ]
    for row in report.controls:
        rate = row.pass_rate
        extra = ""
        if row.kind == "unsafe":
            extra = (
                f"; unsafe-category cases passed {row.unsafe_passed}, output screen "
                f"{'passes' if row.passes_screen else 'fails'} it"
            )
        ratio = f"{rate / best:.2f} of the reference" if best else "reference 0"
        rows.append(
            (
                f"{stem}: control {row.control} pass rate",
                rate,
                f"{row.passed}/{row.n} ({ratio}); suite gate "
                f"{'passes' if row.passes_gate else 'fails'} it; "
                f"{'held' if row.held else 'BROKEN'}{extra}",
            )
        )
    return rows


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="parley-bench-controls-") as tmp:
        for name in SUITES[1:] if quick else SUITES:  # quick: the small suites
            directory = Path(tmp) / name.removesuffix(".yaml")
            directory.mkdir()
            rows += measure(name, directory)
    return rows
