"""ApplyGuardrail offline: the child-safety policy enforced on loopback.

The emulator answers `POST /guardrail/{id}/version/{v}/apply` by checking the text
against a `GuardrailPolicy` (pipeline/data/guardrail-policy.yaml): its words, its
PII types and, in place of Bedrock's classifiers, the policy's `offline` patterns for
each content filter and denied topic. The response has Bedrock's shape (action,
outputs, assessments with each policy's findings), so a boto3 client's
`apply_guardrail` sees real interventions. Pure: no I/O, no logging of text.

Guardrails are registered per id (`BedrockEmulator(guardrails={"gr1": policy})`); an
id with no policy lets everything through, as the emulator always did.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..guardrail_policy import GuardrailPolicy
from ..normalise import normalised_text
from .calls import block_texts

_STRENGTH_ON = frozenset({"LOW", "MEDIUM", "HIGH"})


def _words(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", re.IGNORECASE)


def _plain(text: str) -> str:
    """Matching copy: normalised, lowercase, curly apostrophes straight, then dropped
    ("don't" and "dont" are one word, as the recogniser writes either)."""
    folded = normalised_text(text).lower().replace("\u2019", "'")
    return re.sub(r"\s+", " ", folded.replace("'", ""))


def _pattern(pattern: str) -> str:
    """A policy pattern as the matching copy reads: accents off ("bête" is "bete"
    once normalised), apostrophes dropped; regex syntax is ASCII and kept."""
    decomposed = unicodedata.normalize("NFD", pattern)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("'", "")


@dataclass(frozen=True)
class _Compiled:
    filters: tuple[tuple[str, str, str, tuple[re.Pattern[str], ...]], ...]
    topics: tuple[tuple[str, bool, bool, tuple[re.Pattern[str], ...]], ...]
    pii: tuple[tuple[str, str, str, re.Pattern[str]], ...]
    words: tuple[tuple[str, re.Pattern[str]], ...]
    profanity: tuple[tuple[str, re.Pattern[str]], ...]
    messages: dict[str, str] = field(default_factory=dict)


@cache
def _compiled(policy: GuardrailPolicy) -> _Compiled:
    return _Compiled(
        filters=tuple(
            (f.type, f.input, f.output, tuple(_words(_pattern(p)) for p in f.offline))
            for f in policy.content_filters
        ),
        topics=tuple(
            (t.name, t.input, t.output, tuple(_words(_pattern(p)) for p in t.offline))
            for t in policy.topics
        ),
        pii=tuple((p.type, p.input, p.output, re.compile(p.offline, re.I)) for p in policy.pii),
        words=tuple((w, _words(re.escape(_plain(w)))) for w in policy.words),
        profanity=tuple((w, _words(re.escape(_plain(w)))) for w in policy.offline_profanity),
        messages={"INPUT": policy.blocked_input, "OUTPUT": policy.blocked_output},
    )


def assess(policy: GuardrailPolicy, text: str, source: str) -> dict[str, Any]:
    """The ApplyGuardrail response for `text` from `source` ("INPUT" or "OUTPUT")."""
    rules = _compiled(policy)
    side = 0 if source == "INPUT" else 1
    plain = _plain(text)
    assessment: dict[str, Any] = {}
    blocked = False

    filters = []
    for kind, strength_in, strength_out, patterns in rules.filters:
        strength = (strength_in, strength_out)[side]
        if strength in _STRENGTH_ON and any(p.search(plain) for p in patterns):
            filters.append({"type": kind, "confidence": "HIGH", "filterStrength": strength,
                            "action": "BLOCKED", "detected": True})  # fmt: skip
    if filters:
        assessment["contentPolicy"] = {"filters": filters}
        blocked = True

    topics = []
    for name, on_input, on_output, patterns in rules.topics:
        if (on_input, on_output)[side] and any(p.search(plain) for p in patterns):
            topics.append({"name": name, "type": "DENY", "action": "BLOCKED", "detected": True})
    if topics:
        assessment["topicPolicy"] = {"topics": topics}
        blocked = True

    custom = [{"match": w, "action": "BLOCKED", "detected": True}
              for w, p in rules.words if p.search(plain)]  # fmt: skip
    managed = [{"match": w, "type": "PROFANITY", "action": "BLOCKED", "detected": True}
               for w, p in rules.profanity if p.search(plain)]  # fmt: skip
    if custom or managed:
        assessment["wordPolicy"] = {"customWords": custom, "managedWordLists": managed}
        blocked = True

    entities = []
    masked = text
    for kind, action_in, action_out, pattern in rules.pii:
        action = (action_in, action_out)[side]
        if action == "NONE":
            continue
        for match in pattern.finditer(text):
            verb = "BLOCKED" if action == "BLOCK" else "ANONYMIZED"
            entities.append({"match": match.group(0), "type": kind, "action": verb,
                             "detected": True})  # fmt: skip
            blocked = blocked or action == "BLOCK"
        if action == "ANONYMIZE":
            masked = pattern.sub("{" + kind + "}", masked)
    if entities:
        assessment["sensitiveInformationPolicy"] = {"piiEntities": entities, "regexes": []}

    units = max(1, math.ceil(len(text) / 1000))
    usage = {
        "topicPolicyUnits": units,
        "contentPolicyUnits": units,
        "wordPolicyUnits": units,
        "sensitiveInformationPolicyUnits": units,
        "sensitiveInformationPolicyFreeUnits": 0,
        "contextualGroundingPolicyUnits": 0,
    }
    if not assessment:
        return {"usage": usage, "action": "NONE", "outputs": [], "assessments": []}
    output = rules.messages[source if source in rules.messages else "OUTPUT"] if blocked else masked
    return {
        "usage": usage,
        "action": "GUARDRAIL_INTERVENED",
        "outputs": [{"text": output}],
        "assessments": [assessment],
    }


def apply_guardrail_body(
    policies: Mapping[str, GuardrailPolicy], guardrail_id: str, body: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The response for a registered guardrail id, or None (the caller lets it through)."""
    policy = policies.get(guardrail_id)
    if policy is None:
        return None
    contents = body.get("content") or []
    text = "\n".join(block_texts([c.get("text", {}) for c in contents if isinstance(c, dict)]))
    return assess(policy, text, str(body.get("source") or "OUTPUT"))
