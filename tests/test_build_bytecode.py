"""Bytecode compiled at build time for the runtime's Python, used without source checks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_bundle import build_lambda

HERE = f"{sys.version_info.major}.{sys.version_info.minor}"


def _package(root: Path) -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("VALUE = 41 + 1\n")
    return root


def test_every_module_gets_an_unchecked_hash_pyc(tmp_path: Path) -> None:
    root = _package(tmp_path / "bundle")
    assert build_lambda.compile_bytecode(root, sys.executable, HERE) == 1
    [pyc] = (root / "pkg" / "__pycache__").glob("*.pyc")
    assert f"{sys.implementation.cache_tag}" in pyc.name
    flags = int.from_bytes(pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, unchecked: the source's mtime does not matter


def test_the_shipped_pyc_is_what_a_read_only_import_uses(tmp_path: Path) -> None:
    root = _package(tmp_path / "bundle")
    build_lambda.compile_bytecode(root, sys.executable, HERE)
    (root / "pkg" / "__init__.py").write_text("VALUE = 0\n")  # unchecked: the pyc wins
    code = "import pkg; print(pkg.VALUE)"
    done = subprocess.run(
        [sys.executable, "-B", "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "42"


def test_another_python_version_is_refused(tmp_path: Path) -> None:
    root = _package(tmp_path / "bundle")
    with pytest.raises(build_lambda.BytecodeError, match=r"the runtime is 2\.7"):
        build_lambda.compile_bytecode(root, sys.executable, "2.7")
    assert not list(root.rglob("*.pyc"))


def test_the_command_line_says_what_is_wrong_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build_lambda.main(["--bytecode", str(tmp_path / "missing")]) == 2
    assert build_lambda.main(["--bytecode", str(tmp_path), "--python", "/no/such/python"]) == 2
    assert capsys.readouterr().err.count("\n") == 2
