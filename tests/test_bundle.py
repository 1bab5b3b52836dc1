"""Each Lambda bundle holds only what its function runs, and the function runs from it.

`tools/build_lambda.py` fills each function's CodeUri (build/lambda/<function>); `sam
build` then installs the requirements.txt beside it. These tests build the directories,
list them, and run the handlers from their own bundle alone.
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
    assert {f"{fn}/{h}" for fn, h in zip(build_lambda.FUNCTIONS, HANDLERS, strict=True)} <= set(
        files
    )
    for function in build_lambda.FUNCTIONS:
        assert {
            f"{function}/prompts/suspicious-conversation/v2.j2",
            f"{function}/prompts/companion/v1.j2",
        } <= set(files)
    assert "moderation/pipeline/data/baseline.json.gz" in files  # the local baseline's artifact
    assert not [f for f in files if f.split("/", 1)[1].startswith(NOT_SHIPPED)]
    assert not [f for f in files if f.endswith((".db", ".pyc", ".jsonl"))]
    # HTML only as the review app's own page templates (reports are output, never shipped)
    assert not [f for f in files if f.endswith(".html") and "/review/templates/" not in f"/{f}"]
    assert not [f for f in files if "/pipeline/cli/" in f or "/pipeline/evaluation/" in f]


def test_each_function_bundles_only_what_it_imports(bundle: Path) -> None:
    def modules(function: str) -> set[str]:
        return set(build_lambda.listing(bundle / function).files)

    # GIVEN one bundle per function
    moderation, skill, review = (modules(f) for f in ("moderation", "skill", "review"))
    # THEN the stream job carries neither the skill nor the review app
    assert not [f for f in moderation if f.startswith(("skill/", "review/"))]
    assert not [f for f in skill if f.startswith("review/")]
    assert not [f for f in review if f.startswith("skill/")]
    assert "pipeline/stream.py" not in skill | review
    assert "pipeline/assistant.py" in skill and "pipeline/assistant.py" not in moderation
    # and its requirements: ask-sdk only for the skill, the web stack only for the review app
    requirements = {
        f: (bundle / f / "requirements.txt").read_text() for f in build_lambda.FUNCTIONS
    }
    assert "ask-sdk-core==" in requirements["skill"]
    assert "ask-sdk-core" not in requirements["moderation"] + requirements["review"]
    assert "starlette==" in requirements["review"] and "mangum==" in requirements["review"]
    assert "starlette" not in requirements["moderation"] + requirements["skill"]
    for text in requirements.values():  # every line is one of the pinned lines
        pinned = (REPO / "lambda-requirements.txt").read_text().splitlines()
        assert all(line in pinned for line in text.splitlines() if not line.startswith("#"))


def test_requirements_subset_keeps_hash_lines_with_their_requirement() -> None:
    text = "# c\nboto3==1.0 \\\n    --hash=sha256:aa\nstarlette==2.0 \\\n    --hash=sha256:bb\n"
    assert build_lambda.requirements_subset(text, {"boto3"}) == (
        "boto3==1.0 \\\n    --hash=sha256:aa\n"
    )


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


def test_template_points_each_function_at_its_own_bundle() -> None:
    template = yaml.load((REPO / "template.yaml").read_text(), Loader=_Loader)
    assert "CodeUri" not in template["Globals"]["Function"]
    functions = {
        name: r["Properties"]
        for name, r in template["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
    }
    uris = set()
    for props in functions.values():
        code_uri = Path(props["CodeUri"])
        assert (REPO / code_uri).parent.resolve() == build_lambda.DEFAULT_OUT
        handler_module = props["Handler"].rsplit(".", 1)[0]
        assert build_lambda.FUNCTIONS[code_uri.name] == handler_module
        uris.add(code_uri)
    assert len(uris) == len(functions) == 4  # one bundle each


class _Loader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref, !Sub, ...) as plain values."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


RUN_FROM_BUNDLE = """
import json, sys
from pathlib import Path
bundle = Path(sys.argv[1]).resolve()
if bundle.name == "moderation":
    import pipeline.stream
    event = json.loads(Path(sys.argv[2]).read_text())
    response = pipeline.stream.lambda_handler(event, None)
    assert response == {"batchItemFailures": []}, response
    speech = ""
elif bundle.name == "quiet":
    import pipeline.quiet_worker
    wake_up = {"conversation_id": "c-1", "at": "2024-05-01T09:00:00Z"}
    event = {"Records": [{"messageId": "m-1", "body": json.dumps(wake_up),
                          "eventSource": "aws:sqs", "attributes": {}}]}
    response = pipeline.quiet_worker.lambda_handler(event, None)
    assert response == {"batchItemFailures": []}, response
    speech = ""
elif bundle.name == "review":
    import review.lambda_handler
    event = {
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"host": "review.example.com"},
        "requestContext": {
            "http": {"method": "GET", "path": "/", "sourceIp": "127.0.0.1", "protocol": "HTTP/1.1"},
            "requestId": "r", "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    page = review.lambda_handler.lambda_handler(event, None)
    # the app signs reviewers in itself: a browser without a session is sent to sign in
    assert page["statusCode"] in (302, 303, 401), page
    speech = ""
else:
    import skill.handler
    alexa = json.loads(Path(sys.argv[3]).read_text())
    speech = skill.handler.lambda_handler(alexa, None)["response"]["outputSpeech"]["ssml"]
loaded = {
    name: getattr(module, "__file__", None) or ""
    for name, module in sys.modules.items()
    if name.split(".")[0] in ("pipeline", "skill", "review")
}
print(json.dumps({
    "outside": sorted(n for n, f in loaded.items() if not Path(f).resolve().is_relative_to(bundle)),
    "speech": speech,
}))
"""


@pytest.mark.parametrize("function", ["moderation", "quiet", "skill", "review"])
def test_each_handler_runs_from_its_bundle_alone(
    bundle: Path, tmp_path: Path, function: str
) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(["Warm milk after lunch!"]))
    env: dict[str, Any] = {
        k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "PYTHON"))
    }
    env.update(
        PYTHONPATH=str(bundle / function),  # ahead of the editable install of the checkout
        PARLEY_MODEL="local:baseline",
        PARLEY_HISTORY=f"sqlite:{tmp_path / 'history.db'}",
        PARLEY_VERDICTS_SQLITE=str(tmp_path / "verdicts.db"),
        PARLEY_SKILL_MODEL=f"replay:{answers}",
        PARLEY_SKILL_ID="amzn1.ask.skill.00000000-0000-0000-0000-000000000000",
        PARLEY_REVIEW_SECRET="bundle-test",  # on Lambda: read from Secrets Manager
        PARLEY_REVIEW_OIDC_ISSUER="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_example",
        PARLEY_REVIEW_OIDC_CLIENT_ID="example-client",
        PARLEY_REVIEW_OIDC_REDIRECT_URI="https://review.example.com/auth/callback",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            RUN_FROM_BUNDLE,
            str(bundle / function),
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
    if function == "skill":
        assert "Warm milk after lunch!" in report["speech"]


def test_build_script_refuses_to_overwrite_the_checkout(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_lambda.main(["--out", str(REPO)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "would replace the checkout" in err
