"""`local:baseline`: the small hashed n-gram logistic regression, as a ChatModel.

It is a text classifier, not a language model: it reads the windowed conversation
and answers a calibrated probability. It imports only the stdlib (no numpy), so the
Lambda bundle stays small; the artifact ships in pipeline/data/.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..baseline.artifact import DEFAULT_ARTIFACT, BaselineArtifact, load_artifact
from ..errors import ConfigError
from ..normalise import OBFUSCATION_MARKER, normalise
from . import ModelResult

if TYPE_CHECKING:
    from ..conversation import Conversation
    from ..emulator import EmulatorReply, EmulatorRequest
    from ..prompts import RenderedPrompt

MODEL_ID = "local:baseline"
KNOWN = ("baseline", "baseline@<artifact path>")

# What the emulated text-answering model writes before its marked verdict line.
TEXT_PREFACE = "Judged by the local baseline classifier, served by parley's Bedrock emulator."
# A rendered message block: <message index=".." sender="seller" at="..">text</message>.
_MESSAGE = re.compile(r"<message\b([^>]*)>(.*?)</message>", re.DOTALL)
_SENDER = re.compile(r'\bsender="([^"]*)"')
# The obfuscation marker a rendered message starts with (pipeline.normalise).
_MARKER = re.compile(
    re.escape(OBFUSCATION_MARKER)
    .replace(re.escape("{hidden}"), r"(\d{1,9})")
    .replace(re.escape("{lookalikes}"), r"(\d{1,9})")
    .replace(re.escape("{separators}"), r"(\d{1,9})")
    .replace(re.escape("{digits}"), r"(\d{1,9})")
    + r"\n"
)

# Obfuscation is evidence: a conversation with at least this many obfuscating characters
# (hidden, look-alike, separators inside broken words, digits read as letters) scores
# at least the threshold (flagged; in a cascade, inside the uncertain band, so the
# second model, which sees the marker, decides). Three, not one: a stray zero-width
# space comes with copied text. Only characters that changed what a word reads as are
# counted (`pipeline.normalise`): emoji sequences, flags, keycaps, bidi marks beside
# right-to-left text, soft hyphens between syllables, a BOM, honest accents and names
# in another script count nothing, so the rule does not fire on them.
OBFUSCATION_MIN = 3


class BaselineModel:
    """The local baseline classifier behind the ChatModel protocol."""

    def __init__(self, artifact_path: Path | str | None = None) -> None:
        self.artifact_path = Path(artifact_path) if artifact_path else DEFAULT_ARTIFACT
        self.artifact: BaselineArtifact = load_artifact(self.artifact_path)
        self.model_id = MODEL_ID

    @property
    def threshold(self) -> float:
        return self.artifact.threshold

    @property
    def cascade_band(self) -> tuple[float, float]:
        """(low, high): below low the cascade clears locally, above high it flags locally."""
        return self.artifact.low, self.artifact.high

    def score(self, conversation: Conversation) -> float:
        """Probability that the conversation is a scam attempt (calibrated, unless raised
        by the obfuscation rule)."""
        turns = [(m.sender, m.text) for m in conversation.messages]
        return self._raised(self.artifact.probability(turns), obfuscation(turns))

    def _raised(self, p: float, obfuscated: int) -> float:
        return max(p, self.artifact.threshold) if obfuscated >= OBFUSCATION_MIN else p

    def judge(
        self, turns: list[tuple[str, str]], *, obfuscated: int | None = None
    ) -> dict[str, Any]:
        """The verdict tool input for (sender, text) turns.

        `obfuscated`: obfuscating characters counted when the prompt was rendered (its
        markers; the turns are then the text as shown, hidden characters already
        removed); None: count them in the turns here.
        """
        groups = self.artifact.features_of(turns)
        calibrated = self.artifact.probability_of(groups)
        if obfuscated is None:
            obfuscated = obfuscation(turns)
        p = self._raised(calibrated, obfuscated)
        suspicious = p >= self.artifact.threshold
        category = self.artifact.category_of(groups) if suspicious else None
        rationale = (
            f"local baseline classifier: probability p={calibrated:.3f} "
            f"(threshold {self.artifact.threshold:.3f}); not a language model"
        )
        if p != calibrated:
            rationale += f"; raised to the threshold: {obfuscated} obfuscating characters"
        return {
            "suspicious": suspicious,
            "score": round(p, 4),
            "categories": [category or "other"] if suspicious else [],
            "rationale": rationale,
        }

    def generate(
        self,
        prompt: RenderedPrompt,
        *,
        schema: dict[str, Any] | None = None,
        deadline_s: float | None = None,
    ) -> ModelResult:
        """Classify the prompt's windowed conversation (or the messages in its text)."""
        started = time.perf_counter()
        if prompt.conversation is not None and prompt.conversation.messages:
            turns = [(m.sender, m.text) for m in prompt.conversation.messages]
            answer = self.judge(turns, obfuscated=sum(prompt.obfuscation))
        else:
            answer = self.judge(
                turns_from_text(prompt.user), obfuscated=marked(prompt.user) or None
            )
        return ModelResult(
            model_id=self.model_id,
            text=("1" if answer["suspicious"] else "0") if prompt.output == "legacy" else None,
            structured=answer,
            input_tokens=0,
            output_tokens=0,
            latency_ms=(time.perf_counter() - started) * 1000,
            cost_usd=0.0,
            stop_reason="end_turn",
            extra={"artifact_sha256": self.artifact.meta.get("model_sha256")},
        )


def obfuscation(turns: list[tuple[str, str]]) -> int:
    """Obfuscating characters in the turns' texts: hidden, look-alike, separators inside
    broken words, digits read as letters (`Normalised.obfuscated`)."""
    return sum(normalise(text).obfuscated for _, text in turns)


def turns_from_text(text: str) -> list[tuple[str, str]]:
    """(sender, text) turns from rendered `<message sender="…">` blocks, unescaped, without
    the obfuscation markers (their words are parley's, not the conversation's).

    Text without such blocks (a legacy prompt) is one turn of an unknown sender.
    """
    turns = [
        (
            match.group(1) if (match := _SENDER.search(attrs)) else "unknown",
            _MARKER.sub("", _unescape(body)),
        )
        for attrs, body in _MESSAGE.findall(text)
    ]
    return turns or [("unknown", text)]


def marked(text: str) -> int:
    """Characters the obfuscation markers in a rendered prompt say were removed.

    A message can write a marker of its own: that only raises its own score.
    """
    return sum(int(count) for counts in _MARKER.findall(text) for count in counts)


def _unescape(text: str) -> str:
    # Exactly what prompts.neutralise escapes: &amp; last, so "&amp;lt;" stays "&lt;".
    return text.strip("\n").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def from_reference(rest: str, **_: Any) -> BaselineModel:
    """`local:baseline` (the shipped artifact) or `local:baseline@<artifact path>`."""
    name, sep, path = rest.partition("@")
    if name != "baseline" or (sep and not path):
        raise ConfigError(
            f"unknown local model {rest!r}; known: " + ", ".join(f"local:{k}" for k in KNOWN)
        )
    return BaselineModel(path or None)


def baseline_responder(
    artifact_path: Path | str | None = None,
) -> Callable[[EmulatorRequest], EmulatorReply]:
    """An emulator responder answering like a model with the baseline's judgement.

    Reads the `<message>` blocks of the prompt text; answers the verdict tool input when
    a tool is offered; in text, by the text answer contract when the prompt asks for it
    (a preface, then the marked line with the prompt's answer code and the verdict as
    JSON), else the legacy whole reply "1" / "0" (the v1 prompt).
    """
    from ..emulator import EmulatorReply, contract_answer  # lazy: a test/demo dependency

    model = BaselineModel(artifact_path)

    def respond(request: EmulatorRequest) -> EmulatorReply:
        text = request.prompt_text
        answer = model.judge(turns_from_text(text), obfuscated=marked(text) or None)
        if request.forced_tool is not None or request.tool_schema is not None:
            return EmulatorReply(tool_input=answer)
        if reply := contract_answer(request.prompt_text, answer, TEXT_PREFACE):
            return EmulatorReply(text=reply)
        return EmulatorReply(text="1" if answer["suspicious"] else "0")

    return respond
