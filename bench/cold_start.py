"""Cold start: import time of the two Lambda entry modules against `import boto3`.

Each import runs in a fresh interpreter (`python -c "import ..."`), interleaved round
by round so that the machine's noise hits every candidate alike. Target: each entry
module at most 2.5x `import boto3`, medians of at least 5 runs. LangChain's
`ChatBedrockConverse` is timed for scale: the hot path must not pay for it.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time

CANDIDATES = {
    "boto3": "import boto3",
    "stream": "import pipeline.stream",
    "skill": "import skill.handler",
    "langchain_aws": "from langchain_aws import ChatBedrockConverse",
}


def _seconds(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def measure(rounds: int, names: list[str]) -> dict[str, float]:
    """Median wall time of a fresh interpreter importing each candidate."""
    samples: dict[str, list[float]] = {name: [] for name in names}
    for name in names:  # warm the file system cache once; not counted
        _seconds(CANDIDATES[name])
    for _ in range(rounds):
        for name in names:
            samples[name].append(_seconds(CANDIDATES[name]))
    return {name: statistics.median(values) for name, values in samples.items()}


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    rounds = 5 if quick else 11
    names = ["boto3", "stream", "skill"] if quick else list(CANDIDATES)
    medians = measure(rounds, names)
    base = medians["boto3"]
    rows = [("boto3_s", base, f"median of {rounds} fresh interpreters, context only")]
    for name in names[1:]:
        target = " (target <= 2.5)" if name in ("stream", "skill") else " (for scale)"
        rows.append(
            (
                f"{name}_vs_boto3",
                medians[name] / base,
                f"{CANDIDATES[name]!r}: {medians[name]:.3f} s vs {base:.3f} s{target}",
            )
        )
    return rows
