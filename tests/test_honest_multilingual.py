"""Honest people in any language are not flagged by `local:baseline` (issue 18): the
artifact is trained with honest multilingual conversations from templates disjoint
from the held-out ones it is measured on, and the obfuscation rule forces a flag only
for a disguised message, not for a few disguised characters in an honest one."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from bench.honest_fp import load
from pipeline.baseline.dataset import file_sha256
from pipeline.conversation import conversation_from_dict
from pipeline.evaluation.attacks import attack
from pipeline.models.local import BaselineModel, obfuscation
from tests.conftest import REPO

MODEL = BaselineModel()
CORPUS = REPO / "evals/datasets/honest-multilingual.jsonl"
TRAINING = REPO / "evals/datasets/honest-multilingual-train.jsonl"


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("honest_corpus", REPO / "tools/honest_corpus.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _conversation(turns: list[tuple[str, str]]) -> dict:
    return {"id": "c-honest", "messages": [{"sender": s, "text": t} for s, t in turns]}


def _flagged(turns: list[tuple[str, str]]) -> bool:
    return MODEL.score(conversation_from_dict(_conversation(turns))) >= MODEL.threshold


# -- the split: by template, recorded, reproducible --------------------------------------


def test_the_training_corpus_shares_no_template_with_the_held_out_conversations() -> None:
    evaluation, training = _rows(CORPUS), _rows(TRAINING)
    held_out = {row["template"] for row in evaluation if row["held_out"]}
    trained = {row["template"] for row in training}
    assert len(held_out) == 35 and len(trained) == 35
    assert not held_out & trained
    # every language has templates on both sides
    assert {t.split("-")[0] for t in held_out} == {t.split("-")[0] for t in trained}
    assert {row["split"] for row in training} == {"train"}
    assert {row["label"] for row in training} == {0}
    # no training conversation is a copy of a held-out one
    texts = {tuple(m["text"] for m in row["messages"]) for row in evaluation if row["held_out"]}
    assert not any(tuple(m["text"] for m in row["messages"]) in texts for row in training)


def test_the_generator_writes_both_files_as_they_are() -> None:
    generator = _generator()
    for rows, path in (
        (generator.conversations(), CORPUS),
        (generator.training_conversations(), TRAINING),
    ):
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        assert text == path.read_text(encoding="utf-8"), path.name


def test_the_shipped_artifact_was_trained_on_the_current_honest_corpus() -> None:
    also = MODEL.artifact.meta["training"]["also"]
    assert also == [
        {
            "dataset": "evals/datasets/honest-multilingual-train.jsonl",
            "dataset_sha256": file_sha256(TRAINING),
        }
    ]


# -- the figures, as regression tests ------------------------------------------------------


def test_held_out_honest_conversations_are_mostly_left_alone() -> None:
    held = load(CORPUS, held_out=True)
    assert len(held) == 96
    flagged = Counter(lang for lang, c in held if MODEL.score(c) >= MODEL.threshold)
    # 5 of 96 (5.2%: French 2, Italian 3); the artifact before flagged 19 (de, el, es,
    # fr, it). The 3% target is not met: see RELIABILITY.md.
    assert sum(flagged.values()) <= 5, flagged
    assert set(flagged) <= {"fr", "it"}, flagged


# Written for this test (no corpus template): names in other scripts, postage in € and £.
NAMES = {
    "russian": [
        ("buyer", "Hi Ольга, is the desk lamp still for sale?"),
        ("seller", "Hi! Yes, still here. You can pick it up Thursday evening."),
        ("buyer", "Thursday after 6 is fine, thanks Ольга."),
    ],
    "greek": [
        ("buyer", "Hello Γιώργος, does the guitar come with a case?"),
        ("seller", "Yes, a soft case and a spare set of strings."),
        ("buyer", "Lovely, I'll collect it Saturday morning."),
    ],
    "arabic": [
        ("buyer", "Hi, I'm يوسف, is the bike helmet still available?"),
        ("seller", "Hi يوسف, yes it is, you can try it on when you come."),
        ("buyer", "Great, I'll drop by tomorrow afternoon."),
    ],
}
POSTAGE = {
    "pounds": [
        ("buyer", "Could you send the jumper by post? I'm in Leeds."),
        ("seller", "Yes, second class is £2.70, I'll add it to the order."),
        ("buyer", "Paid through the app with postage, thank you!"),
    ],
    "euros": [
        ("buyer", "Hi, do you post to Belgium?"),
        ("seller", "Yes, tracked postage is €6.90."),
        ("buyer", "Great, I've just paid through checkout."),
    ],
    # These two scored 0.51 and 0.47 on the artifact before (threshold 0.36).
    "euros_fr": [
        ("buyer", "Bonjour, vous envoyez en Belgique ?"),
        ("seller", "Oui, l'envoi suivi coûte 6,90 €."),
        ("buyer", "Parfait, je viens de payer sur le site."),
        ("seller", "Merci, je l'envoie demain."),
    ],
    "euros_de": [
        ("buyer", "Hallo, verschicken Sie auch nach Österreich?"),
        ("seller", "Ja, Versand mit Sendungsverfolgung kostet 7,49 €."),
        ("buyer", "Super, habe eben über die App bezahlt."),
        ("seller", "Danke, geht morgen raus."),
    ],
}


@pytest.mark.parametrize("case", sorted(NAMES))
def test_names_in_other_scripts_are_neither_counted_nor_flagged(case: str) -> None:
    turns = NAMES[case]
    assert obfuscation(turns) == 0
    assert not _flagged(turns)


@pytest.mark.parametrize("case", sorted(POSTAGE))
def test_postage_of_a_few_euros_or_pounds_is_not_flagged(case: str) -> None:
    assert not _flagged(POSTAGE[case])


def test_the_same_postage_with_a_payment_request_off_the_platform_is_flagged() -> None:
    # the control: the classifier still reads a scam written in the same words
    scam = [
        *POSTAGE["euros_fr"][:2],
        ("seller", "Pour l'envoi, envoyez d'abord 6,90 € par virement ou Western Union."),
        ("seller", "Écris moi sur WhatsApp, c'est urgent, d'autres personnes sont intéressées."),
    ]
    assert _flagged(scam)


# -- the obfuscation rule on honest conversations -------------------------------------------


# Flags added on the 96 held-out conversations; before (every conversation with three
# disguising characters forced to the threshold) the same artifact added 16, 15 and 11.
# The invisible strategy's 9 are tracking numbers with a hidden character between their
# digits, a disguised message by the rule's measure (see RELIABILITY.md).
ADDED_AT_MOST = {"invisible": 9, "lookalike": 2, "leetspeak": 2}


@pytest.mark.parametrize("strategy", sorted(ADDED_AT_MOST))
def test_the_suites_attacks_on_held_out_honest_conversations_cost_few_flags(
    strategy: str,
) -> None:
    held = [c for _, c in load(CORPUS, held_out=True)]
    plain = sum(MODEL.score(c) >= MODEL.threshold for c in held)
    attacked = sum(MODEL.score(attack(c, strategy)) >= MODEL.threshold for c in held)
    assert attacked - plain <= ADDED_AT_MOST[strategy], (strategy, plain, attacked)
