"""Where a suite's `bedrock:` models send their calls: real Bedrock, an endpoint from
the settings (`PARLEY_BEDROCK_ENDPOINT_URL`, e.g. `parley emulator` in another
terminal), or the suite's own in-process emulator (`emulator:` in the suite).

The in-process emulator starts on the first model call, so a re-run answered
entirely from the cache never starts it.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..settings import get_settings
from .suite import EmulatorSpec, Suite

if TYPE_CHECKING:
    from ..emulator import BedrockEmulator, EmulatorReply, EmulatorRequest, Responder


class LazyClient:
    """Stands for a boto3 client; builds the real one on first attribute access."""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._client: Any = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make()
        return getattr(self._client, name)


class SuiteEmulator:
    """The suite's in-process Bedrock emulator, started on demand."""

    def __init__(self, spec: EmulatorSpec) -> None:
        self.spec = spec
        self.emulator: BedrockEmulator | None = None
        self._lock = threading.Lock()

    def ensure_started(self) -> BedrockEmulator:
        with self._lock:
            if self.emulator is None:
                from ..emulator import BedrockEmulator, FaultConfig  # test/demo dependency

                faults = FaultConfig(latency_ms=self.spec.latency_ms)
                self.emulator = BedrockEmulator(suite_responder(self.spec), faults).start()
            return self.emulator

    def client(self) -> Any:
        """A bedrock-runtime client for the emulator (which starts when it is first used)."""
        return LazyClient(lambda: self.ensure_started().client())

    def stats(self) -> dict[str, Any] | None:
        """The emulator's counters, or None if it never started."""
        return self.emulator.stats.snapshot() if self.emulator is not None else None

    def stop(self) -> None:
        if self.emulator is not None:
            self.emulator.stop()


def suite_responder(spec: EmulatorSpec) -> Any:
    """The suite's responder: `baseline` (the local baseline's verdict), `baseline_echo`
    (the same, quoting the conversation first: see `echoing`), `companion`
    (canned companion answers, a lookup table, not an LLM) or `default`; a judge's
    request (the grade tool) is answered from the queued `grades` instead, and once
    they run out with a text no grade parser accepts: ungradable, never a pass."""
    from ..emulator import EmulatorReply, ScriptedResponder, default_responder

    main: Any = default_responder
    if spec.responder in ("baseline", "baseline_echo"):
        from ..models.local import baseline_responder

        main = baseline_responder()
        if spec.responder == "baseline_echo":
            main = echoing(main)
    elif spec.responder == "companion":
        from ..emulator.companion import canned_companion

        main = canned_companion
    grades = ScriptedResponder(spec.grades, fallback=EmulatorReply(text="no grade queued"))

    def respond(request: EmulatorRequest) -> EmulatorReply:
        properties = (request.tool_schema or {}).get("properties") or {}
        if "pass" in properties and "reason" in properties:
            return grades(request)
        return main(request)  # type: ignore[no-any-return]

    return respond


def echoing(responder: Responder) -> Responder:
    """A talkative text model: its text answers first quote the conversation it was
    shown, then give `responder`'s answer; tool answers are left as they are.

    Whatever an attacker wrote that looks like a verdict (a quoted verdict, a fake
    moderator line) is then inside the model's answer, where the text answer parser
    must not take it for the model's own (the evasion suite's text-answer cells).
    """
    from ..models.local import turns_from_text

    def respond(request: EmulatorRequest) -> EmulatorReply:
        reply = responder(request)
        if reply.text is None or reply.tool_input is not None:
            return reply
        lines = [
            f'{sender} wrote: "{_ends(text)}"'
            for sender, text in turns_from_text(request.prompt_text)
        ]
        # Bounded as a real answer is by the prompt's max_tokens: the newest messages.
        while len(lines) > 1 and sum(len(line) + 1 for line in lines) > ECHO_CHARS:
            lines.pop(0)
        quoted = "\n".join(lines)
        return replace(reply, text=f"I read the conversation.\n{quoted}\n{reply.text}")

    return respond


ECHO_CHARS = 1200  # with the answer, under the verdict prompts' 400 output tokens


def _ends(text: str, keep: int = 100) -> str:
    """A long message quoted by its two ends, where an attacker's additions sit."""
    return text if len(text) <= 2 * keep + 40 else f"{text[:keep]} … {text[-keep:]}"


def suite_emulator(suite: Suite) -> SuiteEmulator | None:
    """The suite's emulator (not yet started), if it asks for one."""
    if suite.emulator is None or not suite.emulator.start:
        return None
    return SuiteEmulator(suite.emulator)


def endpoint_label(suite: Suite) -> str | None:
    """Where `bedrock:` calls go, for the cache identity: an emulator is not Bedrock."""
    if suite.emulator is not None and suite.emulator.start:
        return f"emulator:{suite.emulator.responder}"
    return get_settings().bedrock_endpoint_url


def judge_endpoint_label(suite: Suite) -> str | None:
    """Where judge calls go, for their cache identity. On the emulator, the suite's
    queued `grades` are what answers them: other grades must not hit the old ones."""
    label = endpoint_label(suite)
    if suite.emulator is None or not suite.emulator.start:
        return label
    queued = json.dumps(suite.emulator.grades, sort_keys=True, default=str)
    return f"{label}|grades:{hashlib.sha256(queued.encode()).hexdigest()[:16]}"
