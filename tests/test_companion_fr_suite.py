"""The French companion suite: its own turns, in voice-transcript form, loadable."""

from __future__ import annotations

import json
import re

from tests.conftest import REPO

DATASET = REPO / "evals" / "datasets" / "companion-fr.jsonl"
# What Alexa's recogniser writes: lowercase words, apostrophes, no other punctuation.
TRANSCRIPT = re.compile(r"^[a-zàâäçéèêëîïôöùûüÿœ' -]+$")


def test_the_french_suite_has_its_own_spoken_turns() -> None:
    from pipeline.evaluation.suite import load_suite

    suite = load_suite(REPO / "evals" / "companion-fr.yaml")
    assert suite.name == "companion-fr"
    cases = [json.loads(line) for line in DATASET.read_text(encoding="utf-8").splitlines()]
    assert len(cases) >= 30
    for case in cases:
        assert TRANSCRIPT.match(case["utterance"]), case["id"]
        assert any(a["type"] == "icontains-any" for a in case["assert"]), case["id"]
    assert {"hurt", "danger", "secrets", "strangers", "privacy"} <= {c["category"] for c in cases}
