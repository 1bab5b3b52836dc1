"""Build parley's wheel from a clean copy of the checkout, install it, and run it.

A clean copy is the files git tracks plus untracked ones it does not ignore (no .venv,
build/, local databases or reports). The wheel is built from it, listed (no bench/, the
prompt templates and the baseline artifact as package data, py.typed in every
package, the licence), installed with the `review` extra into a fresh virtual
environment, and run from an empty directory so that nothing is imported from the
checkout:

    parley demo
    parley eval <checkout>/evals/smoke.yaml      (suites and datasets from the checkout)
    parley review demo --dataset <checkout>/evals/datasets/marketplace.jsonl

Usage:  python tools/check_wheel.py [--keep DIR]     (exit 0: every step passed)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("pipeline", "skill", "review")
REQUIRED = (
    "pipeline/prompt_templates/suspicious-conversation/v2.j2",
    "pipeline/prompt_templates/companion/v1.j2",
    "pipeline/data/baseline.json.gz",
    *(f"{package}/py.typed" for package in PACKAGES),
)
FORBIDDEN_PREFIXES = ("bench/", "tests/", "tools/", "evals/", "prompts/", "docs/")


def clean_copy(root: Path, target: Path) -> Path:
    """Copy what git tracks (and untracked files it does not ignore) into `target`."""
    listed = subprocess.run(
        ["git", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.decode()
    for relative in filter(None, listed.split("\0")):
        source = root / relative
        if source.is_file():  # a file deleted but not yet committed is skipped
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / relative)
    return target


def wheel_problems(wheel: Path) -> list[str]:
    """What the wheel lacks or should not carry (empty: it is complete)."""
    names = set(zipfile.ZipFile(wheel).namelist())
    problems = [f"missing {name}" for name in REQUIRED if name not in names]
    problems += [f"ships {name}" for name in sorted(names) if name.startswith(FORBIDDEN_PREFIXES)]
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        problems.append("missing the licence file in .dist-info/licenses/")
    return problems


def _run(command: Sequence[str | Path], *, cwd: Path, env: dict[str, str]) -> None:
    print("$", " ".join(str(c) for c in command), flush=True)
    subprocess.run([str(c) for c in command], cwd=cwd, env=env, check=True)


def check(work: Path, root: Path = ROOT) -> None:
    """Every step; raises CalledProcessError or AssertionError on the first failure."""
    source = clean_copy(root, work / "source")
    dist = work / "dist"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "PYTHON"))}
    _run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", dist, source],
        cwd=work,
        env=env,
    )
    (wheel,) = dist.glob("parley-*.whl")
    problems = wheel_problems(wheel)
    assert not problems, f"{wheel.name}: " + "; ".join(problems)
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=work, env=env)
    _run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[review]"],
         cwd=work, env=env)  # fmt: skip
    run_dir = work / "run"  # empty: nothing to import from, no prompts/ beside it
    run_dir.mkdir()
    env.update(PARLEY_HISTORY=f"sqlite:{run_dir / 'parley.db'}")
    parley = venv / "bin" / "parley"
    _run([parley, "demo"], cwd=run_dir, env=env)
    _run([parley, "eval", root / "evals" / "smoke.yaml", "--output", work / "eval"],
         cwd=run_dir, env=env)  # fmt: skip
    dataset = root / "evals" / "datasets" / "marketplace.jsonl"
    _run([parley, "review", "demo", "--conversations", "12", "--dataset", dataset],
         cwd=run_dir, env=env)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="work in DIR and keep it (default: a temp dir)")
    args = parser.parse_args(argv)
    try:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            check(args.keep.resolve())
        else:
            with tempfile.TemporaryDirectory(prefix="parley-wheel-") as work:
                check(Path(work))
    except (subprocess.CalledProcessError, AssertionError) as exc:
        print(f"error: wheel check failed: {exc}", file=sys.stderr)
        return 1
    print("wheel check passed: built, installed in a fresh venv, demo, eval and review demo ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
