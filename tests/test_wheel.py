"""The wheel is a complete installation: it runs from a fresh virtual environment.

`tools/check_wheel.py` builds the wheel from a clean copy of the checkout, lists it,
installs it with the review extra and runs `parley demo`, `parley eval
evals/smoke.yaml` and `parley review demo` from an empty directory. That whole run is
marked `wheel` (about 40 s): CI runs it; skip it locally with `--skip-wheel`.
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from pathlib import Path

import pytest

from pipeline import resources
from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("check_wheel", REPO / "tools" / "check_wheel.py")
assert spec is not None and spec.loader is not None
check_wheel = importlib.util.module_from_spec(spec)
sys.modules["check_wheel"] = check_wheel
spec.loader.exec_module(check_wheel)

COMPLETE = (
    *check_wheel.REQUIRED,
    "pipeline/__init__.py",
    "parley-0.1.0.dist-info/licenses/LICENSE",
)


def _wheel(tmp_path: Path, names: tuple[str, ...]) -> Path:
    path = tmp_path / "parley-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for name in names:
            archive.writestr(name, "")
    return path


def test_a_complete_wheel_has_no_problems(tmp_path: Path) -> None:
    assert check_wheel.wheel_problems(_wheel(tmp_path, COMPLETE)) == []


def test_the_listing_check_bites(tmp_path: Path) -> None:
    # GIVEN the wheel as it was: no prompts, benchmarks shipped, no licence file
    names = tuple(
        n
        for n in COMPLETE
        if not n.startswith("pipeline/prompt_templates/") and "licenses" not in n
    )
    problems = check_wheel.wheel_problems(_wheel(tmp_path, (*names, "bench/cost.py")))
    assert "missing pipeline/prompt_templates/suspicious-conversation/v2.j2" in problems
    assert "ships bench/cost.py" in problems
    assert any("licence" in p for p in problems)


def test_packaged_prompts_win_over_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an installed package directory holding the prompt templates' copy
    package = tmp_path / "site-packages" / "pipeline"
    (package / "prompt_templates" / "companion").mkdir(parents=True)
    monkeypatch.setattr(resources, "_package_dir", lambda: package)
    # THEN the settings' default is inside the package, not the checkout
    assert resources.default_prompts_dir() == package / "prompt_templates"
    assert resources.baseline_artifact() == package / "data" / "baseline.json.gz"


def test_a_checkout_reads_its_own_prompts() -> None:
    # An editable install has no copy: prompts/ at the top of the checkout is the source.
    assert resources.default_prompts_dir() == REPO / "prompts"
    from pipeline.settings import Settings

    assert Settings().prompts == str(REPO / "prompts")


def test_every_package_is_typed() -> None:
    for package in check_wheel.PACKAGES:
        assert (REPO / package / "py.typed").is_file(), package


@pytest.mark.wheel
def test_the_wheel_installs_into_a_fresh_venv_and_runs(tmp_path: Path) -> None:
    check_wheel.check(tmp_path)  # raises on the first failing step
