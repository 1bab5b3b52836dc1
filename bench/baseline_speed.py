"""Speed of the local baseline: scoring a 10-message conversation, and loading it.

Target: scoring costs under 1/100 of one emulated Bedrock call (200 ms). Scoring is
timed warm (the per-word hash cache filled, as in a warm Lambda) and cold (caches
cleared before every run: every word seen for the first time).
"""

from __future__ import annotations

import statistics
import time

from pipeline.baseline import features
from pipeline.baseline.artifact import DEFAULT_ARTIFACT, load_artifact
from pipeline.conversation import conversation_from_dict
from pipeline.models.local import BaselineModel

EMULATED_CALL_MS = 200.0
TEXTS = (
    "Hi, is the mountain bike still available? I saw the listing this morning.",
    "Yes it is, barely used, new tyres and brakes last month.",
    "Great. Would you take 250 for it? I can pay through the site checkout.",
    "I can do 280, it is a good price for this model.",
    "OK, 280 is fine. When could I come and see it?",
    "Saturday morning works, I am near the central station.",
    "Perfect. Can you send me a few more photos of the frame first?",
    "Sure, I will send them tonight. Please pay the 50 dollar deposit by Zelle to hold it.",
    "Why not through the platform? I prefer the buyer protection.",
    "Other buyers are waiting, pay in the next 10 minutes or I sell it.",
)


def _conversation():  # type: ignore[no-untyped-def]
    return conversation_from_dict(
        {
            "id": "bench",
            "messages": [
                {"sender": "buyer" if i % 2 == 0 else "seller", "text": t}
                for i, t in enumerate(TEXTS)
            ],
        }
    )


def _median_ms(func, repeats: int, before=None) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        if before is not None:
            before()
        started = time.perf_counter()
        func()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _clear_caches() -> None:
    features._hashed.cache_clear()
    features._token_keys.cache_clear()


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    repeats = 200 if quick else 2000
    conversation = _conversation()
    model = BaselineModel()
    model.score(conversation)  # warm up
    warm = _median_ms(lambda: model.score(conversation), repeats)
    cold = _median_ms(lambda: model.score(conversation), repeats // 4, before=_clear_caches)

    def load() -> None:
        load_artifact.cache_clear()
        load_artifact(DEFAULT_ARTIFACT)

    load_ms = _median_ms(load, 5 if quick else 20)
    size_kib = DEFAULT_ARTIFACT.stat().st_size / 1024
    return [
        (
            "score_warm_vs_call",
            warm / EMULATED_CALL_MS,
            f"{warm:.3f} ms median, 10 messages, vs {EMULATED_CALL_MS:.0f} ms; target < 0.01",
        ),
        (
            "score_cold_vs_call",
            cold / EMULATED_CALL_MS,
            f"{cold:.3f} ms median with hash caches cleared before each run",
        ),
        ("artifact_load_ms", load_ms, f"median load of {size_kib:.0f} KiB artifact (context)"),
    ]
