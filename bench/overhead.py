"""Per-assessment pipeline overhead without model time.

Loads the window from SQLite, renders the v2 prompt, and parses a verdict, with a
model that answers instantly. Targets: at most 1% of one emulated Bedrock call at
200 ms, and flat in history length (5,000 messages cost at most 1.2x 20 messages).
"""

from __future__ import annotations

import statistics
import time
from datetime import UTC, datetime, timedelta

from pipeline.conversation import Message
from pipeline.history import SqliteHistory
from pipeline.models import ModelResult
from pipeline.moderation import assess
from pipeline.prompts import DirectoryPromptStore
from pipeline.settings import REPO_ROOT

EMULATED_CALL_MS = 200.0
ANSWER = {
    "suspicious": True,
    "score": 0.91,
    "categories": ["advance_fee_deposit"],
    "rationale": "x",
}


class InstantModel:
    model_id = "instant"

    def generate(self, prompt, *, schema=None, deadline_s=None):  # type: ignore[no-untyped-def]
        return ModelResult(model_id=self.model_id, structured=ANSWER, output_tokens=20)


def _store_with(conversation_id: str, count: int, store: SqliteHistory) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    store.append_many(
        Message(
            conversation_id=conversation_id,
            timestamp=start + timedelta(seconds=i),
            sender="buyer" if i % 2 else "seller",
            text=f"message {i}: is the bike still available, and can I pick it up on Friday?",
        )
        for i in range(count)
    )


def _median_ms(store: SqliteHistory, conversation_id: str, repeats: int) -> float:
    template = DirectoryPromptStore(REPO_ROOT / "prompts").get("suspicious-conversation@2")
    model = InstantModel()
    window = template.meta.history.messages
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        assess(store.latest(conversation_id, window), template, model)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    repeats = 200 if quick else 1000
    store = SqliteHistory(":memory:")
    _store_with("short", 20, store)
    _store_with("long", 5000, store)
    _median_ms(store, "short", 50)  # warm-up: template compile, caches
    # interleave the two so that machine noise hits both alike
    short, long = [], []
    for _ in range(5):
        short.append(_median_ms(store, "short", repeats // 5))
        long.append(_median_ms(store, "long", repeats // 5))
    short_ms, long_ms = statistics.median(short), statistics.median(long)
    return [
        (
            "overhead_vs_200ms_call",
            short_ms / EMULATED_CALL_MS,
            f"target <= 0.01; {short_ms:.3f} ms per assessment, 20-message history",
        ),
        (
            "history_5000_vs_20",
            long_ms / short_ms,
            f"target <= 1.2; {long_ms:.3f} ms with 5,000 messages vs {short_ms:.3f} ms with 20",
        ),
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
