"""Build the Lambda functions' source directory: only what they run.

`sam build` copies a function's whole CodeUri: SAM CLI (1.170) has no ignore file, and
its Python builder (aws-lambda-builders, python_pip) drops only a fixed list of names
(.git, .venv, caches, *.egg-info, ...). With CodeUri "." that shipped tests, evals,
bench, docs and any local parley.db, verdicts.db or evaluation report. So the template's
CodeUri is `build/lambda`, which this script fills from an allow-list:

- `pipeline/` without the command line, the evaluation code, the emulator and the
  training code (numpy: not in the bundle);
- `skill/` without the HTTPS server and its signature check (the Lambda endpoint is
  invoked by Alexa itself) and the skill manifest;
- `prompts/` (the templates; `pipeline/data/` holds the baseline artifact);
- `review/` (the review app's function, when EnableReview=true) without its demo data
  builder;
- `requirements.txt`, a copy of lambda-requirements.txt (the pinned Lambda
  dependencies; `sam build` installs them).

Usage:  python tools/build_lambda.py [--out build/lambda] [--compare]
        then `sam build` (docs/operations.md). `--compare` also prints what CodeUri "."
        would have copied.
        python tools/build_lambda.py --bytecode .aws-sam/build [--python PATH]
        after `sam build`: compiles every function's code, dependencies included, to
        bytecode for the runtime's Python (`sam build` drops `__pycache__`, and Lambda
        cannot write it into the read-only code directory, so without this step every
        cold start compiles every module it imports).
"""

from __future__ import annotations

import argparse
import fnmatch
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "build" / "lambda"

# Top-level directories that ship, and what inside them does not (glob patterns on the
# path relative to the repository root).
SHIPPED = ("pipeline", "skill", "prompts", "review")
LEFT_OUT = (
    "pipeline/cli/*",  # the `parley` command line (click): never imported by a handler
    "pipeline/evaluation/*",  # offline evaluations
    "pipeline/emulator/*",  # the local Bedrock endpoint of tests and demos
    "pipeline/__main__.py",
    "pipeline/models/langchain_adapter.py",  # LangChain is left out of the bundle
    "pipeline/baseline/train.py",  # training needs numpy
    "pipeline/baseline/dataset.py",
    "pipeline/baseline/metrics.py",
    "skill/server.py",  # `parley skill serve`: not the Lambda endpoint
    "skill/verify.py",  # its signature check (cryptography: not in the bundle)
    "skill/skill-package/*",  # the ASK CLI's manifest, not code
    "review/demo.py",  # `parley review demo`: local demo data
)
NEVER = ("*/__pycache__/*", "*.pyc", "*.db", "*.db-*", "*.sqlite*")
REQUIREMENTS = "lambda-requirements.txt"

# What aws-lambda-builders' python_pip workflow drops when it copies a CodeUri (the
# names present in a checkout like this one): used only to measure the old bundle.
BUILDER_DROPS = (
    ".git", ".gitignore", ".aws-sam", "__pycache__", "*.pyc", "*.egg-info", ".venv",
    "venv", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".cache", ".tox", "htmlcov",
    ".coverage", ".env", ".vscode", ".idea",
)  # fmt: skip


@dataclass(frozen=True)
class Listing:
    """Files (relative to a root) and their total size in bytes."""

    files: tuple[str, ...]
    size: int


def bundle_files(root: Path = ROOT) -> list[Path]:
    """The source files that ship, relative to `root`, sorted."""
    chosen = []
    for top in SHIPPED:
        for path in sorted((root / top).rglob("*")):
            relative = path.relative_to(root).as_posix()
            if not path.is_file():
                continue
            if any(fnmatch.fnmatch(relative, p) for p in (*LEFT_OUT, *NEVER)):
                continue
            chosen.append(path.relative_to(root))
    return chosen


def build(out: Path = DEFAULT_OUT, root: Path = ROOT) -> Listing:
    """Fill `out` (emptied first) with the bundle's sources and requirements.txt."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for relative in bundle_files(root):
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
    shutil.copy2(root / REQUIREMENTS, out / "requirements.txt")
    return listing(out)


def listing(directory: Path) -> Listing:
    """Every file under `directory` with the total size."""
    files = sorted(p for p in directory.rglob("*") if p.is_file())
    return Listing(
        files=tuple(p.relative_to(directory).as_posix() for p in files),
        size=sum(p.stat().st_size for p in files),
    )


def checkout_listing(root: Path = ROOT, skip: tuple[Path, ...] = ()) -> Listing:
    """What CodeUri "." gave the builder to copy: the checkout less the builder's drops."""
    files = []
    for path in sorted(root.rglob("*")):
        parts = path.relative_to(root).parts
        if any(fnmatch.fnmatch(part, p) for part in parts for p in BUILDER_DROPS):
            continue
        if any(path.is_relative_to(s) for s in skip):
            continue
        if path.is_file():
            files.append(path)
    return Listing(
        files=tuple(p.relative_to(root).as_posix() for p in files),
        size=sum(p.stat().st_size for p in files),
    )


#: The functions' runtime (template.yaml, Globals: python3.12): bytecode is per version.
RUNTIME_PYTHON = "3.12"


class BytecodeError(Exception):
    """The bytecode cannot be compiled for the runtime's Python."""


def compile_bytecode(
    directory: Path, python: str | None = None, version: str = RUNTIME_PYTHON
) -> int:
    """Compile every module under `directory` for Python `version`; the count of .pyc files.

    The .pyc files are "unchecked-hash": used without comparing the source's mtime,
    which the deployment package does not keep reliably (the code cannot change in
    place: a new version is a new package).
    """
    interpreter = python or shutil.which(f"python{version}")
    if interpreter is None:
        raise BytecodeError(f"no python{version} on PATH: give --python")
    try:
        found = subprocess.run(
            [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BytecodeError(f"cannot run {interpreter}: {type(exc).__name__}") from None
    if found != version:
        raise BytecodeError(f"{interpreter} is Python {found}, the runtime is {version}")
    done = subprocess.run(
        [interpreter, "-m", "compileall", "-q", "-j", "0",
         "--invalidation-mode", "unchecked-hash", str(directory)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        tail = (done.stdout.strip().splitlines() or ["compileall failed"])[-1]
        raise BytecodeError(f"compileall: {tail}")
    return sum(1 for _ in directory.rglob("*.pyc"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: build/lambda")
    parser.add_argument("--compare", action="store_true", help="also size CodeUri '.'")
    parser.add_argument(
        "--bytecode", type=Path, metavar="DIR", help="only compile DIR (after sam build)"
    )
    parser.add_argument("--python", help=f"interpreter of Python {RUNTIME_PYTHON}")
    args = parser.parse_args(argv)
    if args.bytecode is not None:
        if not args.bytecode.is_dir():
            print(f"error: {args.bytecode} is not a directory", file=sys.stderr)
            return 2
        try:
            count = compile_bytecode(args.bytecode, args.python)
        except BytecodeError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{args.bytecode}: {count} .pyc files for Python {RUNTIME_PYTHON}")
        return 0
    out = args.out.resolve()
    if out == ROOT or ROOT.is_relative_to(out):
        print(f"error: --out {args.out} would replace the checkout", file=sys.stderr)
        return 2
    try:
        built = build(out)
    except OSError as exc:
        print(f"error: cannot build the bundle in {args.out}: {exc.strerror}", file=sys.stderr)
        return 2
    print(f"{out}: {len(built.files)} files, {built.size / 1024:.0f} KiB (sources, no deps)")
    if args.compare:
        before = checkout_listing(skip=(out, ROOT / "build"))
        print(f'CodeUri ".": {len(before.files)} files, {before.size / 1024:.0f} KiB')
    return 0


if __name__ == "__main__":
    sys.exit(main())
