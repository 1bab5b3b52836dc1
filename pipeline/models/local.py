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
from ..conversation import strong_cue_count
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

# Obfuscation is evidence when it disguises a message rather than sprinkles it: a
# message is *disguised* when at least OBFUSCATION_MIN characters disguised its words
# (`pipeline.normalise` counts only characters that changed what a word reads as) and
# either they are at least DISGUISED_SHARE of its letters and digits (the words of a
# request rewritten, not a stray character in copied text), or at least SEPARATORS_MIN
# separators were removed from broken words in it. A conversation with a disguised
# message scores at least the threshold (flagged; in a cascade, inside the uncertain
# band, so the second model, which sees the marker, decides). A few disguised cue words,
# prices or a tracking number in an otherwise plain message do not force a flag: the
# classifier, which reads them folded back, decides. The rule reads only what a
# rendered prompt's markers carry (counts per message, and the text shown), so that
# `score` and `generate` decide alike.
OBFUSCATION_MIN = 3
DISGUISED_SHARE = 0.15
SEPARATORS_MIN = 3


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
        return self._raised(self.artifact.probability(turns), disguised(turns))

    def _raised(self, p: float, disguising: int) -> float:
        return max(p, self.artifact.threshold) if disguising >= OBFUSCATION_MIN else p

    def judge(
        self, turns: list[tuple[str, str]], *, obfuscated: int | None = None
    ) -> dict[str, Any]:
        """The verdict tool input for (sender, text) turns.

        `obfuscated`: the disguising characters of disguised messages, read from the
        markers of a rendered prompt (`disguised_in_rendered`; the turns are then the
        text as shown, hidden characters already removed); None: find them in the turns
        here (`disguised`).
        """
        groups = self.artifact.features_of(turns)
        calibrated = self.artifact.probability_of(groups)
        if obfuscated is None:
            obfuscated = disguised(turns)
        p = self._raised(calibrated, obfuscated)
        suspicious = p >= self.artifact.threshold
        category = self.artifact.category_of(groups) if suspicious else None
        rationale = (
            f"local baseline classifier: probability p={calibrated:.3f} "
            f"(threshold {self.artifact.threshold:.3f}); not a language model"
        )
        if p != calibrated:
            rationale += (
                f"; raised to the threshold: {obfuscated} obfuscating characters "
                "in disguised messages"
            )
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
            # The rendered text's markers say, message by message, what was disguised.
            shown = disguised_in_rendered(prompt.user) if any(prompt.obfuscation) else 0
            answer = self.judge(turns, obfuscated=shown)
        else:
            found = disguised_in_rendered(prompt.user) if marked(prompt.user) else None
            answer = self.judge(turns_from_text(prompt.user), obfuscated=found)
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


def disguised_message(text: str) -> int:
    """The characters that disguised `text` when the message is disguised (see
    OBFUSCATION_MIN), else 0."""
    found = normalise(text)
    return _disguising(found.obfuscated, found.separators, found.display)


def _disguising(count: int, separators: int, shown: str) -> int:
    if count < OBFUSCATION_MIN:
        return 0
    # Disguise is evidence only where it hides what a scam must say: money, a payment
    # channel, a way to get in touch. A disguised message without one (a pasted name in
    # zero-width spaces, a greeting in fancy letters, a whole message broken apart) is
    # left to the classifier, which reads it normalised.
    if not strong_cue_count(shown):
        return 0
    # Hidden characters sit between letters or digits: the share is of those.
    characters = sum(ch.isalnum() for ch in shown)
    share = count >= DISGUISED_SHARE * max(characters, 1)
    return count if share or separators >= SEPARATORS_MIN else 0


def disguised(turns: list[tuple[str, str]]) -> int:
    """Disguising characters over the disguised messages of the turns (0: none)."""
    return sum(disguised_message(text) for _, text in turns)


def disguised_in_rendered(text: str) -> int:
    """`disguised` from a rendered prompt: each `<message>` block's marker counts and the
    text shown after it."""
    total = 0
    for _, body in _MESSAGE.findall(text):
        found = _MARKER.search(body)
        if found:
            hidden, lookalikes, separators, digits = (int(n) for n in found.groups())
            shown = _MARKER.sub("", _unescape(body))
            total += _disguising(hidden + lookalikes + separators + digits, separators, shown)
    return total


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
        if "verdicts" in ((request.tool_schema or {}).get("properties") or {}):
            return EmulatorReply(tool_input={"verdicts": group_answers(model, text)})
        found = disguised_in_rendered(text) if marked(text) else None
        answer = model.judge(turns_from_text(text), obfuscated=found)
        if request.forced_tool is not None or request.tool_schema is not None:
            return EmulatorReply(tool_input=answer)
        if reply := contract_answer(request.prompt_text, answer, TEXT_PREFACE):
            return EmulatorReply(text=reply)
        return EmulatorReply(text="1" if answer["suspicious"] else "0")

    return respond


_GROUP_BLOCK = re.compile(r'<conversation ref="([0-9a-f]+)"[^>]*>(.*?)</conversation>', re.DOTALL)


def group_answers(model: BaselineModel, text: str) -> list[dict[str, Any]]:
    """One lean verdict per `<conversation ref="…">` block of a group prompt
    (pipeline.group), each judged on its own block only."""
    answers = []
    for ref, block in _GROUP_BLOCK.findall(text):
        verdict = model.judge(
            turns_from_text(block),
            obfuscated=disguised_in_rendered(block) if marked(block) else None,
        )
        answers.append(
            {"ref": ref, **{k: verdict[k] for k in ("suspicious", "score", "categories")}}
        )
    return answers
