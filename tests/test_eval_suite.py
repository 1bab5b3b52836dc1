"""Suite files, dataset filters, the matrix, and the conversation variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.conversation import conversation_from_dict
from pipeline.errors import ConfigError, InputError
from pipeline.evaluation.suite import Cell, expand_matrix, load_cases, load_suite
from pipeline.evaluation.variants import parse_variant
from pipeline.prompts import DirectoryPromptStore

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
CASES = FIXTURES / "eval-cases.jsonl"


def write_suite(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(body, encoding="utf-8")
    return path


MINIMAL = f"""
name: t
datasets: [{{path: {CASES}}}]
prompts: [suspicious-conversation@1, suspicious-conversation@2]
models: [local:baseline, "cascade:local:baseline>bedrock:amazon.nova-micro-v1:0"]
variants: [full, last_message, reversed, "window:3"]
"""


def test_matrix_is_prompts_times_models_times_variants(tmp_path: Path) -> None:
    suite = load_suite(write_suite(tmp_path, MINIMAL))
    cells = expand_matrix(suite)
    assert len(cells) == 2 * 2 * 4
    assert cells[0] == Cell("suspicious-conversation@1", "local:baseline", "full")
    assert cells[-1] == Cell(
        "suspicious-conversation@2",
        "cascade:local:baseline>bedrock:amazon.nova-micro-v1:0",
        "window:3",
    )
    assert len({c.key for c in cells}) == 16
    assert Cell.from_key(cells[-1].key) == cells[-1]
    assert len(load_cases(suite)) == 12


def test_defaults_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cases.jsonl").write_bytes(CASES.read_bytes())
    suite = load_suite(
        write_suite(
            tmp_path,
            "name: t\ndatasets: [{path: data/cases.jsonl}]\n"
            "prompts: [suspicious-conversation@2]\nmodels: [local:baseline]\n",
        )
    )
    assert suite.variants == ["full"]
    assert suite.concurrency == 8
    assert suite.path(suite.cache) == tmp_path / ".cache" / "eval.db"
    assert [s.variant for s in suite.gate.cells] == ["full"]
    assert load_cases(suite)[0].id == "ev-001"


def test_dataset_filters_split_tags_and_limit(tmp_path: Path) -> None:
    body = MINIMAL.replace(
        f"[{{path: {CASES}}}]", f"[{{path: {CASES}, split: test, tags: [context], limit: 5}}]"
    )
    cases = load_cases(load_suite(write_suite(tmp_path, body)))
    assert [c.id for c in cases] == ["ev-001", "ev-012"]
    assert cases[0].dataset == "eval-cases"
    assert cases[0].tags == ("synthetic", "context")
    assert cases[0].conversation.messages[1].sender == "seller"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("colour: blue\n", "colour: Extra inputs are not permitted"),
        ("variants: [full, sideways]\n", "unknown variant 'sideways'"),
        ("prompts: [suspicious-conversation]\n", "needs a version"),
        ("models: [baseline]\n", "not a reference like local:baseline"),
        ("models: [local:baseline, local:baseline]\n", "model listed twice"),
        ("gate: {recall_min: 1.5}\n", "gate.recall_min: Input should be less than or equal to 1"),
        ("concurrency: 0\n", "concurrency: Input should be greater than or equal to 1"),
    ],
)
def test_bad_suites_are_one_line_config_errors(tmp_path: Path, change: str, message: str) -> None:
    body = "\n".join(
        line for line in MINIMAL.splitlines() if not line.startswith(change.split(":")[0] + ":")
    )
    path = write_suite(tmp_path, body + "\n" + change)
    with pytest.raises(ConfigError) as info:
        load_suite(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)


def test_unreadable_suites(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read suite"):
        load_suite(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_suite(write_suite(tmp_path, "name: [unclosed\n"))
    with pytest.raises(ConfigError, match="a suite is a YAML mapping"):
        load_suite(write_suite(tmp_path, "- a\n- b\n"))


def test_bad_datasets_are_input_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "label": 2, "messages": [{"text": "hi"}]}\n', encoding="utf-8")
    suite = load_suite(write_suite(tmp_path, MINIMAL.replace(str(CASES), str(bad))))
    with pytest.raises(InputError, match=r"bad.jsonl:1: label must be 0 or 1"):
        load_cases(suite)
    twice = tmp_path / "suite2.yaml"
    twice.write_text(
        MINIMAL.replace(f"[{{path: {CASES}}}]", f"[{{path: {CASES}}}, {{path: {CASES}}}]")
    )
    with pytest.raises(InputError, match="case ids repeat"):
        load_cases(load_suite(twice))


# ---------------------------------------------------------------- variants

CONVERSATION = conversation_from_dict(
    {
        "id": "v",
        "messages": [
            {"sender": "buyer", "text": "I am interested in your house, can we fix a visit?"},
            {"sender": "seller", "text": "Sure, Saturday works."},
            {"sender": "seller", "text": "Send me a 5000 dollar deposit before the visit"},
        ],
    }
)


def texts(conversation) -> list[str]:
    return [m.text for m in conversation.messages]


def test_full_history_keeps_every_message_in_order() -> None:
    variant = parse_variant("full")
    assert texts(variant.apply(CONVERSATION)) == texts(CONVERSATION)


def test_last_message_only() -> None:
    shown = parse_variant("last_message").apply(CONVERSATION)
    assert texts(shown) == ["Send me a 5000 dollar deposit before the visit"]


def test_window_keeps_the_newest_n_in_order() -> None:
    variant = parse_variant("window:2")
    assert variant.name == "window:2"
    assert texts(variant.apply(CONVERSATION)) == texts(CONVERSATION)[1:]
    assert texts(parse_variant("window:10").apply(CONVERSATION)) == texts(CONVERSATION)


def test_reversed_is_what_the_model_sees() -> None:
    shown = parse_variant("reversed").apply(CONVERSATION)
    # THEN the reversed order survives the chronological sort (timestamps re-stamped) ...
    assert texts(shown) == list(reversed(texts(CONVERSATION)))
    assert [m.timestamp for m in shown.messages] == [m.timestamp for m in CONVERSATION.messages]
    # ... and is the order rendered into the prompt
    template = DirectoryPromptStore(REPO / "prompts").get("suspicious-conversation@2")
    user = template.render_conversation(shown).user
    assert user.index("5000 dollar deposit") < user.index("fix a visit")


@pytest.mark.parametrize("name", ["window:0", "window:x", "last", "window:"])
def test_unknown_variants(name: str) -> None:
    with pytest.raises(ConfigError, match="unknown variant"):
        parse_variant(name)
