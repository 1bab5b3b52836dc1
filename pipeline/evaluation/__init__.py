"""Offline prompt evaluations: prove on labelled data that a prompt or a model is
better, what it costs, and that nothing regressed, before it ships.

`parley eval evals/<suite>.yaml` runs a suite (suite.py) over the matrix
prompts x models x variants x cases (runner.py), with a response cache and a run
journal on disk (cache.py, journal.py), computes the metrics (metrics.py,
results.py), compares cells (compare.py), writes the reports (report/, one module per format) and
applies the gate (gate.py). batch.py does the same through Bedrock batch inference.
"""

from .compare import Comparison, compare
from .gate import GateOutcome, check_gate
from .results import CaseResult
from .runner import RunOptions, RunOutcome, run_suite
from .suite import Case, Cell, Suite, expand_matrix, load_cases, load_suite
from .variants import parse_variant

__all__ = [
    "Case",
    "CaseResult",
    "Cell",
    "Comparison",
    "GateOutcome",
    "RunOptions",
    "RunOutcome",
    "Suite",
    "check_gate",
    "compare",
    "expand_matrix",
    "load_cases",
    "load_suite",
    "parse_variant",
    "run_suite",
]
