"""Alexa handler overhead without model time, next to one emulated model call at 1 s.

Runs a ChatIntent envelope through `handle_event` (deserialise, skill-id check,
dispatch, history read, prompt render, deadline thread, screen, two history writes,
serialise) with an instant in-process model, and side by side with Bedrock's wire
protocol served by the emulator at 1 s latency. Target: overhead at most 5% of the
1 s call.
"""

from __future__ import annotations

import copy
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from pipeline.emulator import BedrockEmulator, FaultConfig, ScriptedResponder
from pipeline.history import SqliteHistory
from pipeline.models import ModelResult
from pipeline.settings import REPO_ROOT, get_settings
from skill.handler import build_skill, handle_event, logger

ANSWER = "Coffee is a grown-up drink! How about a warm cup of milk after lunch?"
EMULATED_CALL_MS = 1000.0
ENVELOPE = REPO_ROOT / "tests" / "fixtures" / "alexa" / "intent-chat.json"
MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"


class InstantModel:
    """Answers at once: what remains of a turn's time is the handler's own."""

    model_id = "instant"

    def generate(self, prompt: Any, *, schema: Any = None, deadline_s: Any = None) -> ModelResult:
        return ModelResult(model_id=self.model_id, text=ANSWER, output_tokens=20)


def _turns_ms(skill: Any, repeats: int) -> list[float]:
    template = json.loads(ENVELOPE.read_text(encoding="utf-8"))
    samples = []
    for i in range(repeats):
        event = copy.deepcopy(template)
        event["session"]["sessionId"] = f"amzn1.echo-api.session.bench-{i % 30}"
        started = time.perf_counter()
        handle_event(skill, event)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    logger.setLevel("WARNING")  # one JSON line per request would measure the terminal
    settings = get_settings().model_copy(update={"model_deadline_s": 6.0})
    with tempfile.TemporaryDirectory() as tmp:
        history = SqliteHistory(Path(tmp) / "skill.db")
        instant = build_skill(model=InstantModel(), history=history, settings=settings)
        _turns_ms(instant, 20)  # warm-up: imports, SQLite pages, SDK caches
        overhead = statistics.median(_turns_ms(instant, 200 if quick else 1000))

        faults = FaultConfig(latency_ms=EMULATED_CALL_MS)
        with BedrockEmulator(ScriptedResponder(fallback=ANSWER), faults) as emulator:
            from pipeline.models.bedrock import BedrockModel

            client = emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
            model = BedrockModel(MODEL_ID, client=client)
            emulated = build_skill(model=model, history=history, settings=settings)
            _turns_ms(emulated, 1)
            with_call = statistics.median(_turns_ms(emulated, 3 if quick else 8))
            emulator.configure(latency_ms=0.0)
            wire = statistics.median(_turns_ms(emulated, 20 if quick else 100))
        history.close()
    fraction = overhead / with_call
    return [
        ("handler_overhead_ms", overhead, "median handler time with an instant model"),
        ("turn_with_1s_call_ms", with_call, "median handler time, emulated model at 1 s"),
        ("overhead_fraction", fraction, "overhead / turn with a 1 s call; target <= 0.05"),
        ("turn_with_0ms_emulator_ms", wire, "context: HTTP round trip to the emulator at 0 ms"),
    ]


if __name__ == "__main__":
    for name, value, context in run(quick=True):
        print(f"{name} = {value:.4g}  ({context})")
