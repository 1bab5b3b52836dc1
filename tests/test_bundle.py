"""The Lambda bundle holds only what the functions run, and they run from it.

`tools/build_lambda.py` fills the template's CodeUri (build/lambda); `sam build` then
installs requirements.txt beside it. These tests build the directory, list it, and run
both handlers from it alone.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES, REPO

spec = importlib.util.spec_from_file_location("build_lambda", REPO / "tools" / "build_lambda.py")
assert spec is not None and spec.loader is not None
build_lambda = importlib.util.module_from_spec(spec)
sys.modules["build_lambda"] = build_lambda  # dataclasses look their module up there
spec.loader.exec_module(build_lambda)

# A handler lives in a module or in a package's __init__.py.
HANDLERS = (
    "pipeline/stream/__init__.py",
    "pipeline/quiet_worker.py",
    "skill/handler.py",
    "review/lambda_handler.py",
)
NOT_SHIPPED = ("tests/", "evals/", "bench/", "docs/", "examples/", "tools/", ".ci/")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "lambda"
    build_lambda.build(out)
    return out


def test_bundle_lists_only_what_runs(bundle: Path) -> None:
    files = build_lambda.listing(bundle).files
    assert set(HANDLERS) <= set(files)
    assert {"prompts/suspicious-conversation/v2.j2", "prompts/companion/v1.j2"} <= set(files)
    assert "pipeline/data/baseline.json.gz" in files  # the local baseline's artifact
    assert not [f for f in files if f.startswith(NOT_SHIPPED)]
    assert not [f for f in files if f.endswith((".db", ".pyc", ".jsonl"))]
    # HTML only as the review app's own page templates (reports are output, never shipped)
    assert not [f for f in files if f.endswith(".html") and not f.startswith("review/templates/")]
    assert not [f for f in files if f.startswith(("pipeline/cli/", "pipeline/evaluation/"))]
    requirements = (bundle / "requirements.txt").read_text()
    assert requirements == (REPO / "lambda-requirements.txt").read_text()


def test_local_databases_and_reports_never_ship(tmp_path: Path) -> None:
    # GIVEN a checkout where the README's commands left conversation text behind
    root = tmp_path / "checkout"
    for top in (*build_lambda.SHIPPED, "tests", "evals"):
        if (REPO / top).exists():
            shutil.copytree(REPO / top, root / top, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO / "lambda-requirements.txt", root / "lambda-requirements.txt")
    planted = [
        "parley.db",
        "verdicts.db",
        "pipeline/parley.db",
        "pipeline/parley.db-wal",
        "skill/sessions.sqlite3",
        "evals/reports/run-1/report.html",
    ]
    for name in planted:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("Send me a 5000 dollar deposit before the visit")
    # WHEN the bundle is built from it
    built = build_lambda.build(tmp_path / "out", root=root)
    # THEN none of it is in the bundle, though the old CodeUri "." would have copied it all
    assert not set(planted) & set(built.files)
    assert set(planted) <= set(build_lambda.checkout_listing(root).files)


def test_template_points_both_functions_at_the_bundle() -> None:
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=_Loader)
    code_uri = template["Globals"]["Function"]["CodeUri"]
    assert (REPO / code_uri).resolve() == build_lambda.DEFAULT_OUT
    functions = {
        name: r["Properties"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    assert functions and all("CodeUri" not in p for p in functions.values())
    for props in functions.values():
        module = props["Handler"].rsplit(".", 1)[0].replace(".", "/")
        assert f"{module}.py" in HANDLERS or f"{module}/__init__.py" in HANDLERS


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, ...) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


RUN_FROM_BUNDLE = """
import json, sys
from pathlib import Path
bundle = Path(sys.argv[1]).resolve()
import pipeline.stream, skill.handler
event = json.loads(Path(sys.argv[2]).read_text())
response = pipeline.stream.lambda_handler(event, None)
assert response == {"batchItemFailures": []}, response
alexa = json.loads(Path(sys.argv[3]).read_text())
answer = skill.handler.lambda_handler(alexa, None)
loaded = {
    name: getattr(module, "__file__", None) or ""
    for name, module in sys.modules.items()
    if name.split(".")[0] in ("pipeline", "skill")
}
print(json.dumps({
    "outside": sorted(n for n, f in loaded.items() if not Path(f).resolve().is_relative_to(bundle)),
    "speech": answer["response"]["outputSpeech"]["ssml"],
}))
"""


def test_both_handlers_run_from_the_bundle_alone(bundle: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(["Warm milk after lunch!"]))
    env: dict[str, Any] = {
        k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "PYTHON"))
    }
    env.update(
        PYTHONPATH=str(bundle),  # ahead of the editable install of the checkout
        PARLEY_MODEL="local:baseline",
        PARLEY_HISTORY=f"sqlite:{tmp_path / 'history.db'}",
        PARLEY_VERDICTS_SQLITE=str(tmp_path / "verdicts.db"),
        PARLEY_SKILL_MODEL=f"replay:{answers}",
        PARLEY_SKILL_ID="amzn1.ask.skill.00000000-0000-0000-0000-000000000000",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_FROM_BUNDLE,
            str(bundle),
            str(FIXTURES / "streams" / "marketplace-insert-modify-remove.json"),
            str(FIXTURES / "alexa" / "intent-chat.json"),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["outside"] == []  # every parley module came from the bundle
    assert "Warm milk after lunch!" in report["speech"]


def test_build_script_refuses_to_overwrite_the_checkout(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_lambda.main(["--out", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would replace the checkout" in err
