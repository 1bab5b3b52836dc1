"""From decisions to evaluation cases: `parley review export`, redaction, the shipped suite."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.evaluation.suite import DatasetSpec, load_cases, load_dataset, load_suite
from pipeline.history import SqliteHistory
from pipeline.redact import redact_for_export
from tests.review_helpers import T0, conversation, local_service, seed_marketplace

REPO = Path(__file__).resolve().parent.parent


def _decide_all(db: Path) -> Any:
    ids = seed_marketplace(db)
    service = local_service(db, clock=lambda: T0)
    for name, label, cats in (
        ("flag", "scam", ["advance_fee_deposit"]),
        ("und", "not_scam", []),
        ("clear", "cannot_tell", []),
    ):
        service.open(ids[name].key, "alice")
        service.decide(ids[name].key, "alice", label, cats, note=f"note on {name}")
    # A message after the verdicts: not part of what the model saw, so not exported.
    conversation(SqliteHistory(db), "conv-flag", [("buyer", "later")], T0 + timedelta(days=2))
    return ids


def test_export_writes_dataset_cases_with_reviewer_labels_and_provenance(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "parley.db"
    ids = _decide_all(db)
    out = tmp_path / "reviewed.jsonl"
    main(
        [
            "review",
            "export",
            "--verdicts",
            f"sqlite:{db}",
            "--history",
            f"sqlite:{db}",
            "-o",
            str(out),
        ]
    )
    assert "wrote 2 case(s)" in capsys.readouterr().out  # "cannot tell" is no label
    cases = {
        c["provenance"]["verdict_key"]["pk"]: c
        for c in map(json.loads, out.read_text().splitlines())
    }
    flag = cases["conv-flag"]
    assert (flag["label"], flag["category"], flag["categories"]) == (
        1,
        "advance_fee_deposit",
        ["advance_fee_deposit"],
    )
    assert [m["text"] for m in flag["messages"]][-1].startswith("Send me a 5000 dollar deposit")
    assert "later" not in json.dumps(flag)
    assert flag["provenance"] == {
        "verdict_key": {"pk": ids["flag"].key.pk, "sk": ids["flag"].key.sk},
        "prompt": "suspicious-conversation@2",
        "model": "local:baseline",
        "reviewer": "alice",
        "decided_at": "2026-11-01T09:00:00.000000Z",
    }
    assert cases["conv-und"]["label"] == 0
    assert "model-said-undetermined" in cases["conv-und"]["tags"]
    # The evaluation loader reads the file as it reads evals/datasets/marketplace.jsonl.
    loaded = load_dataset(out, DatasetSpec(path=str(out)))
    assert sorted(c.label for c in loaded) == [0, 1]


def test_redacted_export_hides_addresses_numbers_and_links(tmp_path: Path) -> None:
    db = tmp_path / "parley.db"
    _decide_all(db)
    out = tmp_path / "reviewed.jsonl"
    main(
        [
            "review",
            "export",
            "--verdicts",
            f"sqlite:{db}",
            "--history",
            f"sqlite:{db}",
            "--redact",
            "-o",
            str(out),
        ]
    )
    text = out.read_text()
    assert "bob@example.com" not in text and "[email]" in text
    assert "7700 900123" not in text and "[phone]" in text
    assert "5000 dollar deposit" in text  # the scam's shape stays
    # No person in the provenance: the reviewer and the conversation id are pseudonyms.
    cases = [json.loads(line) for line in text.splitlines()]
    for case in cases:
        where = case["provenance"]
        assert where["reviewer"].startswith("reviewer-") and "alice" not in json.dumps(case)
        assert where["verdict_key"]["pk"].startswith("conv-")
        assert where["verdict_key"]["pk"] not in {"conv-flag", "conv-und"}
    assert len({c["provenance"]["reviewer"] for c in cases}) == 1  # one reviewer, one name
    # The control: without --redact the same export names them.
    plain = tmp_path / "plain.jsonl"
    main(
        [
            "review",
            "export",
            "--verdicts",
            f"sqlite:{db}",
            "--history",
            f"sqlite:{db}",
            "-o",
            str(plain),
        ]
    )
    assert "alice" in plain.read_text() and "conv-flag" in plain.read_text()


def test_export_then_eval_scores_the_reviewers_own_decisions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Finding: the documented path wrote ./reviewed.jsonl and evaluated the shipped file.
    db = tmp_path / "parley.db"
    _decide_all(db)
    monkeypatch.chdir(tmp_path)
    store = ["--verdicts", f"sqlite:{db}", "--history", f"sqlite:{db}"]
    main(["review", "export", *store, "-o", "reviewed.jsonl", "--redact"])
    exported = {json.loads(line)["id"] for line in Path("reviewed.jsonl").read_text().splitlines()}
    assert len(exported) == 2
    suite = str(REPO / "evals" / "reviewed.yaml")
    common = ["--quiet", "--cache", str(tmp_path / "cache.db")]
    main(["eval", suite, "--dataset", "reviewed.jsonl", "--output", "ours", *common])
    scored = {c["case_id"] for c in json.loads(Path("ours/results.json").read_text())["cases"]}
    assert scored == exported
    # The control: the suite alone scores its shipped example, none of ours.
    main(["eval", suite, "--output", "shipped", *common])
    shipped = {c["case_id"] for c in json.loads(Path("shipped/results.json").read_text())["cases"]}
    assert shipped and not shipped & exported
    with pytest.raises(SystemExit) as exit_info:
        main(["eval", suite, "--dataset", "typo.jsonl"])
    assert exit_info.value.code == 2
    assert "--dataset typo.jsonl: no such file" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe+ads@mail.example.co.uk now", "write to [email] now"),
        ("pay at https://pay-secure.example.com/x?id=1.", "pay at [url]."),
        ("see www.example.org or paypal.me/joe", "see [url] or [url]"),
        ("call +1 (555) 123-4567 today", "call [phone] today"),
        ("5000 dollars on 2024-03-02 at 10:30", "5000 dollars on 2024-03-02 at 10:30"),
        ("write to john at gmail dot com", "write to [email]"),
        ("mail j (at) mail [dot] co [dot] uk", "mail [email]"),
        ("dm me @jane_doe92 on insta", "dm me [handle] on insta"),
        ("my number is 5551234", "my number is [phone]"),
        ("meet at the station at 5, 120000 dollars", "meet at the station at 5, 120000 dollars"),
        ("paid on 02/03/2024 as agreed", "paid on 02/03/2024 as agreed"),
    ],
)
def test_redact_for_export(text: str, expected: str) -> None:
    assert redact_for_export(text) == expected
    # hidden characters inside an address do not keep it in an export
    hidden = redact_for_export(text.replace("@", "\u200b@"))
    assert hidden.replace("\u200b", "") == expected


def test_shipped_reviewed_suite_loads_its_example_export() -> None:
    suite = load_suite(REPO / "evals" / "reviewed.yaml")
    cases = load_cases(suite)
    assert len(cases) >= 20 and {c.label for c in cases} == {0, 1}
    raw = [
        json.loads(line)
        for line in (REPO / "evals/datasets/reviewed.jsonl").read_text().splitlines()
    ]
    assert all(r["provenance"]["reviewer"] and "redacted" in r["tags"] for r in raw)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["review", "serve", "--reviewer", "a", "--host", "0.0.0.0"], "loopback only"),
        (["review", "serve"], "--reviewer NAME is required"),
        (["review", "export", "-o", "x.jsonl", "--verdicts", "mysql:x"], "--verdicts"),
        (["review", "figures", "--decisions", "redis:x"], "decisions store 'redis:x'"),
    ],
)
def test_bad_settings_are_one_line_and_exit_2(
    args: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("command", [["export", "-o", "x.jsonl"], ["figures"]])
def test_a_missing_verdicts_file_is_refused_not_created(
    command: list[str], capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(["review", *command, "--verdicts", "sqlite:typo.db"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "no verdicts database at typo.db" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "typo.db").exists()


def test_review_demo_fills_the_queue_through_the_stream_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "demo.db"
    store = ["--verdicts", f"sqlite:{db}", "--history", f"sqlite:{db}"]
    main(["review", "demo", *store, "--conversations", "10"])
    assert "10 conversations judged" in capsys.readouterr().out
    main(["review", "figures", *store])
    figures = json.loads(capsys.readouterr().out)
    assert figures["decisions"] == 0 and figures["shadow"][0]["pairs"] == 10


def _serve_args(db: Path, port: int) -> list[str]:
    store = ["--verdicts", f"sqlite:{db}", "--history", f"sqlite:{db}"]
    return ["review", "serve", "--reviewer", "alice", "--port", str(port), *store]


def test_serve_on_a_port_in_use_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    db = tmp_path / "parley.db"
    seed_marketplace(db)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit_info:
            main(_serve_args(db, port))
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert "token=" not in out  # no sign-in link for a server that never ran
    assert err.strip().startswith(f"error: cannot listen on 127.0.0.1:{port}")
    assert len(err.strip().splitlines()) == 1


def test_serve_on_port_0_prints_the_port_it_listens_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    served: list[Any] = []

    def run(self: Any, sockets: list[Any]) -> None:  # stands in for the serving loop
        served.append((self.config.limit_concurrency, sockets[0].getsockname()[1]))
        sockets[0].close()

    monkeypatch.setattr(uvicorn.Server, "run", run)
    db = tmp_path / "parley.db"
    seed_marketplace(db)
    main(_serve_args(db, 0))
    [(limit, port)] = served
    assert port != 0 and limit is not None
    assert f"http://127.0.0.1:{port}/login?token=" in capsys.readouterr().out
