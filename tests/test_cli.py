"""The CLI's promise: bad input gets one line and exit code 2, never a traceback."""

import json
import subprocess
import sys

import pytest

from pipeline.cli import main
from tests.conftest import REPO


def run(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        main(list(argv))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def write(tmp_path, name: str, content) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


BAD_INPUTS = {
    "malformed.json": '{"id": "x", "messages": [',
    "missing-fields.json": {"id": "x", "messages": [{"sender": "buyer"}]},
    "empty.json": {"id": "x", "messages": []},
    "huge.json": {"id": "x", "messages": [{"text": "a" * (1024 * 1024)}]},
    "not-utf8.json": b'{"id": "x", "messages": [{"text": "caf\xe9"}]}',
    "naive-time.json": {"messages": [{"text": "x", "timestamp": "2024-01-01T00:00:00"}]},
}


@pytest.mark.parametrize("name", sorted(BAD_INPUTS))
def test_moderate_bad_input_is_one_line_and_exit_2(tmp_path, capsys, name):
    path = write(tmp_path, name, BAD_INPUTS[name])
    code, _, err = run(capsys, "moderate", path, "--model", "replay:")
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err


def test_unknown_prompt_and_model_are_one_line_errors(tmp_path, capsys):
    path = write(tmp_path, "ok.json", {"messages": [{"text": "hello"}]})
    code, _, err = run(capsys, "moderate", path, "--prompt", "nope@1", "--model", "replay:")
    assert code == 2 and "unknown prompt" in err
    code, _, err = run(capsys, "moderate", path, "--model", "gpt:4")
    assert code == 2 and "unknown model reference" in err


def test_moderate_prints_a_verdict_with_a_replay_model(tmp_path, capsys):
    answers = write(
        tmp_path,
        "answers.json",
        [
            {
                "suspicious": True,
                "score": 0.9,
                "categories": ["advance_fee_deposit"],
                "rationale": "deposit before visit",
            }
        ],
    )
    code, out, _ = run(
        capsys,
        "moderate",
        str(REPO / "examples/deposit-before-visit.json"),
        "--model",
        f"replay:{answers}",
        "--json",
    )
    assert code == 0
    verdict = json.loads(out)[0]
    assert verdict["suspicious"] is True and verdict["status"] == "scored"
    assert verdict["prompt"] == "suspicious-conversation@2"
    assert verdict["categories"] == ["advance_fee_deposit"]


def test_history_add_show_and_moderate_by_id(tmp_path, capsys):
    db = f"sqlite:{tmp_path / 'h.db'}"
    assert (
        run(
            capsys,
            "history",
            "add",
            "c7",
            "Is it still available?",
            "--sender",
            "buyer",
            "--at",
            "2024-01-01T10:00:00Z",
            "--history",
            db,
        )[0]
        == 0
    )
    assert (
        run(
            capsys,
            "history",
            "add",
            "c7",
            "Yes, pay me by gift card",
            "--sender",
            "seller",
            "--at",
            "2024-01-01T10:05:00Z",
            "--history",
            db,
        )[0]
        == 0
    )
    code, out, _ = run(capsys, "history", "show", "c7", "--history", db, "--json")
    shown = json.loads(out)
    assert code == 0 and [m["sender"] for m in shown["messages"]] == ["buyer", "seller"]
    answers = write(tmp_path, "a.json", ["1"])
    code, out, _ = run(
        capsys,
        "moderate",
        "--id",
        "c7",
        "--history",
        db,
        "--prompt",
        "suspicious-conversation@1",
        "--model",
        f"replay:{answers}",
    )
    assert code == 0 and "SUSPICIOUS" in out
    code, _, err = run(capsys, "moderate", "--id", "nobody", "--history", db, "--model", "replay:")
    assert code == 2 and "no messages" in err
    code, _, err = run(capsys, "history", "add", "c7", "x", "--at", "tuesday", "--history", db)
    assert code == 2 and "ISO-8601" in err


def test_prompts_render_shows_exactly_what_is_sent(tmp_path, capsys):
    path = write(
        tmp_path, "c.json", {"messages": [{"sender": "buyer", "text": "{{ 7*7 }} </message>"}]}
    )
    code, out, _ = run(capsys, "prompts", "render", "suspicious-conversation@2", path, "--json")
    rendered = json.loads(out)
    assert code == 0 and "{{ 7*7 }} &lt;/message&gt;" in rendered["user"]
    assert rendered["inference"]["max_tokens"] >= 1


def test_console_script_help_runs_in_a_fresh_process():
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    for command in ("demo", "moderate", "history", "prompts"):
        assert command in result.stdout


def test_demo_prints_three_verdicts_on_the_embedded_defaults(capsys):
    code, out, _ = run(capsys, "demo")
    assert code == 0
    for case in ("seller's message alone", "whole conversation, in order", "order reversed"):
        assert case in out
    assert "model: local:baseline" in out
    # The baseline flags all three alike; the demo must say so rather than imply a lesson.
    assert "reads words, not order" in out


def test_demo_with_a_model_that_sees_order_teaches_the_lesson(tmp_path, capsys):
    def answer(suspicious: bool) -> dict:
        return {"suspicious": suspicious, "score": 0.9 if suspicious else 0.1, "rationale": "r"}

    answers = write(tmp_path, "a.json", [answer(False), answer(True), answer(False)])
    code, out, _ = run(capsys, "demo", "--model", f"replay:{answers}", "--json")
    assert code == 0
    cases = json.loads(out)
    assert [c["verdict"]["suspicious"] for c in cases] == [False, True, False]
    assert [c["case"] for c in cases] == [
        "seller's message alone",
        "whole conversation, in order",
        "order reversed",
    ]
