"""A bad setting or a missing AWS service is one line on stderr and exit code 2, never a
traceback: settings validation, no region, no credentials, an endpoint that does not
answer, a table that does not exist. Loopback only (moto's server, a closed port)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.cli.failures import one_line
from tests.conftest import REPO

EXAMPLE = str(REPO / "examples" / "deposit-before-visit.json")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def fresh_boto3_session(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's default session keeps the region and credentials an earlier test resolved."""
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PARLEY_MODEL_RPM", "-1", "PARLEY_MODEL_RPM='-1': Input should be greater than or equal"),
        ("PARLEY_MAX_CONCURRENCY", "abc", "PARLEY_MAX_CONCURRENCY='abc': Input should be a valid"),
        ("PARLEY_MODEL_DEADLINE_S", "-3", "PARLEY_MODEL_DEADLINE_S='-3': Input should be greater"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    expected: str,
) -> None:
    monkeypatch.setenv(variable, value)

    code, out, err = run(capsys, "moderate", EXAMPLE)

    assert code == 2
    assert out == ""
    assert one_error_line(err).startswith(f"error: {expected}")


def test_a_bad_setting_in_a_fresh_process_prints_no_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "moderate", EXAMPLE],
        env={**env, "PARLEY_MODEL_RPM": "-1"},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert one_error_line(result.stderr) == (
        "error: PARLEY_MODEL_RPM='-1': Input should be greater than or equal to 0"
    )


def test_dynamodb_history_without_a_region(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("PARLEY_HISTORY", "dynamodb:tbl")
    fresh_boto3_session(monkeypatch)

    code, _, err = run(capsys, "history", "show", "conv-1")

    assert code == 2
    assert "no AWS region" in one_error_line(err)


def test_stream_watch_without_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, moto_server: str
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookup
    fresh_boto3_session(monkeypatch)

    code, _, err = run(
        capsys,
        "stream",
        "watch",
        "--table",
        "t",
        "--endpoint-url",
        moto_server,
        "--iterations",
        "1",
    )

    assert code == 2
    assert "no AWS credentials" in one_error_line(err)


def test_stream_watch_with_an_endpoint_that_does_not_answer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"

    code, _, err = run(
        capsys, "stream", "watch", "--table", "t", "--endpoint-url", endpoint, "--iterations", "1"
    )

    assert code == 2
    assert one_error_line(err).startswith(f"error: cannot reach {endpoint}")


def test_stream_watch_without_the_table(
    capsys: pytest.CaptureFixture[str], moto_server: str
) -> None:
    code, _, err = run(
        capsys,
        "stream",
        "watch",
        "--table",
        "no-such-table",
        "--endpoint-url",
        moto_server,
        "--iterations",
        "1",
    )

    assert code == 2
    line = one_error_line(err)
    assert line.startswith("error: DescribeTable: ResourceNotFoundException:")


def test_other_errors_keep_their_traceback() -> None:
    from botocore.exceptions import ClientError

    throttled = ClientError(
        {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "Query"
    )

    assert one_line(throttled) is None  # transient: not the user's setting
    assert one_line(RuntimeError("a bug")) is None
    assert one_line(KeyError("x")) is None


def test_only_settings_validation_errors_are_one_line() -> None:
    from pydantic import BaseModel, ValidationError

    from pipeline.settings import Settings

    class Other(BaseModel):
        n: int

    with pytest.raises(ValidationError) as other:
        Other(n="x")  # type: ignore[arg-type]
    with pytest.raises(ValidationError) as settings:
        Settings(max_concurrency=0, model_rpm=-1)

    assert one_line(other.value) is None  # a bug in parley's own code keeps its traceback
    assert one_line(settings.value) == (
        "PARLEY_MAX_CONCURRENCY: Input should be greater than or equal to 1 (and 1 more)"
    )


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("PARLEY_REVIEW_SAMPLE_RATE", "2", "PARLEY_REVIEW_SAMPLE_RATE='2': Input should be less"),
        ("PARLEY_REVIEW_LEASE_SECONDS", "abc", "PARLEY_REVIEW_LEASE_SECONDS='abc': Input should"),
    ],
)
def test_a_bad_review_setting_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    variable: str,
    value: str,
    expected: str,
) -> None:
    from review.wiring import get_review_settings

    monkeypatch.setenv(variable, value)
    get_review_settings.cache_clear()
    try:
        code, out, err = run(capsys, "review", "export", "-o", str(tmp_path / "out.jsonl"))
    finally:
        get_review_settings.cache_clear()

    assert code == 2
    assert out == ""
    assert one_error_line(err).startswith(f"error: {expected}")


@pytest.mark.parametrize("problem", ["no such directory", "not a database"])
def test_a_sqlite_store_that_cannot_be_opened_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, problem: str
) -> None:
    verdicts = tmp_path / "parley.db"
    if problem == "not a database":
        verdicts.write_text("not sqlite at all, just long enough to have a header\n" * 4)
        store = verdicts
    else:
        verdicts.touch()  # an empty file is an empty SQLite database
        store = tmp_path / "absent" / "decisions.db"
    where = ["--verdicts", f"sqlite:{verdicts}", "--decisions", f"sqlite:{store}"]

    code, out, err = run(capsys, "review", "export", "-o", str(tmp_path / "out.jsonl"), *where)

    assert code == 2
    assert out == ""
    assert one_error_line(err).startswith(f"error: cannot open the SQLite database {store}")


# -- bad command-line input (README walk-through findings) ----------------------------------


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["skill", "serve", "--port", "99999"], "'--port': 99999 is not in the range"),
        (["review", "serve", "--port", "-1"], "'--port': -1 is not in the range"),
        (["demo", "--no-such-option"], "No such option '--no-such-option'"),
    ],
)
def test_a_bad_option_value_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert expected in one_error_line(err)


@pytest.mark.parametrize("argv", [["moderate"], ["stream", "replay"]])
def test_an_endless_file_is_refused_after_a_bounded_read(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> None:
    # GIVEN a file that never ends, and a count of what is read from it
    from pipeline import bounded

    opened: list[int] = []
    real_open = Path.open

    def counting_open(self: Path, *args: object, **kwargs: object) -> object:
        handle = real_open(self, *args, **kwargs)  # type: ignore[call-overload]
        if str(self) != "/dev/zero":
            return handle
        real_read = handle.read

        def read(size: int = -1) -> bytes:
            assert size >= 0, "an unbounded read"
            data = real_read(size)
            opened.append(len(data))
            return data

        handle.read = read
        return handle

    monkeypatch.setattr(Path, "open", counting_open)
    # WHEN it is given to the command
    code, _, err = run(capsys, *argv, "/dev/zero")
    # THEN one line, exit 2, and at most the limit + 1 bytes were read
    assert code == 2
    assert "is larger than" in one_error_line(err)
    limit = max(bounded.MAX_CONVERSATIONS_FILE_BYTES, bounded.MAX_EVENT_FILE_BYTES)
    assert opened and sum(opened) <= limit + 1


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ("{}", 'no "Records"'),
        ('{"Records": "x"}', "not a list of stream records"),
        ('{"Records": [1, 2]}', "must be a JSON object"),
        ('"text"', "not a list of stream records"),
    ],
)
def test_a_replay_of_no_stream_event_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, event: str, expected: str
) -> None:
    path = tmp_path / "event.json"
    path.write_text(event)
    code, _, err = run(capsys, "stream", "replay", str(path), "--verdicts", "sqlite::memory:")
    assert code == 2
    assert expected in one_error_line(err)


def test_an_honest_replay_still_runs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # The control: a real stream event passes the same checks.
    event = REPO / "tests" / "fixtures" / "streams" / "marketplace-insert-modify-remove.json"
    code, out, _ = run(
        capsys, "stream", "replay", str(event), "--verdicts", f"sqlite:{tmp_path / 'v.db'}"
    )
    assert code == 0 and out


def test_emulator_and_review_app_default_to_different_ports() -> None:
    from pipeline.cli.emulator import emulator
    from pipeline.cli.review import serve

    def port(command: object) -> object:
        return next(p.default for p in command.params if p.name == "port")  # type: ignore[attr-defined]

    assert port(emulator) != port(serve)


def test_stream_watch_local_starts_what_it_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # No endpoint, no table, no credentials beforehand: --local makes all three.
    code, out, err = run(
        capsys, "stream", "watch", "--local", "--table", "marketplace-messages",
        "--iterations", "1", "--interval", "0", "--verdicts", f"sqlite:{tmp_path / 'v.db'}",
    )  # fmt: skip
    assert code == 0, err
    assert "local DynamoDB at http://127.0.0.1:" in out
    assert "table marketplace-messages with its stream" in out


def test_stream_watch_local_and_an_endpoint_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = run(
        capsys, "stream", "watch", "--local", "--endpoint-url", "http://127.0.0.1:9",
        "--table", "t", "--iterations", "1",
    )  # fmt: skip
    assert code == 2 and "not both" in one_error_line(err)
