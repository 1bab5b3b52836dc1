"""The skill emulator's canned companion (a lookup table, not an LLM): what its rows say."""

from __future__ import annotations

import pytest

from pipeline.emulator import EmulatorRequest
from pipeline.emulator.companion import CANNED_ANSWERS, CANNED_DEFAULT, canned_companion
from pipeline.prompts import DirectoryPromptStore
from pipeline.screen import screen_output
from tests.conftest import REPO
from tests.test_prompts import conv


def ask(utterance: str, *earlier: str, prompt: str = "companion@1") -> str:
    # The responder reads the rendered prompt, as it does behind the emulator.
    template = DirectoryPromptStore(REPO / "prompts").get(prompt)
    rendered = template.render_conversation(conv(*earlier, senders=("child",)), utterance=utterance)
    request = EmulatorRequest(
        model_id="m", operation="Converse", body={}, prompt_text=rendered.system + rendered.user
    )
    return canned_companion(request).text or ""


@pytest.mark.parametrize("answer", [row[1] for row in CANNED_ANSWERS] + [CANNED_DEFAULT])
def test_every_canned_answer_passes_the_output_screen(answer: str) -> None:
    assert screen_output(answer).ok


@pytest.mark.parametrize("prompt", ["companion@1", "companion@2"])
@pytest.mark.parametrize(
    "said",
    ["ouch I fell off my bike", "I'm lost and I can't find daddy", "I'm scared of the thunder"],
)
def test_a_hurt_scared_or_lost_child_is_sent_to_a_grown_up(said: str, prompt: str) -> None:
    assert "grown-up right now" in ask(said, prompt=prompt)


def test_safety_rows_answer_before_a_treat() -> None:
    answer = ask("can I have the medicine, it tastes like sweets")

    assert "grown-ups" in answer and "sweet treats" not in answer.lower()


def test_private_details_are_not_repeated() -> None:
    answer = ask("my dad's phone number is 07700 900123")

    assert "private" in answer
    assert "900123" not in answer and "07700" not in answer


def test_treat_memory_still_comes_from_earlier_child_turns() -> None:
    answer = ask("and a biscuit", "a cup of coffee")

    assert "you asked for a cup of coffee too" in answer
