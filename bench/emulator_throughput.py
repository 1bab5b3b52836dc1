"""Bedrock emulator throughput under a quota.

Configures rpm=6000 with 50 ms latency and overdrives it from plain boto3 clients
(one per thread, no retries) for ~20 s (quick: ~5 s). Served calls (200s) over
the run, as a fraction of the quota rate, should be at least 0.95: the emulator,
not the HTTP server, must be what limits throughput. Throttled calls count as
not served; a throttled thread pauses 10 ms, as any client would.

The quota uses a 1-second sliding window (limit 6000 * 1/60 = 100 per window) so
that a 20 s run measures the steady state; with Bedrock's 60 s window, a run
shorter than a minute could serve a whole minute's quota in a burst.

The emulator runs in a process of its own (bench/emulator_process.py), so the
16 client threads do not share its interpreter lock.
"""

from __future__ import annotations

import statistics
import threading
import time
from typing import Any

from botocore.exceptions import ClientError

from bench.emulator_process import EmulatorProcess

RPM = 6000
LATENCY_MS = 50.0
THREADS = 16
WINDOW_S = 1.0
MODEL = "amazon.nova-micro-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "Is 'send the deposit first' a scam?"}]}]


def _drive(
    client: Any, stop_at: float, served: list[float], throttled: list[int], other: list[str]
) -> None:
    """Call converse until `stop_at`, recording served call latencies."""
    while time.monotonic() < stop_at:
        started = time.monotonic()
        try:
            client.converse(modelId=MODEL, messages=MESSAGES, inferenceConfig={"maxTokens": 5})
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "ThrottlingException":
                throttled.append(1)
                time.sleep(0.01)
            else:
                other.append(code)
            continue
        if time.monotonic() <= stop_at:
            served.append(time.monotonic() - started)


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    """Served throughput as a fraction of the rpm quota, and call latency overhead."""
    duration = 5.0 if quick else 20.0
    faults: dict[str, Any] = {
        "rpm": RPM,
        "latency_ms": LATENCY_MS,
        "quota_window_s": WINDOW_S,
        "seed": 0,
    }
    with EmulatorProcess(**faults) as emulator:
        clients = [
            emulator.client(retries={"mode": "standard", "total_max_attempts": 1})
            for _ in range(THREADS)
        ]
        for client in clients:  # open the connections before the clock starts
            client.converse(modelId="warmup", messages=MESSAGES)
        emulator.reset()
        served: list[float] = []
        throttled: list[int] = []
        other: list[str] = []
        started = time.monotonic()
        stop_at = started + duration
        threads = [
            threading.Thread(target=_drive, args=(c, stop_at, served, throttled, other))
            for c in clients
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = min(time.monotonic(), stop_at) - started
    quota_rate = RPM / 60.0
    fraction = len(served) / (quota_rate * elapsed)
    p50_ms = statistics.median(served) * 1000 if served else float("nan")
    context = (
        f"served {len(served)} in {elapsed:.1f} s = {len(served) / elapsed * 60:.0f}/min "
        f"vs rpm {RPM}; {THREADS} threads, {LATENCY_MS:.0f} ms latency, "
        f"{WINDOW_S:.0f} s window; {len(throttled)} throttled, {len(other)} other errors; "
        "emulator in its own process; target ≥ 0.95"
    )
    return [
        ("served_fraction_of_rpm", fraction, context),
        (
            "served_p50_latency / emulated_latency",
            p50_ms / LATENCY_MS,
            f"p50 {p50_ms:.1f} ms for {LATENCY_MS:.0f} ms emulated",
        ),
    ]


if __name__ == "__main__":
    import sys

    for name, value, context in run(quick="--quick" in sys.argv[1:]):
        print(f"emulator_throughput.{name} = {value:.4g}  ({context})", flush=True)
