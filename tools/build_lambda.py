"""Build the Lambda functions' source directories: one bundle per function, only what it runs.

`sam build` copies a function's whole CodeUri: SAM CLI (1.170) has no ignore file, and
its Python builder (aws-lambda-builders, python_pip) drops only a fixed list of names
(.git, .venv, caches, *.egg-info, ...). With CodeUri "." that shipped tests, evals,
bench, docs and any local parley.db, verdicts.db or evaluation report. So the files
that may ship come from an allow-list:

- `pipeline/` without the command line, the evaluation code, the emulator and the
  training code (numpy: not in the bundle);
- `skill/` without the HTTPS server and its signature check (the Lambda endpoint is
  invoked by Alexa itself) and the skill manifest;
- `prompts/` (the templates; `pipeline/data/` holds the baseline artifact);
- `review/` (the review app's function, when EnableReview=true) without its demo data
  builder.

Each function gets its own directory, `build/lambda/<function>/` (the template's
CodeUri per function), holding its handler module and the parley modules that it
imports, followed statement by statement (`ast`), including modules named as
"package.module:factory" strings in registries; the data files of the modules that read
them (prompts, the baseline artifact, the review app's pages); and a `requirements.txt`
holding only the lines of lambda-requirements.txt for the distributions it imports and
what they require (`sam build` installs it). So the stream function carries no review
app and no ask-sdk, and the review function no Alexa code.

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
import ast
import fnmatch
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import metadata
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

# function (build/lambda/<function>, the template's CodeUri) -> its handler module
FUNCTIONS: dict[str, str] = {
    "moderation": "pipeline.stream",
    "quiet": "pipeline.quiet_worker",
    "skill": "skill.handler",
    "review": "review.lambda_handler",
}
# Data files travel with the module that reads them.
DATA_OF: dict[str, tuple[str, ...]] = {
    "pipeline/prompts.py": ("prompts/*",),
    "pipeline/baseline/artifact.py": ("pipeline/data/baseline.json.gz",),
    "pipeline/guardrail_policy.py": ("pipeline/data/guardrail-policy.yaml",),
    "review/app.py": ("review/templates/*", "review/static/*"),
    "review/policy.py": ("review/data/*",),
}
# A registry entry naming a module to import later ("pipeline.models.local:from_reference").
MODULE_STRING = re.compile(r"^(?:pipeline|skill|review)(?:\.\w+)+(?::\w+)?$")

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


def _module_file(name: str, root: Path) -> Path | None:
    base = root.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _calls_files(node: ast.Call) -> bool:
    """`importlib.resources.files("package")`: the package's data is read, so it ships."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    first = node.args[0] if node.args else None
    return name == "files" and isinstance(first, ast.Constant) and isinstance(first.value, str)


def _imports(path: Path, module: str) -> tuple[set[str], set[str]]:
    """Module names one file imports (relative ones resolved), and registry strings."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    strings: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1])
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            names.add(target)
            names.update(f"{target}.{alias.name}" for alias in node.names)  # submodules
        elif isinstance(node, ast.Call) and _calls_files(node):
            names.add(node.args[0].value)  # type: ignore[attr-defined]  # package data
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and MODULE_STRING.match(node.value)
        ):
            strings.add(node.value.partition(":")[0])
    return names, strings


def function_files(handler: str, root: Path = ROOT) -> tuple[list[Path], set[str]]:
    """The files one function's bundle holds (relative to `root`, sorted), and the
    top-level names of the outside modules that those files import."""
    shipped = set(bundle_files(root))
    seen: set[str] = set()
    outside: set[str] = set()
    files: set[Path] = set()
    pending = [handler]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        path = _module_file(name, root)
        if path is None:
            if name.split(".")[0] not in SHIPPED:
                outside.add(name.split(".")[0])
            continue  # an attribute imported from a module, or a third-party module
        relative = path.relative_to(root)
        if relative not in shipped:
            continue  # left out on purpose (LEFT_OUT): never followed
        files.add(relative)
        parts = name.split(".")
        pending.extend(".".join(parts[:n]) for n in range(1, len(parts)))  # its packages
        imported, strings = _imports(path, name)
        pending.extend(imported | strings)
    for module_file, patterns in DATA_OF.items():
        if Path(module_file) in files:
            files.update(
                p for p in shipped if any(fnmatch.fnmatch(p.as_posix(), g) for g in patterns)
            )
    return sorted(files), outside


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def distributions_for(top_level: set[str]) -> set[str]:
    """Canonical names of the installed distributions providing these imports, and of
    everything they require (without extras), from the build environment's metadata."""
    providers = metadata.packages_distributions()
    pending = [d for name in top_level for d in providers.get(name, [])]
    found: set[str] = set()
    while pending:
        dist = _canonical(pending.pop())
        if dist in found:
            continue
        found.add(dist)
        try:
            requires = metadata.requires(dist) or []
        except metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement:
                continue
            pending.append(re.split(r"[\s;<>=!~\[(]", requirement, maxsplit=1)[0])
    return found


def requirements_subset(text: str, wanted: set[str]) -> str:
    """The lines of a requirements file (hash continuation lines kept with their
    requirement) for the wanted distributions; comments and blank lines are dropped."""
    kept: list[str] = []
    keep = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line.startswith((" ", "\t")) or stripped.startswith("--hash"):
            if keep:
                kept.append(line)
            continue
        name = re.split(r"[\s;<>=!~\[]", stripped, maxsplit=1)[0]
        keep = _canonical(name) in wanted
        if keep:
            kept.append(line)
    return "\n".join(kept) + "\n"


def build_function(function: str, out: Path, root: Path = ROOT) -> Listing:
    """Fill `out` (emptied first) with one function's sources and its requirements.txt."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    files, outside = function_files(FUNCTIONS[function], root)
    for relative in files:
        target = out / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / relative, target)
    pinned = (root / REQUIREMENTS).read_text(encoding="utf-8")
    subset = requirements_subset(pinned, distributions_for(outside))
    (out / "requirements.txt").write_text(
        f"# {function}: the lines of {REQUIREMENTS} it imports (tools/build_lambda.py)\n" + subset,
        encoding="utf-8",
    )
    return listing(out)


def build(out: Path = DEFAULT_OUT, root: Path = ROOT) -> Listing:
    """Fill `out` (emptied first) with one bundle per function, out/<function>/."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for function in FUNCTIONS:
        build_function(function, out / function, root)
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
    for function in FUNCTIONS:
        part = listing(out / function)
        print(f"  {function}: {len(part.files)} files, {part.size / 1024:.0f} KiB")
    if args.compare:
        before = checkout_listing(skip=(out, ROOT / "build"))
        print(f'CodeUri ".": {len(before.files)} files, {before.size / 1024:.0f} KiB')
    return 0


if __name__ == "__main__":
    sys.exit(main())
