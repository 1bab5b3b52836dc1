"""Dependency floors leave out releases with known vulnerabilities, and the Alexa
signature check's trust store is a declared dependency, not a lucky transitive one."""

from __future__ import annotations

import tomllib

import pytest
from packaging.requirements import Requirement

from tests.conftest import REPO

# package -> releases with a published advisory that the floor must exclude
VULNERABLE = {
    "jinja2": ["3.1.4", "3.1.5"],  # sandbox escapes fixed in 3.1.5 and 3.1.6
    "cryptography": ["42.0.0", "42.0.3", "43.0.0", "44.0.0", "46.0.4"],
    "certifi": ["2024.6.2"],  # still trusts the GLOBALTRUST roots
}


def runtime_requirements() -> dict[str, Requirement]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = (Requirement(d) for d in pyproject["project"]["dependencies"])
    return {r.name.lower(): r for r in requirements}


@pytest.mark.parametrize("package", sorted(VULNERABLE))
def test_floors_exclude_vulnerable_releases(package: str) -> None:
    specifier = runtime_requirements()[package].specifier

    admitted = [v for v in VULNERABLE[package] if specifier.contains(v)]

    assert admitted == []


def test_the_trust_store_of_the_signature_check_is_declared() -> None:
    source = (REPO / "skill" / "verify.py").read_text(encoding="utf-8")

    assert "import certifi" in source
    assert "certifi" in runtime_requirements()
