"""The child-safety guardrail is defined once (pipeline/data/guardrail-policy.yaml): the
template's resource is its rendering, and the skill applies the created guardrail."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from pipeline.guardrail_policy import GuardrailPolicy, cloudformation_properties, load_policy
from tests.test_template import functions, load_template

GUARDRAIL = "ChildSafetyGuardrail"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _shipped(template: dict[str, Any]) -> dict[str, Any]:
    properties = dict(template["Resources"][GUARDRAIL]["Properties"])
    properties.pop("Name")
    properties.pop("Tags", None)
    return properties


def test_template_guardrail_is_the_policy_rendered(template: dict[str, Any]) -> None:
    assert _shipped(template) == cloudformation_properties(load_policy())


def test_a_policy_edit_without_the_template_is_caught(template: dict[str, Any]) -> None:
    data = load_policy().model_dump()
    data["words"] = [*data["words"], "a new phrase"]
    edited = GuardrailPolicy.model_validate(data)
    assert _shipped(template) != cloudformation_properties(edited)


def test_the_guardrail_covers_the_child_safety_risks() -> None:
    policy = load_policy()
    filters = {f.type: f for f in policy.content_filters}
    assert {"MISCONDUCT", "PROMPT_ATTACK", "SEXUAL", "VIOLENCE"} <= filters.keys()
    assert filters["PROMPT_ATTACK"].input == "HIGH"
    assert filters["PROMPT_ATTACK"].output == "NONE"  # Bedrock's rule: input only
    names = {t.name for t in policy.topics}
    for risk in ("Self harm", "Secrets with adults", "Sexual content",
                 "Dangerous household things", "Strangers and meeting", "Purchases"):  # fmt: skip
        assert risk in names
    assert {"EMAIL", "PHONE", "ADDRESS"} <= {p.type for p in policy.pii}
    assert policy.managed_words == ("PROFANITY",)
    assert any("secret" in w for w in policy.words)


def test_the_classic_tier_limits_are_checked_when_read() -> None:
    data = load_policy().model_dump()
    too_long = copy.deepcopy(data)
    too_long["topics"][0]["definition"] = "x" * 201
    with pytest.raises(ValidationError):
        GuardrailPolicy.model_validate(too_long)
    many = copy.deepcopy(data)
    many["topics"][0]["examples"] = ["an example"] * 6
    with pytest.raises(ValidationError):
        GuardrailPolicy.model_validate(many)
    broken = copy.deepcopy(data)
    broken["topics"][0]["offline"] = ["(unclosed"]
    with pytest.raises(ValidationError):
        GuardrailPolicy.model_validate(broken)


def test_the_skill_applies_the_created_guardrail_unless_given_one(template: dict[str, Any]) -> None:
    env = functions(template)["SkillFunction"]["Environment"]["Variables"]
    assert env["PARLEY_GUARDRAIL_ID"] == {
        "Fn::If": [
            "HasGuardrail",
            {"Ref": "GuardrailId"},
            {"Fn::GetAtt": [GUARDRAIL, "GuardrailId"]},
        ]
    }
    assert env["PARLEY_GUARDRAIL_VERSION"]["Fn::If"][2] == {
        "Fn::GetAtt": ["ChildSafetyGuardrailVersion", "Version"]
    }
    version = template["Resources"]["ChildSafetyGuardrailVersion"]
    assert version["Type"] == "AWS::Bedrock::GuardrailVersion"
    assert version["Properties"]["GuardrailIdentifier"] == {
        "Fn::GetAtt": [GUARDRAIL, "GuardrailId"]
    }
    assert template["Resources"][GUARDRAIL]["Condition"] == "ShipGuardrail"


def test_the_cli_prints_what_the_template_holds() -> None:
    from click.testing import CliRunner

    from pipeline.cli.skill import skill
    from tests.test_template import TEMPLATE_PATH

    out = CliRunner().invoke(skill, ["guardrail"]).output
    assert out and out in TEMPLATE_PATH.read_text(encoding="utf-8")
