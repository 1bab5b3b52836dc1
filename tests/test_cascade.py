"""The cascade: the first model's score routes, the second answers the uncertain band."""

from __future__ import annotations

from typing import Any

import pytest

from pipeline.conversation import conversation_from_dict
from pipeline.errors import ConfigError, ModelError, ThrottledError
from pipeline.models import ModelResult, resolve
from pipeline.models.cascade import CascadeModel
from pipeline.models.local import BaselineModel
from pipeline.models.pricing import estimate_cost
from pipeline.models.replay import ReplayModel
from pipeline.moderation import assess
from pipeline.prompts import DirectoryPromptStore

from .conftest import REPO

SECOND_ID = "amazon.nova-micro-v1:0"
SECOND_ANSWER = {
    "suspicious": True,
    "score": 0.7,
    "categories": ["advance_fee_deposit"],
    "rationale": "deposit before a visit",
}


class FixedScoreModel:
    """A first tier that always answers the same score, at a known cost and latency."""

    def __init__(self, score: float | None, *, threshold: float = 0.5) -> None:
        self.model_id = "fixed"
        self.score = score
        self.threshold = threshold
        self.calls = 0

    def generate(self, prompt: Any, *, schema: Any = None, deadline_s: Any = None) -> ModelResult:
        self.calls += 1
        structured = (
            {"rationale": "no score"}
            if self.score is None
            else {
                "suspicious": self.score >= self.threshold,
                "score": self.score,
                "categories": ["other"] if self.score >= self.threshold else [],
                "rationale": "fixed",
            }
        )
        return ModelResult(
            model_id=self.model_id,
            structured=structured,
            input_tokens=3,
            output_tokens=2,
            latency_ms=5.0,
            cost_usd=0.001,
        )


class DeadlineRecorder(ReplayModel):
    def generate(self, prompt: Any, *, schema: Any = None, deadline_s: Any = None) -> ModelResult:
        self.deadline_seen = deadline_s
        result = super().generate(prompt, schema=schema, deadline_s=deadline_s)
        return ModelResult(
            model_id=result.model_id,
            structured=result.structured,
            input_tokens=400,
            output_tokens=40,
            latency_ms=120.0,
        )


@pytest.fixture(scope="module")
def template() -> Any:
    return DirectoryPromptStore(REPO / "prompts").get("suspicious-conversation@2")


@pytest.fixture(scope="module")
def prompt(template: Any) -> Any:
    conversation = conversation_from_dict(
        {
            "id": "c1",
            "messages": [
                {"sender": "buyer", "text": "I am interested in your house, can we fix a visit?"},
                {"sender": "seller", "text": "Send me a 5000 dollar deposit before the visit"},
            ],
        }
    )
    return template.render_conversation(conversation)


def _cascade(score: float | None, second: ReplayModel | None = None) -> CascadeModel:
    second = second or ReplayModel([SECOND_ANSWER], model_id=SECOND_ID)
    return CascadeModel(FixedScoreModel(score), second, low=0.2, high=0.8)


def test_below_low_is_cleared_locally_without_calling_the_second(prompt: Any) -> None:
    second = ReplayModel([SECOND_ANSWER], model_id=SECOND_ID)
    result = _cascade(0.05, second).generate(prompt)
    assert result.decided_by == "first:fixed"
    assert result.structured["suspicious"] is False
    assert second.history == []
    assert (result.input_tokens, result.output_tokens, result.cost_usd) == (3, 2, 0.001)


def test_above_high_is_flagged_locally(prompt: Any) -> None:
    second = ReplayModel([SECOND_ANSWER], model_id=SECOND_ID)
    result = _cascade(0.95, second).generate(prompt)
    assert result.decided_by == "first:fixed"
    assert result.structured["suspicious"] is True
    assert second.history == []


@pytest.mark.parametrize("score", [0.2, 0.5, 0.8, None])
def test_the_band_and_scoreless_answers_go_to_the_second_model(prompt: Any, score: Any) -> None:
    second = DeadlineRecorder([SECOND_ANSWER], model_id=SECOND_ID)
    result = _cascade(score, second).generate(prompt, deadline_s=6.0)
    # the second model's answer, with both calls' accounting
    assert result.decided_by == f"second:{SECOND_ID}"
    assert result.model_id == SECOND_ID
    assert result.structured == SECOND_ANSWER
    assert (result.input_tokens, result.output_tokens) == (403, 42)
    assert result.latency_ms == pytest.approx(125.0)
    assert result.cost_usd == pytest.approx(0.001 + estimate_cost(SECOND_ID, 400, 40))
    assert result.extra["first_score"] == score
    # the second model gets what is left of the deadline
    assert second.deadline_seen == pytest.approx(6.0 - 0.005)
    assert len(second.history) == 1


def test_a_failing_second_model_propagates_instead_of_using_the_first_guess(prompt: Any) -> None:
    second = ReplayModel([ThrottledError("slow down")], model_id=SECOND_ID)
    with pytest.raises(ThrottledError):
        _cascade(0.5, second).generate(prompt)
    second.enqueue(ModelError("broken", retryable=False))
    with pytest.raises(ModelError, match="broken"):
        _cascade(0.5, second).generate(prompt)


def test_an_overridden_band_wins_over_the_first_models_own_threshold(prompt: Any) -> None:
    # The first model says suspicious at 0.6 (its threshold is 0.5); the band clears below 0.7.
    model = CascadeModel(FixedScoreModel(0.6), ReplayModel(model_id=SECOND_ID), low=0.7, high=0.9)
    result = model.generate(prompt)
    assert result.decided_by == "first:fixed"
    assert result.structured["suspicious"] is False and result.structured["categories"] == []


def test_thresholds_default_to_the_baseline_artifact() -> None:
    baseline = BaselineModel()
    model = CascadeModel(baseline, ReplayModel())
    assert (model.low, model.high) == baseline.cascade_band
    assert model.model_id == "cascade:local:baseline>replay"
    overridden = CascadeModel(baseline, ReplayModel(), low=0.1)
    assert (overridden.low, overridden.high) == (0.1, baseline.cascade_band[1])


def test_bad_thresholds_are_configuration_errors() -> None:
    with pytest.raises(ConfigError, match="stores no thresholds"):
        CascadeModel(FixedScoreModel(0.5), ReplayModel())
    with pytest.raises(ConfigError, match="low <= high"):
        CascadeModel(FixedScoreModel(0.5), ReplayModel(), low=0.9, high=0.1)


def test_cascade_references_resolve() -> None:
    model = resolve("cascade:local:baseline>replay:")
    assert isinstance(model, CascadeModel)
    assert isinstance(model.first, BaselineModel) and isinstance(model.second, ReplayModel)
    tuned = resolve("cascade:local:baseline>replay:", low="0.05", high=0.95)
    assert (tuned.low, tuned.high) == (0.05, 0.95)
    with pytest.raises(ConfigError, match="two models"):
        resolve("cascade:local:baseline")
    with pytest.raises(ConfigError, match="numbers"):
        resolve("cascade:local:baseline>replay:", low="low")
    with pytest.raises(ConfigError):
        resolve("cascade:local:nope>replay:")


def test_assess_with_the_cascade_records_the_deciding_tier(template: Any) -> None:
    conversation = conversation_from_dict(
        {"id": "c2", "messages": [{"sender": "buyer", "text": "Is the bike still available?"}]}
    )
    baseline = BaselineModel()
    second = ReplayModel([SECOND_ANSWER], model_id=SECOND_ID)
    # A band around this conversation's own score forces the second tier; an empty band does not.
    score = baseline.score(conversation)
    routed = assess(conversation, template, CascadeModel(baseline, second, low=0.0, high=1.0))
    local = assess(
        conversation,
        template,
        CascadeModel(baseline, second, low=min(1.0, score + 0.01), high=min(1.0, score + 0.01)),
    )
    assert routed.decided_by == f"second:{SECOND_ID}" and routed.suspicious is True
    assert local.decided_by == "first:local:baseline" and local.suspicious is False
    assert local.cost_usd == 0.0
