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

Bytecode: Lambda's code directory is read-only and `sam build` ships no `__pycache__`
(its Python builder unpacks the dependencies' wheels without compiling them), so a
deployed function compiles every module it imports at each cold start unless the build
ships the .pyc files (tools/build_lambda.py --bytecode). The `*_no_bytecode` children
run, with PYTHONDONTWRITEBYTECODE=1, from a read-only copy of parley's code and of the
Lambda dependencies (lambda-requirements.txt and what they require, copied from this
environment) with no `__pycache__`; the `*_shipped_bytecode` children from the same
copy compiled as the build step compiles it. The other children run from the checkout
and this environment as they are (the definition before 2026-12-06); whether those
have bytecode depends on the machine (PYTHONDONTWRITEBYTECODE).

Figures (median of 11 rounds; quick: 5):
- stream_first_batch_vs_boto3, skill_first_request_vs_boto3: whole start / the
  boto3 child (target <= 2.5)
- *_import_vs_boto3: the import alone, the definition used up to 2026-11-29
- peak memory of each child, in MiB (reported)
- *_instructions_vs_boto3 (full run only, where valgrind is installed): the same
  ratios in instructions counted by callgrind, one run each with a fixed hash seed.
  Instruction counts do not move with the machine's load, so they confirm the
  wall-clock ratios on a busy machine.
- *_restored_*: what SnapStart leaves to a restored environment. The child runs
  the before-snapshot hook (`snapstart.before_snapshot`), then times the
  after-restore hook and the first request in-process (`restored_ms`, reported
  against the whole start of the same handler); with callgrind, the instructions of
  a child that primes, restores and serves minus those of a child that only primes,
  against the boto3 child.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
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
# After the before-snapshot hook: time the after-restore hook and the first request.
# With "--prime-only" the child stops after the hook (the callgrind difference).
_RESTORED = (
    "import json, sys, time\n"
    "from pipeline import snapstart\n"
    "{setup}\n"
    "snapstart.before_snapshot(prime)\n"
    "if sys.argv[2:] != ['--prime-only']:\n"
    "    started = time.perf_counter()\n"
    "    snapstart.after_restore(rebuild)\n"
    "    response = serve(json.loads(sys.argv[1]))\n"
    "    print(f'restored_ms={{(time.perf_counter() - started) * 1000:.3f}}')\n"
)
STREAM_RESTORED = _RESTORED.format(
    setup="import pipeline.stream as job\n"
    "prime, rebuild = job.lambda_handler.prime, job.lambda_handler.rebuild\n"
    "def serve(event):\n"
    "    response = job.lambda_handler(event, None)\n"
    "    assert response == {'batchItemFailures': []}, response"
)
SKILL_RESTORED = _RESTORED.format(
    setup="import skill.handler as skill\n"
    "prime, rebuild = skill.prime_skill, skill.rebuild_skill\n"
    "def serve(event):\n"
    "    response = skill.lambda_handler(event, None)\n"
    "    assert response['response']['outputSpeech'], response"
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


CODE_DIRS = ("pipeline", "skill", "review", "prompts")


def dependency_files() -> list[tuple[Path, Path]]:
    """(source, relative path) of every file of the Lambda dependencies and what they
    require, as installed here, without bytecode."""
    from importlib import metadata

    root = Path(__file__).resolve().parent.parent
    lines = (root / "lambda-requirements.txt").read_text().splitlines()
    todo = [re.split(r"[=<>~!;\[ ]", line.strip())[0] for line in lines]
    todo = [name for name in todo if name and not name.startswith("#")]
    seen: set[str] = set()
    files: list[tuple[Path, Path]] = []
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        for entry in dist.files or []:
            relative = Path(str(entry))
            if ".." in relative.parts or "__pycache__" in relative.parts:
                continue
            if relative.suffix == ".pyc":
                continue
            source = Path(str(dist.locate_file(entry)))
            if source.is_file():
                files.append((source, relative))
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                todo.append(re.split(r"[=<>~!;\[ (]", requirement.strip())[0])
    return files


def code_copy(dest: Path, *, bytecode: bool) -> Path:
    """A read-only copy of parley's code (at `dest`) and of its Lambda dependencies (at
    `dest/deps`), without bytecode or with the build step's."""
    root = Path(__file__).resolve().parent.parent
    for name in CODE_DIRS:
        shutil.copytree(root / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    for source, relative in dependency_files():
        (dest / "deps" / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dest / "deps" / relative)
    if bytecode:
        import importlib.util

        # tools/ is a script directory, not a package: load the build step from its file.
        spec = importlib.util.spec_from_file_location(
            "build_lambda", root / "tools" / "build_lambda.py"
        )
        assert spec is not None and spec.loader is not None
        build_lambda = importlib.util.module_from_spec(spec)
        sys.modules.setdefault("build_lambda", build_lambda)
        spec.loader.exec_module(build_lambda)
        version = f"{sys.version_info.major}.{sys.version_info.minor}"  # the children's
        build_lambda.compile_bytecode(dest, sys.executable, version)
    for path in dest.rglob("*"):
        path.chmod(0o555 if path.is_dir() else 0o444)
    return dest


def _writable(tree: Path) -> None:
    for path in tree.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _restored_ms(code: str, env: dict[str, str], *args: str) -> float:
    """Milliseconds from the after-restore hook to the first response, in a primed child."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, check=False
    )
    found = re.search(r"restored_ms=([0-9.]+)", done.stdout)
    if done.returncode != 0 or found is None:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"restored child failed: {tail}")
    return float(found.group(1))


def _child(
    code: str, env: dict[str, str], *args: str, cwd: Path | None = None
) -> tuple[float, float]:
    """(wall seconds from spawn to exit, peak resident MiB) of one fresh interpreter."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + _PEAK, *args],
        env=env,
        cwd=cwd,
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


def _instructions(code: str, env: dict[str, str], *args: str, cwd: Path | None = None) -> int:
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
        cwd=cwd,
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
    copies = Path(tempfile.mkdtemp(prefix="parley-cold-"))
    try:
        env = services.environment()
        cold_env = {**env, "PYTHONDONTWRITEBYTECODE": "1"}
        where = {
            "no_bytecode": code_copy(copies / "none", bytecode=False),
            "shipped_bytecode": code_copy(copies / "shipped", bytecode=True),
        }
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
        restored: dict[str, Any] = {
            "stream_restored": lambda: (STREAM_RESTORED, candidates["stream_first_batch"]()[1]),
            "skill_restored": lambda: (SKILL_RESTORED, candidates["skill_first_request"]()[1]),
        }
        # The same whole starts from the read-only copies: (candidate, copy).
        variants = {
            f"{name}_{kind}": (name, kind)
            for name in ("stream_first_batch", "skill_first_request")
            for kind in where
        }
        samples: dict[str, list[tuple[float, float]]] = {
            name: [] for name in (*candidates, *variants)
        }
        restored_ms: dict[str, list[float]] = {name: [] for name in restored}
        for make in candidates.values():  # warm the file system cache; not counted
            code, *args = make()
            _child(code, env, *args)
        for _ in range(rounds):
            for name, make in candidates.items():
                code, *args = make()
                samples[name].append(_child(code, env, *args))
            for name, (base_name, kind) in variants.items():
                code, *args = candidates[base_name]()
                env_kind = {**cold_env, "PYTHONPATH": str(where[kind] / "deps")}
                samples[name].append(_child(code, env_kind, *args, cwd=where[kind]))
            for name, make in restored.items():
                code, *args = make()
                restored_ms[name].append(_restored_ms(code, env, *args))
        counted: dict[str, int] = {}
        if not quick and shutil.which("valgrind"):
            for name in ("boto3", "stream_first_batch", "skill_first_request"):
                code, *args = candidates[name]()
                counted[name] = _instructions(code, env, *args)
            for name, (base_name, kind) in variants.items():
                code, *args = candidates[base_name]()
                env_kind = {**cold_env, "PYTHONPATH": str(where[kind] / "deps")}
                counted[name] = _instructions(code, env_kind, *args, cwd=where[kind])
            for name, make in restored.items():
                code, event = make()
                primed = _instructions(code, env, event, "--prime-only")
                counted[name] = _instructions(code, env, event) - primed
    finally:
        services.stop()
        _writable(copies)
        shutil.rmtree(copies, ignore_errors=True)
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
    first_calls = ("stream_first_batch", "skill_first_request")
    for name in (*first_calls, *variants, "stream_import", "skill_import"):
        if name.endswith("_no_bytecode"):
            target = "read-only code and deps, no bytecode, as Lambda without the build step; "
            target += "target <= 2.5"
        elif name.endswith("_shipped_bytecode"):
            target = "read-only code and deps with the build step's .pyc files; target <= 2.5"
        elif name in first_calls:
            target = "the checkout as it is (the definition before 2026-12-06)"
        else:
            target = "import only"
        rows.append(
            (
                f"{name}_vs_boto3",
                seconds[name] / base,
                f"{seconds[name]:.3f} s vs {base:.3f} s; {target}",
            )
        )
    for name in ("boto3", "stream_first_batch", "skill_first_request"):
        rows.append((f"{name}_peak_mib", peaks[name], "peak resident memory of the child"))
    for name in (*first_calls, *variants):
        if name in counted:
            rows.append(
                (
                    f"{name}_instructions_vs_boto3",
                    counted[name] / counted["boto3"],
                    f"{counted[name] / 1e6:.0f}M vs {counted['boto3'] / 1e6:.0f}M instructions "
                    "(callgrind); target <= 2.5",
                )
            )
    for name, whole in (
        ("stream_restored", "stream_first_batch"),
        ("skill_restored", "skill_first_request"),
    ):
        ms = statistics.median(restored_ms[name])
        rows.append(
            (
                f"{name}_ms",
                ms,
                f"after-restore hook + first request in a primed process; "
                f"{ms / 1000 / seconds[whole]:.0%} of the whole start ({seconds[whole]:.3f} s)",
            )
        )
        if name in counted:
            rows.append(
                (
                    f"{name}_instructions_vs_boto3",
                    counted[name] / counted["boto3"],
                    f"{counted[name] / 1e6:.0f}M vs {counted['boto3'] / 1e6:.0f}M instructions "
                    "(callgrind; primed child with restore + request minus primed only)",
                )
            )
    return rows


if __name__ == "__main__":
    for figure, value, context in run(quick="--quick" in sys.argv[1:]):
        print(f"cold_start.{figure} = {value:.4g}  ({context})", flush=True)
