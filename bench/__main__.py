"""`python -m bench [--quick] [name ...]`: run every benchmark, one line per figure.

Each module in bench/ exposing `run(quick: bool) -> list[(name, value, context)]`
is a benchmark. Figures are ratios measured side by side in one run; absolute
times are printed only as context.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all)")
    parser.add_argument("--quick", action="store_true", help="short versions, for CI")
    args = parser.parse_args(argv)
    names = args.names or discover()
    failed = 0
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        if not hasattr(module, "run"):
            continue
        started = time.perf_counter()
        try:
            rows = module.run(quick=args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others
            print(f"{name}: FAILED: {type(exc).__name__}: {exc}", flush=True)
            failed += 1
            continue
        for figure, value, context in rows:
            print(f"{name}.{figure} = {value:.4g}  ({context})", flush=True)
        print(f"{name}: done in {time.perf_counter() - started:.1f} s", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
