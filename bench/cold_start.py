"""Cold start, the whole of it: a fresh process that imports a Lambda handler, builds
it and serves its first request, against a fresh process that imports boto3 and
creates one client.

Each candidate is a fresh interpreter (`python -c ...`) timed by this process from
spawn to exit, interleaved round by round so that the machine's noise hits every
candidate alike; each child reports its own peak resident memory. The handlers run
configured as deployed: history, verdicts and events on moto's server (DynamoDB,
EventBridge) and the model `bedrock:amazon.nova-micro-v1:0` on the Bedrock emulator
with zero latency, both in processes of their own. The stream child serves one
DynamoDB Streams batch of three INSERTs of a conversation never judged before (so
the model is called); the skill child serves one ChatIntent request.

Figures (median of 11 rounds; quick: 5):
- stream_first_batch_vs_boto3, skill_first_request_vs_boto3: whole start / the
  boto3 child (target <= 2.5)
- *_import_vs_boto3: the import alone, the definition used up to 2026-11-29
- peak memory of each child, in MiB (reported)
- *_instructions_vs_boto3 (full run only, where valgrind is installed): the same
  ratios in instructions counted by callgrind, one run each with a fixed hash seed.
  Instruction counts do not move with the machine's load, so they confirm the
  wall-clock ratios on a busy machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

MODEL = "amazon.nova-micro-v1:0"
SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
TABLES = {"history": "cold-messages", "verdicts": "cold-verdicts"}
BUS = "cold-bus"
FIXTURE = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "alexa" / "intent-chat.json"
)

# Peak resident memory of this process image: VmHWM resets at exec, while getrusage's
# ru_maxrss keeps the forking parent's peak on Linux.
_PEAK = (
    "\nimport re; from pathlib import Path\n"
    "print(re.search(r'VmHWM:\\s+(\\d+)', Path('/proc/self/status').read_text()).group(1))\n"
)

BOTO3 = (
    "import boto3\n"
    "boto3.client('bedrock-runtime', region_name='us-east-1',"
    " endpoint_url='http://127.0.0.1:9')\n"
)
STREAM_IMPORT = "import pipeline.stream\n"
SKILL_IMPORT = "import skill.handler\n"
STREAM_FIRST = (
    "import json, sys\n"
    "import pipeline.stream as job\n"
    "response = job.lambda_handler(json.loads(sys.argv[1]), None)\n"
    "assert response == {'batchItemFailures': []}, response\n"
)
SKILL_FIRST = (
    "import json, sys\n"
    "import skill.handler as skill\n"
    "response = skill.lambda_handler(json.loads(sys.argv[1]), None)\n"
    "assert response['response']['outputSpeech'], response\n"
)


def stream_event(conversation: str) -> dict[str, Any]:
    """A batch of three INSERTs of one conversation (its messages are in the table)."""
    from bench.stream_throughput import stream_record

    return {"Records": [stream_record(m, i) for i, m in enumerate(messages(conversation), 1)]}


def messages(conversation: str) -> list[Any]:
    from datetime import UTC, datetime, timedelta

    from pipeline.conversation import Message

    start = datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    lines = [
        ("buyer", "I am interested in your house, can we fix a visit?"),
        ("seller", "Sure, this weekend works."),
        ("seller", "Send me a 5000 dollar deposit before the visit"),
    ]
    return [
        Message(
            conversation_id=conversation, timestamp=start + timedelta(minutes=i), sender=s, text=t
        )
        for i, (s, t) in enumerate(lines)
    ]


def skill_event(session: str) -> dict[str, Any]:
    event = json.loads(FIXTURE.read_text(encoding="utf-8"))
    event["session"]["sessionId"] = session
    event["request"]["requestId"] = f"amzn1.echo-api.request.{session}"
    return event


class Services:
    """moto's server (DynamoDB, EventBridge) and the emulator, outside the measured children."""

    def __init__(self) -> None:
        import logging

        import boto3
        from moto.server import ThreadedMotoServer

        from bench.emulator_process import EmulatorProcess
        from pipeline.history import create_conversations_table
        from pipeline.sinks import create_verdicts_table

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request log
        self.moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.moto.start()
        host, port = self.moto.get_host_and_port()
        self.aws_url = f"http://{host}:{port}"
        self.emulator = EmulatorProcess("default")
        options = {
            "endpoint_url": self.aws_url,
            "region_name": "us-east-1",
            "aws_access_key_id": "bench",
            "aws_secret_access_key": "bench",
        }
        self.dynamodb = boto3.client("dynamodb", **options)
        create_conversations_table(self.dynamodb, TABLES["history"])
        create_verdicts_table(self.dynamodb, TABLES["verdicts"])
        boto3.client("events", **options).create_event_bus(Name=BUS)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "AWS_"))}
        env.update(
            {
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
                "PARLEY_MODEL": f"bedrock:{MODEL}",
                "PARLEY_SKILL_MODEL": f"bedrock:{MODEL}",
                "PARLEY_BEDROCK_ENDPOINT_URL": self.emulator.endpoint_url,
                "PARLEY_AWS_ENDPOINT_URL": self.aws_url,
                "PARLEY_HISTORY": f"dynamodb:{TABLES['history']}",
                "PARLEY_VERDICTS_TABLE": TABLES["verdicts"],
                "PARLEY_EVENT_BUS": BUS,
                "PARLEY_SKILL_ID": SKILL_ID,
                "POWERTOOLS_METRICS_NAMESPACE": "parley-bench",
                "POWERTOOLS_LOG_LEVEL": "ERROR",
            }
        )
        return env

    def new_conversation(self) -> str:
        """A conversation never judged before, stored as the marketplace would."""
        from pipeline.history import DynamoHistory

        conversation = f"cold-{uuid.uuid4().hex[:12]}"
        history = DynamoHistory(TABLES["history"], client=self.dynamodb)
        for message in messages(conversation):
            history.append(message)
        return conversation

    def stop(self) -> None:
        self.emulator.stop()
        self.moto.stop()


def _child(code: str, env: dict[str, str], *args: str) -> tuple[float, float]:
    """(wall seconds from spawn to exit, peak resident MiB) of one fresh interpreter."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + _PEAK, *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"cold-start child failed: {tail}")
    peak_kib = int(done.stdout.strip().splitlines()[-1])
    return seconds, peak_kib / 1024


def _instructions(code: str, env: dict[str, str], *args: str) -> int:
    """Instructions a fresh interpreter executes, counted by callgrind."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            "-c",
            code,
            *args,
        ],
        env={**env, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or found is None:
        raise RuntimeError("callgrind run failed")
    return int(found.group(1))


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    rounds = 5 if quick else 11
    services = Services()
    try:
        env = services.environment()
        candidates: dict[str, Any] = {
            "boto3": lambda: (BOTO3,),
            "stream_import": lambda: (STREAM_IMPORT,),
            "skill_import": lambda: (SKILL_IMPORT,),
            "stream_first_batch": lambda: (
                STREAM_FIRST,
                json.dumps(stream_event(services.new_conversation())),
            ),
            "skill_first_request": lambda: (
                SKILL_FIRST,
                json.dumps(skill_event(f"amzn1.echo-api.session.{uuid.uuid4().hex}")),
            ),
        }
        samples: dict[str, list[tuple[float, float]]] = {name: [] for name in candidates}
        for make in candidates.values():  # warm the file system cache; not counted
            code, *args = make()
            _child(code, env, *args)
        for _ in range(rounds):
            for name, make in candidates.items():
                code, *args = make()
                samples[name].append(_child(code, env, *args))
        counted: dict[str, int] = {}
        if not quick and shutil.which("valgrind"):
            for name in ("boto3", "stream_first_batch", "skill_first_request"):
                code, *args = candidates[name]()
                counted[name] = _instructions(code, env, *args)
    finally:
        services.stop()
    seconds = {n: statistics.median(s for s, _ in v) for n, v in samples.items()}
    peaks = {n: statistics.median(m for _, m in v) for n, v in samples.items()}
    base = seconds["boto3"]
    rows = [
        (
            "boto3_s",
            base,
            f"import boto3 + one client; median of {rounds} fresh interpreters; "
            f"peak {peaks['boto3']:.0f} MiB; context only",
        )
    ]
    for name in ("stream_first_batch", "skill_first_request", "stream_import", "skill_import"):
        target = "target <= 2.5" if name.endswith(("batch", "request")) else "import only"
        rows.append(
            (
                f"{name}_vs_boto3",
                seconds[name] / base,
                f"{seconds[name]:.3f} s vs {base:.3f} s; {target}",
            )
        )
    for name in ("boto3", "stream_first_batch", "skill_first_request"):
        rows.append((f"{name}_peak_mib", peaks[name], "peak resident memory of the child"))
    for name in ("stream_first_batch", "skill_first_request"):
        if name in counted:
            rows.append(
                (
                    f"{name}_instructions_vs_boto3",
                    counted[name] / counted["boto3"],
                    f"{counted[name] / 1e6:.0f}M vs {counted['boto3'] / 1e6:.0f}M instructions "
                    "(callgrind); target <= 2.5",
                )
            )
    return rows


if __name__ == "__main__":
    for figure, value, context in run(quick="--quick" in sys.argv[1:]):
        print(f"cold_start.{figure} = {value:.4g}  ({context})", flush=True)
