"""False positives of `local:baseline` on honest multilingual conversations.

evals/datasets/honest-multilingual.jsonl: honest marketplace conversations in eleven
languages with the Unicode people type (flags, keycaps, right-to-left marks, soft
hyphens, a BOM, pasted zero-width spaces, Russian and Greek names) and legitimate
payment talk (a deposit paid through the platform, a rental deposit returned, postage).
Figures: the share flagged (target at most 3%), the share flagged by the calibrated
probability alone (without the obfuscation rule), and the share in which any
character was counted as obfuscation (should be 0). Then the evasion suite's
character-level strategies (`pipeline.evaluation.attacks`) applied to the same honest
conversations: the share flagged after each (the false-positive cost of a family).
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


def load(path: Path = CORPUS) -> list[tuple[str, Conversation]]:
    """(language, conversation) for every line of the corpus."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(row["lang"], conversation_from_dict(row)) for row in rows]


def run(quick: bool = False, path: Path = CORPUS) -> list[tuple[str, float, str]]:
    model = BaselineModel()
    corpus = load(path)
    if quick:
        corpus = corpus[::4]
    flagged = by_probability = counted = 0
    per_language: Counter[str] = Counter()
    for lang, conversation in corpus:
        turns = [(m.sender, m.text) for m in conversation.messages]
        if model.score(conversation) >= model.threshold:
            flagged += 1
            per_language[lang] += 1
        by_probability += model.artifact.probability(turns) >= model.threshold
        counted += obfuscation(turns) > 0
    n = len(corpus)
    where = ", ".join(f"{lang} {k}" for lang, k in sorted(per_language.items())) or "none"
    return [
        ("fp_rate", flagged / n, f"{flagged}/{n} honest conversations flagged ({where})"),
        (
            "fp_rate_probability",
            by_probability / n,
            f"{by_probability}/{n} by the calibrated probability alone",
        ),
        ("obfuscation_counted", counted / n, f"{counted}/{n} with any character counted"),
        *(_attacked(model, corpus, name) for name in STRATEGIES),
    ]


def _attacked(
    model: BaselineModel, corpus: list[tuple[str, Conversation]], name: str
) -> tuple[str, float, str]:
    flagged = sum(model.score(attack(c, name)) >= model.threshold for _, c in corpus)
    return (
        f"{name}_fp_rate",
        flagged / len(corpus),
        f"{flagged}/{len(corpus)} flagged after the suite's {name} strategy",
    )
