"""The companion under a slow model: how often the child hears the fallback.

Every turn runs `pipeline.assistant.reply` against Bedrock's wire protocol served by
the emulator, whose latency profile draws each call's whole latency from a log-normal
with p50 2 s and p95 7 s (`LatencyProfile`); streamed answers send their first words
after `first_token_share` of it and the rest spread over the remainder. The canned
companion answers (pipeline/emulator/companion.py) over a fixed list of child turns;
the shipped guardrail policy checks the words and the answers (ApplyGuardrail on
loopback). Settings as deployed: a 5 s model deadline, 0.5 s kept for the guardrail.

Side by side, same seed for the latency draws: before (streaming off: the whole
answer or the fallback) and after (ConverseStream: at the deadline, the complete and
screened sentences already written). Reported: the share of turns answered by the
fallback, the reduction, words spoken that did not pass the screen and guardrail
(0 by construction: counted by re-screening every spoken answer), and the slowest
turn against Alexa's 8 s. Turns run 24 at a time (the emulator sleeps, it does not
compute). Each first-token share is a separate run: 0.3 (a model that writes slowly)
and 0.6 (one that waits long before its first word).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pipeline.assistant import BedrockGuardrail, Companion, SessionInfo, reply
from pipeline.emulator import BedrockEmulator, FaultConfig
from pipeline.emulator.companion import canned_companion
from pipeline.emulator.guardrail import assess
from pipeline.emulator.latency import LatencyProfile
from pipeline.guardrail_policy import load_policy
from pipeline.history import SqliteHistory
from pipeline.models.bedrock import BedrockModel
from pipeline.prompts import open_prompt_store
from pipeline.screen import screen_output
from pipeline.settings import REPO_ROOT

MODEL_ID = "anthropic.claude-3-haiku-20240307-v1:0"
GUARDRAIL_ID = "childsafety"
DEADLINE_S = 5.0  # PARLEY_MODEL_DEADLINE_S in template.yaml
ALEXA_S = 8.0
TURNS = (
    "can i have a biscuit", "can i have a cup of coffee", "i want a new toy",
    "can i watch cartoons", "i dont want to go to bed", "i love dinosaurs",
    "can i have some chocolate", "tell me about lions", "i fell down and it hurts",
    "can i play with the matches", "my cat is called mittens", "what is your favourite animal",
    "can i stay up late", "i want ice cream", "can we play a game", "i saw a big dog",
)  # fmt: skip
FALLBACK = frozenset({"deadline", "throttled", "model_error"})


def _companion(emulator: BedrockEmulator, *, stream: bool) -> Companion:
    client = emulator.client(
        retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=64
    )
    guardrail = BedrockGuardrail(emulator.client(max_pool_connections=64), GUARDRAIL_ID, "1")
    return Companion(
        model=BedrockModel(MODEL_ID, client=client),
        template=open_prompt_store(str(REPO_ROOT / "prompts")).get("companion@2"),
        history=SqliteHistory(),
        deadline_s=DEADLINE_S,
        guardrail=guardrail,
        input_guardrail=guardrail.check_input,
        stream=stream,
        max_calls_per_session=10_000,
    )


def _run(turns: int, share: float, *, stream: bool, seed: int) -> dict[str, Any]:
    policy = load_policy()
    profile = LatencyProfile(2.0, 7.0, share)
    faults = FaultConfig(seed=seed)  # the same latency draws for both modes
    with BedrockEmulator(
        canned_companion, faults, guardrails={GUARDRAIL_ID: policy}, latency=profile
    ) as emulator:
        companion = _companion(emulator, stream=stream)

        def one(i: int) -> Any:
            return reply(SessionInfo(f"bench-{i}"), TURNS[i % len(TURNS)], companion)

        with ThreadPoolExecutor(24) as pool:
            replies = list(pool.map(one, range(turns)))
    spoken = [r for r in replies if r.answered]
    unscreened = sum(
        1
        for r in spoken
        if not screen_output(r.text).ok or assess(policy, r.text, "OUTPUT")["action"] != "NONE"
    )
    return {
        "fallback": sum(r.status in FALLBACK for r in replies) / len(replies),
        "partial": sum(r.status == "partial" for r in replies) / len(replies),
        "unscreened": unscreened,
        "slowest_s": max(r.total_ms for r in replies) / 1000,
    }


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    turns = 96 if quick else 400
    rows: list[tuple[str, float, str]] = []
    for share in (0.3, 0.6):
        before = _run(turns, share, stream=False, seed=7)
        after = _run(turns, share, stream=True, seed=7)
        cut = 1 - after["fallback"] / before["fallback"] if before["fallback"] else 0.0
        tag = f"first_token_share={share}"
        rows += [
            (f"fallback share before ({tag})", before["fallback"], f"{turns} turns"),
            (f"fallback share after ({tag})", after["fallback"],
             f"partial answers {after['partial']:.3f}"),
            (f"fallback reduction ({tag})", cut, "target >= 0.80"),
            (f"unscreened answers spoken ({tag})", after["unscreened"] + before["unscreened"],
             "target 0"),
            (f"slowest turn s ({tag})", max(before["slowest_s"], after["slowest_s"]),
             f"Alexa waits {ALEXA_S:g} s"),
        ]  # fmt: skip
    return rows
