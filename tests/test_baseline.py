"""The local baseline: features, training, the shipped artifact, the ChatModel and CLI."""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.baseline import metrics
from pipeline.baseline.artifact import (
    DEFAULT_ARTIFACT,
    artifact_bytes,
    decode_sparse,
    encode_sparse,
    read_document,
    round_sig,
)
from pipeline.baseline.dataset import file_sha256, load_examples
from pipeline.baseline.features import (
    FeatureConfig,
    cues,
    feature_strings,
    hashed_groups,
    hashed_groups_from_strings,
    linear_score,
    signed,
    to_vector,
    vectorize,
)
from pipeline.conversation import (
    Message,
    conversation_from_dict,
    last_message_only,
    reversed_order,
)
from pipeline.errors import ConfigError, InputError
from pipeline.models import resolve
from pipeline.models.local import BaselineModel, baseline_responder, turns_from_text
from pipeline.moderation import assess
from pipeline.prompts import DirectoryPromptStore
from pipeline.verdict import Category

from .conftest import FIXTURES, REPO

TINY = FIXTURES / "baseline-tiny.jsonl"
DATASET = REPO / "evals" / "datasets" / "marketplace.jsonl"
DEMO = [
    ("buyer", "I am interested in your house, can we fix a visit?"),
    ("seller", "Send me a 5000 dollar deposit before the visit"),
]


def _digest(vector: dict[int, float]) -> str:
    return hashlib.sha256(json.dumps(sorted(vector.items())).encode()).hexdigest()


@pytest.fixture(scope="module")
def prompts() -> DirectoryPromptStore:
    return DirectoryPromptStore(REPO / "prompts")


@pytest.fixture(scope="module")
def tiny_model() -> dict[str, Any]:
    from pipeline.baseline.train import build_model

    return build_model(load_examples(TINY), dataset="tiny", dataset_sha256=file_sha256(TINY))


# ---------------------------------------------------------------- features


def test_features_are_identical_in_another_process_with_another_hash_seed() -> None:
    # GIVEN a conversation vectorised here
    expected = _digest(vectorize(DEMO, FeatureConfig()))
    # WHEN a fresh interpreter with a different str-hash salt vectorises it
    code = (
        "import hashlib, json, sys\n"
        "from pipeline.baseline.features import FeatureConfig, vectorize\n"
        f"v = vectorize({DEMO!r}, FeatureConfig())\n"
        "print(hashlib.sha256(json.dumps(sorted(v.items())).encode()).hexdigest())\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin"},
    ).stdout.strip()
    # THEN the buckets and values are the same
    assert output == expected


def test_fast_path_matches_the_readable_feature_strings() -> None:
    config = FeatureConfig()
    turns = [*DEMO, ("buyer", "OK, my e-mail is jo@example.org, call +1 555 010 0199")]
    fast = vectorize(turns, config)
    slow = to_vector(hashed_groups_from_strings(feature_strings(turns, config), config))
    assert fast.keys() == slow.keys()
    assert all(math.isclose(fast[k], slow[k], abs_tol=1e-12) for k in fast)
    assert math.isclose(math.sqrt(sum(v * v for v in fast.values())), 1.0)
    assert all(0 <= k < 2**18 for k in fast)
    # the scoring shortcut computes the same dot product as the vector
    weights = {bucket: ((bucket * 7919) % 200 - 100) / 100 for bucket in fast}
    dot = sum(value * weights[bucket] for bucket, value in fast.items())
    assert linear_score(hashed_groups(turns, config), signed(weights)) == pytest.approx(dot)


def test_features_see_senders_order_and_contact_details() -> None:
    config = FeatureConfig()
    in_order = feature_strings(DEMO, config)
    swapped = feature_strings(
        [(s, t) for (s, _), (_, t) in zip(DEMO, reversed(DEMO), strict=True)], config
    )
    assert "s:deposit" in in_order["s"] and "b:deposit" in swapped["s"]
    assert "x:lastseq:meet>money" in in_order["x"]
    assert "x:lastseq:meet>money" not in feature_strings(list(reversed(DEMO)), config)["x"]
    assert cues("Pay by Zelle to jo@x.org or +44 7700 900123, $50, http://pay.top/x") >= {
        "payapp",
        "email",
        "phone",
        "money",
        "url",
    }
    assert cues("Is it still available?") == {"question"}
    assert "counterfeit" in cues("Rolex watches, AAA copies, look identical")


# ---------------------------------------------------------------- metrics and artifact format


def test_roc_auc_counts_pairs_and_ties() -> None:
    scores = [0.1, 0.4, 0.4, 0.8, 0.3, 0.9]
    labels = [0, 0, 1, 1, 0, 1]
    pairs = [
        (p, n)
        for p, y in zip(scores, labels, strict=True)
        if y
        for n, z in zip(scores, labels, strict=True)
        if not z
    ]
    brute = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in pairs) / len(pairs)
    assert metrics.roc_auc(scores, labels) == pytest.approx(brute)


def test_thresholds_keep_their_promises() -> None:
    scores = [i / 200 for i in range(200)]
    labels = [1 if (i % 3 == 0 or i > 120) else 0 for i in range(200)]
    positives = sum(labels)
    low = metrics.low_threshold(scores, labels, 0.01)
    high = metrics.high_threshold(scores, labels, 0.01)
    cut = metrics.threshold_for_recall(scores, labels, 0.9)
    missed = sum(1 for s, y in zip(scores, labels, strict=True) if y and s < low)
    assert missed <= math.floor(0.01 * positives)
    assert sum(1 for s, y in zip(scores, labels, strict=True) if not y and s > high) <= 1
    assert metrics.classification(scores, labels, cut)["recall"] >= 0.9
    # the thresholds are the tightest ones: a little further and the promise breaks
    assert sum(1 for s, y in zip(scores, labels, strict=True) if y and s < low + 0.01) > missed


def test_conformal_low_edge_leaves_k_suspicious_cases_at_or_below_it() -> None:
    scores = [i / 300 for i in range(300)]
    labels = [1 if (i % 2 == 0 or i > 150) else 0 for i in range(300)]
    positives = sorted(s for s, y in zip(scores, labels, strict=True) if y)
    n = len(positives)
    # budget 1%: k = floor(0.01 (n + 1)) = 2; the edge sits below the 2nd-lowest scam
    low = metrics.conformal_low(scores, labels, 0.01)
    assert math.floor(0.01 * (n + 1)) == 2
    assert positives[0] < low < positives[1]
    # k / (n + 1) is at most the budget
    assert sum(1 for s in positives if s < low) / (n + 1) <= 0.01
    # too few suspicious cases for the budget: nothing is cleared locally
    assert metrics.conformal_low(scores[:40], labels[:40], 0.01) == 0.0


def test_repeated_folds_are_stratified_and_differ_by_salt() -> None:
    from pipeline.baseline.train import stratified_folds

    ids = [f"c{i}" for i in range(50)]
    labels = [i % 3 == 0 for i in range(50)]
    plain = stratified_folds(ids, labels, 5)
    salted = stratified_folds(ids, labels, 5, "repeat1")
    assert (plain != salted).any()
    for folds in (plain, salted):
        for fold in range(5):
            members = [y for y, f in zip(labels, folds, strict=True) if f == fold]
            # 17 scams and 33 benign cases dealt round-robin per class
            assert sum(members) in (3, 4) and len(members) - sum(members) in (6, 7)


def test_conversations_of_one_template_share_a_fold() -> None:
    from pipeline.baseline.dataset import Example
    from pipeline.baseline.train import stratified_folds

    # 10 templates of 4 near-duplicates each, and 20 conversations of their own
    groups = [f"t{i // 4}" for i in range(40)] + [f"c{i}" for i in range(20)]
    labels = [0] * 40 + [1] * 20
    folds = stratified_folds(groups, labels, 5)
    for template in {g for g in groups if g.startswith("t")}:
        assert len({f for g, f in zip(groups, folds, strict=True) if g == template}) == 1
    # templates are dealt round-robin: two per fold; the singletons four per fold
    assert sorted(np.bincount(folds[:40], minlength=5)) == [8] * 5
    assert sorted(np.bincount(folds[40:], minlength=5)) == [4] * 5
    # an example's group is its template when it names one, else its id
    one = Example("a", "train", 0, "none", (("buyer", "hi"),))
    assert one.group == "a"
    assert Example("b", "train", 0, "none", (("buyer", "hi"),), group="fr-1").group == "fr-1"


def test_sparse_weights_round_trip_and_drop_zeros() -> None:
    weights = {5: 0.123456, 70000: -2.5e-7, 9: 0.0, 3: 31.4159}
    decoded = decode_sparse(encode_sparse(weights))
    assert decoded == {3: 31.42, 5: 0.1235, 70000: -2.5e-7}
    assert round_sig(-0.000123456) == -0.0001235


# ---------------------------------------------------------------- training


def test_training_separates_the_classes_of_a_tiny_dataset(tiny_model: dict[str, Any]) -> None:
    test = tiny_model["metrics"]["test"]
    assert test["n"] == 20
    assert test["roc_auc"] >= 0.95
    assert test["recall"] >= 0.9
    assert 0 <= tiny_model["cascade"]["low"] <= tiny_model["threshold"]
    assert tiny_model["threshold"] <= tiny_model["cascade"]["high"] <= 1
    assert set(tiny_model["categories"]["labels"]) <= {c.value for c in Category}
    # the band rule's nested check is recorded; 20 scams are too few for a 1% budget
    check = tiny_model["training"]["band_check"]
    assert check["suspicious"] == 3 * 20 and check["cleared_suspicious"] == 0
    assert tiny_model["cascade"]["low"] == 0.0


def test_training_is_deterministic_to_the_byte(tiny_model: dict[str, Any]) -> None:
    from pipeline.baseline.train import build_model

    again = build_model(load_examples(TINY), dataset="tiny", dataset_sha256=file_sha256(TINY))
    first = artifact_bytes(tiny_model, "2024-05-01", compress=True)
    assert artifact_bytes(again, "2024-05-01", compress=True) == first
    # the date lives outside the hashed model part
    other_day = json.loads(gzip.decompress(artifact_bytes(again, "2024-05-02", compress=True)))
    assert other_day["model_sha256"] == json.loads(gzip.decompress(first))["model_sha256"]


def test_cli_train_writes_a_loadable_artifact(tmp_path: Path) -> None:
    from pipeline.cli import cli

    output = tmp_path / "tiny.json"
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "baseline",
            "train",
            "--dataset",
            str(TINY),
            "--output",
            str(output),
            "--date",
            "2024-05-01",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recall" in result.output and "decided locally" in result.output
    document = json.loads(output.read_bytes())
    assert document["trained_on"] == "2024-05-01"
    assert document["model"]["training"]["dataset_sha256"] == file_sha256(TINY)
    info = runner.invoke(cli, ["baseline", "info", "--artifact", str(output), "--json"])
    assert json.loads(info.output)["model_sha256"] == document["model_sha256"]
    evaluated = runner.invoke(
        cli,
        ["baseline", "evaluate", "--dataset", str(TINY), "--artifact", str(output), "--json"],
    )
    assert json.loads(evaluated.output)["recall"] == document["model"]["metrics"]["test"]["recall"]


def test_training_refuses_a_dataset_without_both_classes(tmp_path: Path) -> None:
    from pipeline.baseline.train import build_model

    only_benign = [e for e in load_examples(TINY) if e.label == 0]
    with pytest.raises(InputError, match="each class"):
        build_model(only_benign, dataset="x", dataset_sha256="0")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "label": 3, "messages": [{"text": "hi"}]}\n')
    with pytest.raises(InputError, match="label"):
        load_examples(bad)


# ---------------------------------------------------------------- the shipped artifact


@pytest.fixture(scope="module")
def shipped() -> BaselineModel:
    return BaselineModel()


def test_shipped_artifact_was_trained_on_the_current_dataset(shipped: BaselineModel) -> None:
    training = shipped.artifact.meta["training"]
    assert training["dataset"] == "evals/datasets/marketplace.jsonl"
    assert training["dataset_sha256"] == file_sha256(DATASET), (
        "the dataset changed since the artifact was trained: run `parley baseline train`"
    )
    assert DEFAULT_ARTIFACT.stat().st_size < 600 * 1024


def test_shipped_artifact_meets_its_quality_gate_on_the_test_split(shipped: BaselineModel) -> None:
    examples = load_examples(DATASET)
    test = [e for e in examples if e.split == "test"]
    scores = [shipped.artifact.probability(e.turns) for e in test]
    labels = [e.label for e in test]
    assert all(0.0 <= s <= 1.0 for s in scores)
    result = metrics.summary(scores, labels, shipped.threshold, *shipped.cascade_band)
    assert result["recall"] >= 0.9
    # the stored figures are what inference computes now
    assert result == shipped.artifact.meta["metrics"]["test"]


def test_shipped_band_was_chosen_on_the_train_split_with_a_margin(shipped: BaselineModel) -> None:
    training = shipped.artifact.meta["training"]
    low, high = shipped.cascade_band
    assert low <= shipped.threshold <= high
    # on the train split's out-of-fold scores the band clears no scam at all
    assert training["out_of_fold"]["cascade"]["local_miss_rate"] == 0.0
    # nested cross-validation of the band rule (train split only): well under the 2%
    # target for scams cleared locally, while most conversations are decided locally
    check = training["band_check"]
    assert check["local_miss_rate"] <= 0.01
    assert check["local_share"] >= 0.6


def test_demo_order_matters_to_the_baseline(shipped: BaselineModel) -> None:
    conversation = conversation_from_dict(
        {"id": "demo", "messages": [{"sender": s, "text": t} for s, t in DEMO]}
    )
    alone = shipped.score(last_message_only(conversation))
    in_order = shipped.score(conversation)
    reversed_ = shipped.score(reversed_order(conversation))
    print(f"demo scores: alone={alone:.4f} in order={in_order:.4f} reversed={reversed_:.4f}")
    assert in_order > alone


def test_generate_answers_the_verdict_tool_from_the_window(
    shipped: BaselineModel, prompts: DirectoryPromptStore
) -> None:
    conversation = conversation_from_dict(
        {"id": "demo", "messages": [{"sender": s, "text": t} for s, t in DEMO]}
    )
    prompt = prompts.get("suspicious-conversation@2").render_conversation(conversation)
    result = shipped.generate(prompt)
    answer = result.structured
    assert result.model_id == "local:baseline"
    assert (result.input_tokens, result.output_tokens, result.cost_usd) == (0, 0, 0.0)
    assert answer["score"] == pytest.approx(shipped.score(conversation), abs=1e-4)
    assert answer["suspicious"] is (answer["score"] >= shipped.threshold)
    assert "not a language model" in answer["rationale"]
    assert len(answer["categories"]) == (1 if answer["suspicious"] else 0)
    # the same conversation read back from the rendered text scores the same
    text_only = shipped.judge(turns_from_text(prompt.user))
    assert text_only["score"] == answer["score"]


def test_generate_answers_legacy_prompts_with_1_or_0(
    shipped: BaselineModel, prompts: DirectoryPromptStore
) -> None:
    conversation = conversation_from_dict(
        {"id": "demo", "messages": [{"sender": s, "text": t} for s, t in DEMO]}
    )
    verdict = assess(conversation, prompts.get("suspicious-conversation@1"), shipped)
    result = shipped.generate(
        prompts.get("suspicious-conversation@1").render_conversation(conversation)
    )
    assert result.text == ("1" if result.structured["suspicious"] else "0")
    assert verdict.status == "scored" and verdict.model_id == "local:baseline"
    assert verdict.suspicious is result.structured["suspicious"]


def test_turns_from_text_unescapes_exactly_what_prompts_escape() -> None:
    text = (
        '<message index="1" sender="seller" at="x">\nuse &lt;b&gt; &amp;amp; &amp;lt;\n</message>\n'
        '<message index="2" sender="buyer" at="y">\nok\n</message>'
    )
    assert turns_from_text(text) == [("seller", "use <b> &amp; &lt;"), ("buyer", "ok")]
    assert turns_from_text("no blocks here") == [("unknown", "no blocks here")]


def test_local_references(shipped: BaselineModel, tmp_path: Path) -> None:
    assert isinstance(resolve("local:baseline"), BaselineModel)
    custom = resolve(f"local:baseline@{DEFAULT_ARTIFACT}")
    assert custom.artifact.meta["model_sha256"] == shipped.artifact.meta["model_sha256"]
    with pytest.raises(ConfigError, match="known: local:baseline"):
        resolve("local:unknown")
    with pytest.raises(ConfigError):
        resolve("local:baseline@")
    with pytest.raises(ConfigError, match="cannot read"):
        resolve(f"local:baseline@{tmp_path / 'missing.json'}")
    corrupt = tmp_path / "corrupt.json.gz"
    corrupt.write_bytes(b"\x1f\x8bnot gzip")
    with pytest.raises(ConfigError, match="corrupt"):
        read_document(corrupt)


def test_scoring_imports_no_numpy() -> None:
    code = (
        "import sys\n"
        "from pipeline.models.local import BaselineModel\n"
        "from pipeline.conversation import conversation_from_dict\n"
        "c = conversation_from_dict({'id': 'x', 'messages': [{'sender': 'seller', 'text': 'hi'}]})\n"
        "BaselineModel().score(c)\n"
        "print('numpy' in sys.modules)\n"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    ).stdout.strip()
    assert output == "False"


def test_emulator_responder_answers_like_the_baseline(
    bedrock_emulator: Any,
    emulator_client: Any,
    shipped: BaselineModel,
    prompts: DirectoryPromptStore,
) -> None:
    # GIVEN the emulator answering with the baseline's judgement
    bedrock_emulator.responder = baseline_responder()
    conversation = conversation_from_dict(
        {"id": "demo", "messages": [{"sender": s, "text": t} for s, t in DEMO]}
    )
    prompt = prompts.get("suspicious-conversation@2").render_conversation(conversation)
    tool = {"toolSpec": {"name": "record_verdict", "inputSchema": {"json": {"type": "object"}}}}
    # WHEN a Converse call forces the verdict tool, and a plain call asks for text
    forced = emulator_client.converse(
        modelId="amazon.nova-micro-v1:0",
        system=[{"text": prompt.system}],
        messages=[{"role": "user", "content": [{"text": prompt.user}]}],
        toolConfig={"tools": [tool], "toolChoice": {"tool": {"name": "record_verdict"}}},
    )
    plain = emulator_client.converse(
        modelId="amazon.titan-text-lite-v1",
        messages=[{"role": "user", "content": [{"text": prompt.user}]}],
    )
    # THEN the tool input is the baseline's verdict on the same conversation
    tool_use = forced["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["input"]["score"] == pytest.approx(shipped.score(conversation), abs=1e-4)
    expected = "1" if tool_use["input"]["suspicious"] else "0"
    assert plain["output"]["message"]["content"][0]["text"] == expected


def test_score_reads_the_messages_in_time_order(shipped: BaselineModel) -> None:
    # GIVEN the demo messages handed over newest first, with their real timestamps
    start = datetime(2024, 3, 2, 9, 15, tzinfo=UTC)
    newest_first = [
        Message(conversation_id="c", timestamp=start.replace(minute=15 + 6 * i), sender=s, text=t)
        for i, (s, t) in reversed(list(enumerate(DEMO)))
    ]
    in_order = conversation_from_dict(
        {"id": "c", "messages": [{"sender": s, "text": t} for s, t in DEMO]}
    )
    # WHEN the conversation is built from them
    rebuilt = type(in_order)(id="c", messages=tuple(newest_first))
    # THEN the score is that of the chronological conversation
    assert rebuilt.messages[0].sender == "buyer"
    assert shipped.score(rebuilt) == shipped.score(in_order)
