"""False positives of `local:baseline` on honest multilingual conversations.

evals/datasets/honest-multilingual.jsonl: honest marketplace conversations in eleven
languages with the Unicode people type (flags, keycaps, right-to-left marks, soft
hyphens, a BOM, pasted zero-width spaces, Russian and Greek names) and legitimate
payment talk (a deposit paid through the platform, a rental deposit returned, postage).
The artifact is trained on conversations from half of the corpus's templates
(evals/datasets/honest-multilingual-train.jsonl); the false-positive figure is on the
held-out templates' conversations only (`held_out` in each row), and on the whole
corpus for comparison. Figures: the share flagged (target at most 3%), the share
flagged by the calibrated probability alone (without the obfuscation rule), and the
share in which any character was counted as obfuscation (should be 0). Then the evasion suite's
character-level strategies (`pipeline.evaluation.attacks`) applied to the same honest
conversations: the share flagged after each, and the points it adds to the plain
share (the false-positive cost of a family; target at most 2 points).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from pipeline.conversation import Conversation, conversation_from_dict
from pipeline.evaluation.attacks import attack
from pipeline.models.local import BaselineModel, obfuscation
from pipeline.settings import REPO_ROOT

CORPUS = REPO_ROOT / "evals/datasets/honest-multilingual.jsonl"
STRATEGIES = ("invisible", "soft_hyphen", "joiners", "lookalike", "spacing", "leetspeak")


def load(path: Path = CORPUS, *, held_out: bool = False) -> list[tuple[str, Conversation]]:
    """(language, conversation) for every line of the corpus (held-out templates only
    when `held_out`)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    rows = [row for row in rows if row.get("held_out") or not held_out]
    return [(row["lang"], conversation_from_dict(row)) for row in rows]


def run(quick: bool = False, path: Path = CORPUS) -> list[tuple[str, float, str]]:
    model = BaselineModel()
    corpus = load(path)
    held = load(path, held_out=True)
    if quick:
        corpus, held = corpus[::4], held[::4]
    n = len(corpus)
    flagged, per_language = _flagged(model, held)
    everywhere, _ = _flagged(model, corpus)
    by_probability = sum(
        model.artifact.probability([(m.sender, m.text) for m in c.messages]) >= model.threshold
        for _, c in held
    )
    counted = sum(obfuscation([(m.sender, m.text) for m in c.messages]) > 0 for _, c in corpus)
    where = ", ".join(f"{lang} {k}" for lang, k in sorted(per_language.items())) or "none"
    return [
        (
            "fp_rate",
            flagged / len(held),
            f"{flagged}/{len(held)} honest conversations of held-out templates flagged ({where})",
        ),
        (
            "fp_rate_probability",
            by_probability / len(held),
            f"{by_probability}/{len(held)} by the calibrated probability alone",
        ),
        (
            "fp_rate_all",
            everywhere / n,
            f"{everywhere}/{n} of the whole corpus (training templates too)",
        ),
        ("obfuscation_counted", counted / n, f"{counted}/{n} with any character counted"),
        *(_attacked(model, corpus, name, everywhere) for name in STRATEGIES),
    ]


def _flagged(
    model: BaselineModel, corpus: list[tuple[str, Conversation]]
) -> tuple[int, Counter[str]]:
    per_language: Counter[str] = Counter()
    for lang, conversation in corpus:
        if model.score(conversation) >= model.threshold:
            per_language[lang] += 1
    return sum(per_language.values()), per_language


def _attacked(
    model: BaselineModel, corpus: list[tuple[str, Conversation]], name: str, plain: int
) -> tuple[str, float, str]:
    flagged = sum(model.score(attack(c, name)) >= model.threshold for _, c in corpus)
    added = 100 * (flagged - plain) / len(corpus)
    return (
        f"{name}_fp_rate",
        flagged / len(corpus),
        f"{flagged}/{len(corpus)} flagged after the suite's {name} strategy "
        f"({added:+.1f} points over the {plain} flagged as written)",
    )
