"""The companion's child-safety guardrail policy, read from one data file.

`pipeline/data/guardrail-policy.yaml` defines the guardrail once. This module reads it
(pure after the read) and renders it as the properties of an `AWS::Bedrock::Guardrail`
CloudFormation resource (`cloudformation_properties`); the emulator's ApplyGuardrail
(`pipeline.emulator.guardrail`) enforces the same policy offline from its `offline`
patterns. Property names follow the CloudFormation resource schema that cfn-lint ships.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator

Strength = Literal["NONE", "LOW", "MEDIUM", "HIGH"]
PiiAction = Literal["BLOCK", "ANONYMIZE", "NONE"]
POLICY_FILE = "guardrail-policy.yaml"
# The CLASSIC tier's limits (English, French, Spanish; no cross-Region inference).
MAX_DEFINITION_CHARS = 200
MAX_EXAMPLES = 5
MAX_EXAMPLE_CHARS = 100


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _compiles(patterns: tuple[str, ...]) -> tuple[str, ...]:
    for pattern in patterns:
        try:
            re.compile(pattern)  # a broken pattern fails when the policy is read
        except re.error as exc:
            raise ValueError(f"offline pattern {pattern!r}: {exc}") from None
    return patterns


class ContentFilter(_Strict):
    type: Literal["SEXUAL", "VIOLENCE", "HATE", "INSULTS", "MISCONDUCT", "PROMPT_ATTACK"]
    input: Strength
    output: Strength
    offline: tuple[str, ...] = ()

    @field_validator("offline")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return _compiles(patterns)


class Topic(_Strict):
    name: str = Field(pattern=r"^[0-9a-zA-Z-_ !?.]+$", max_length=100)
    definition: str = Field(min_length=1, max_length=MAX_DEFINITION_CHARS)
    examples: tuple[str, ...] = Field(max_length=MAX_EXAMPLES)
    input: bool
    output: bool
    care: bool = False  # blocked input means the child needs a grown-up now
    offline: tuple[str, ...] = ()

    @field_validator("offline")
    @classmethod
    def _patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        return _compiles(patterns)

    @field_validator("examples")
    @classmethod
    def _short_examples(cls, examples: tuple[str, ...]) -> tuple[str, ...]:
        if any(not 0 < len(e) <= MAX_EXAMPLE_CHARS for e in examples):
            raise ValueError(f"topic examples are 1 to {MAX_EXAMPLE_CHARS} characters")
        return examples


class PiiEntity(_Strict):
    type: str
    input: PiiAction
    output: PiiAction
    offline: str

    @field_validator("offline")
    @classmethod
    def _pattern(cls, pattern: str) -> str:
        return _compiles((pattern,))[0]


class GuardrailPolicy(_Strict):
    """The whole policy as the data file states it."""

    name: str = Field(pattern=r"^[0-9a-zA-Z-_]+$", max_length=30)
    description: str = Field(max_length=200)
    blocked_input: str = Field(min_length=1, max_length=500)
    blocked_output: str = Field(min_length=1, max_length=500)
    content_filters: tuple[ContentFilter, ...] = Field(min_length=1, max_length=6)
    topics: tuple[Topic, ...] = Field(min_length=1, max_length=30)
    pii: tuple[PiiEntity, ...] = ()
    words: tuple[str, ...] = ()
    managed_words: tuple[Literal["PROFANITY"], ...] = ()
    offline_profanity: tuple[str, ...] = ()

    def topic(self, name: str) -> Topic:
        """A topic by its name (KeyError if the policy has none)."""
        for topic in self.topics:
            if topic.name == name:
                return topic
        raise KeyError(name)


@cache
def load_policy() -> GuardrailPolicy:
    """The shipped policy (read once per process)."""
    text = resources.files("pipeline").joinpath("data", POLICY_FILE).read_text(encoding="utf-8")
    return GuardrailPolicy.model_validate(yaml.safe_load(text))


def _flag(value: bool) -> str:
    return "BLOCK" if value else "NONE"


def cloudformation_properties(policy: GuardrailPolicy) -> dict[str, Any]:
    """The `AWS::Bedrock::Guardrail` properties for `policy`, except `Name` (the
    template makes it unique per stack). Offline patterns are not part of it."""
    properties: dict[str, Any] = {
        "Description": policy.description,
        "BlockedInputMessaging": policy.blocked_input,
        "BlockedOutputsMessaging": policy.blocked_output,
        "ContentPolicyConfig": {
            "FiltersConfig": [
                {"Type": f.type, "InputStrength": f.input, "OutputStrength": f.output}
                for f in policy.content_filters
            ]
        },
        "TopicPolicyConfig": {
            "TopicsConfig": [
                {
                    "Name": t.name,
                    "Definition": t.definition,
                    "Examples": list(t.examples),
                    "Type": "DENY",
                    "InputEnabled": t.input,
                    "InputAction": _flag(t.input),
                    "OutputEnabled": t.output,
                    "OutputAction": _flag(t.output),
                }
                for t in policy.topics
            ]
        },
    }
    if policy.pii:
        properties["SensitiveInformationPolicyConfig"] = {
            "PiiEntitiesConfig": [
                {
                    "Type": p.type,
                    "Action": p.output,
                    "InputAction": p.input,
                    "OutputAction": p.output,
                }
                for p in policy.pii
            ]
        }
    words: dict[str, Any] = {}
    if policy.words:
        words["WordsConfig"] = [{"Text": w} for w in policy.words]
    if policy.managed_words:
        words["ManagedWordListsConfig"] = [{"Type": t} for t in policy.managed_words]
    if words:
        properties["WordPolicyConfig"] = words
    return properties


def cloudformation_yaml(policy: GuardrailPolicy) -> str:
    """The properties as YAML, indented to paste under the template's resource."""
    body = yaml.safe_dump(
        cloudformation_properties(policy), sort_keys=False, allow_unicode=True, width=100
    )
    return "".join(f"      {line}\n" for line in body.splitlines())
