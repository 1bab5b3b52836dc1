"""What the model answers: pluggable responders (default, echo, scripted) and the
answers parley's verdict contracts expect."""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .calls import EmulatorReply, EmulatorRequest, ReplyLike, Responder, as_reply

#: What the default responder answers to a forced tool (the verdict shape).
DEFAULT_TOOL_INPUT: dict[str, Any] = {
    "suspicious": False,
    "score": 0.0,
    "categories": [],
    "rationale": "emulator default",
}


def example_for_schema(schema: Mapping[str, Any] | None) -> dict[str, Any]:
    """A minimal object satisfying a simple JSON schema; DEFAULT_TOOL_INPUT's values
    are used for properties it names."""
    if not schema:
        return dict(DEFAULT_TOOL_INPUT)
    properties: Mapping[str, Any] = schema.get("properties") or {}
    if not properties:
        return dict(DEFAULT_TOOL_INPUT)
    defs: Mapping[str, Any] = schema.get("$defs") or schema.get("definitions") or {}
    return {name: _example_value(name, prop, defs) for name, prop in properties.items()}


def _example_value(name: str, prop: Mapping[str, Any], defs: Mapping[str, Any]) -> Any:
    ref = prop.get("$ref")
    if isinstance(ref, str):
        prop = defs.get(ref.rsplit("/", 1)[-1], {})
    if "const" in prop:
        return prop["const"]
    if prop.get("enum"):
        return prop["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        if prop.get(key):
            return _example_value(name, prop[key][0], defs)
    kind = prop.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if name in DEFAULT_TOOL_INPUT and kind in (None, _json_type(DEFAULT_TOOL_INPUT[name])):
        return DEFAULT_TOOL_INPUT[name]
    low = prop.get("minimum", 0)
    simple = {"string": "", "boolean": False, "array": [], "null": None}
    if kind in simple:
        return simple[kind]
    if kind == "integer":
        return int(low)
    if kind == "number":
        return float(low)
    if kind == "object":
        return example_for_schema(prop) if prop.get("properties") else {}
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, float):
        return "number"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, list):
        return "array"
    return "string" if isinstance(value, str) else "object"


def default_responder(request: EmulatorRequest) -> EmulatorReply:
    """For a forced tool, an input satisfying its schema (DEFAULT_TOOL_INPUT for the
    verdict schema); for a prompt asking for parley's text answer contract, the marked
    final line with the prompt's answer code and DEFAULT_TOOL_INPUT; else text "0"."""
    if request.forced_tool is not None:
        return EmulatorReply(tool_input=example_for_schema(request.tool_schema))
    if text := contract_answer(request.prompt_text, DEFAULT_TOOL_INPUT):
        return EmulatorReply(text=text)
    return EmulatorReply(text="0")


def contract_answer(prompt_text: str, verdict: Mapping[str, Any], preface: str = "") -> str | None:
    """A text answer by parley's text answer contract (pipeline.verdict), as a model
    following the prompt's instruction writes it: an optional preface, then the final
    line `VERDICT <answer code>: <verdict JSON>`. None when the prompt asks for none."""
    from ..verdict import ANSWER_MARK, answer_nonce_in  # lazy: keeps the emulator light

    nonce = answer_nonce_in(prompt_text)
    if nonce is None:
        return None
    line = f"{ANSWER_MARK} {nonce}: {json.dumps(dict(verdict))}"
    return f"{preface}\n{line}" if preface else line


class EchoResponder:
    """Echoes the prompt text back (default_responder's tool input for forced tools)."""

    def __call__(self, request: EmulatorRequest) -> EmulatorReply:
        if request.forced_tool is not None:
            return default_responder(request)
        return EmulatorReply(text=request.prompt_text or "0")


class ScriptedResponder:
    """Replies from a script. Per request, in order: the first `by_substring` rule
    whose substring occurs in the prompt text; else the next queued reply; else
    `fallback` (a reply, or a responder; default: `default_responder`).

    Replies may be shorthand: a str is text, a mapping is a tool input. `requests`
    records what was asked, for assertions (in memory only).
    """

    def __init__(
        self,
        replies: Iterable[ReplyLike] = (),
        *,
        by_substring: Sequence[tuple[str, ReplyLike]] | Mapping[str, ReplyLike] = (),
        fallback: Responder | ReplyLike | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: deque[EmulatorReply] = deque(as_reply(r) for r in replies)
        rules = by_substring.items() if isinstance(by_substring, Mapping) else by_substring
        self.rules: list[tuple[str, EmulatorReply]] = [(s, as_reply(r)) for s, r in rules]
        if fallback is None:
            self.fallback: Responder = default_responder
        elif callable(fallback):
            self.fallback = fallback
        else:
            fixed = as_reply(fallback)
            self.fallback = lambda _request: fixed
        self.requests: list[EmulatorRequest] = []

    def push(self, *replies: ReplyLike) -> None:
        """Queue more replies."""
        with self._lock:
            self._queue.extend(as_reply(r) for r in replies)

    @property
    def remaining(self) -> int:
        """Queued replies not consumed yet."""
        return len(self._queue)

    def __call__(self, request: EmulatorRequest) -> EmulatorReply:
        with self._lock:
            self.requests.append(request)
            for substring, reply in self.rules:
                if substring in request.prompt_text:
                    return reply
            if self._queue:
                return self._queue.popleft()
        return self.fallback(request)
