"""The output screen for a child: cleaning, length cap, contacts, word floor, SSML."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.screen import (
    MAX_ANSWER_CHARS,
    cap_length,
    clean_input,
    find_contacts,
    screen_output,
    ssml_escape,
    unsafe_categories,
)


def test_a_kind_answer_passes_unchanged() -> None:
    text = "Coffee is for grown-ups! How about a warm cup of milk after lunch?"
    result = screen_output(text)
    assert result.ok
    assert result.text == text
    assert result.changes == ()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Visit https://example.com for more games!", "url"),
        ("Look at www.cartoons.example to watch.", "url"),
        ("Go to funnyanimals.com with a grown-up.", "url"),
        ("Ask them to go to pip dot com.", "url"),
        ("Write to pip@example.com and say hi!", "email"),
        ("Call 555-0123-4567 to hear a song.", "phone"),
        ("Call (212) 555 0199 now.", "phone"),
        ("Our number is +44 20 7946 0958.", "phone"),
    ],
)
def test_contact_details_fail_the_screen(text: str, kind: str) -> None:
    result = screen_output(text)
    assert not result.ok
    assert kind in result.problems


@pytest.mark.parametrize(
    "text",
    [
        "Let's count: 1, 2, 3, 4, 5, 6, 7, 8, 9, 10!",
        "One 2 3 4 5 6 7 8 jump!",
        "You are 4 years old and it is 2024.",
        "I have 10 20 30 40 balloons.",
    ],
)
def test_counting_is_not_a_phone_number(text: str) -> None:
    assert "phone" not in find_contacts(text)


def test_ssml_from_the_model_never_passes_through() -> None:
    raw = '<speak>Hi <audio src="https://evil.example/x.mp3"/> there <break time="3s"/></speak>'
    result = screen_output(raw)
    assert "<" not in result.ssml and ">" not in result.ssml
    assert "audio" not in result.text and "break" not in result.text
    assert result.text == "Hi there"
    assert "markup_removed" in result.changes


def test_escaped_markup_is_decoded_then_removed() -> None:
    result = screen_output("&lt;speak&gt;Hello&lt;/speak&gt; friend")
    assert result.text == "Hello friend"


def test_ssml_escaping_keeps_the_text_and_escapes_specials() -> None:
    result = screen_output("Milk & honey: 3 < 5 and 6 > 4")
    assert result.ok
    assert result.text == "Milk & honey: 3 < 5 and 6 > 4"
    assert result.ssml == "Milk &amp; honey: 3 &lt; 5 and 6 &gt; 4"


def test_markdown_and_control_characters_are_removed() -> None:
    result = screen_output("**Yay!** _let's_ `dance`\x07\u202e")
    assert result.text == "Yay! let's dance"


def test_long_answer_is_cut_at_a_sentence_end() -> None:
    sentence = "Dinosaurs were very big and very old. "
    text = sentence * 40
    result = screen_output(text)
    assert result.ok
    assert len(result.text) <= MAX_ANSWER_CHARS
    assert result.text.endswith(".")
    assert "truncated" in result.changes


def test_cap_without_sentence_end_cuts_at_a_word() -> None:
    capped = cap_length("word " * 200, 50)
    assert len(capped) <= 51
    assert capped.endswith("word.")


def test_something_after_the_cut_still_fails_the_screen() -> None:
    text = "Nice. " * 150 + "Email me at pip@example.com"
    assert not screen_output(text).ok


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Let's have a beer!", "substances"),
        ("That is stupid.", "insults"),
        ("This is our secret, don't tell your mom.", "secrecy"),
        ("Where do you live?", "secrecy"),
        ("I have a gun.", "violence"),
    ],
)
def test_word_floor_flags_unsafe_content(text: str, category: str) -> None:
    assert category in unsafe_categories(text)
    assert not screen_output(text).ok


@pytest.mark.parametrize(
    "text",
    [
        "Hello! Shall we play?",
        "The ugly duckling became a swan.",
        "Let's pass the ball to the class.",
        "Hello, shell, hellooo!",
    ],
)
def test_word_floor_matches_whole_words_only(text: str) -> None:
    assert unsafe_categories(text) == []


def test_empty_answer_fails() -> None:
    assert screen_output("   ").problems == ("empty",)
    assert screen_output(None).problems == ("empty",)
    assert screen_output("<b></b>").problems == ("empty",)


def test_input_is_cleaned_and_bounded() -> None:
    assert clean_input("  <b>a cup</b> of coffee\x00 ") == "a cup of coffee"
    assert len(clean_input("x" * 5000)) == 500
    assert clean_input(None) == ""


@given(st.text(max_size=800))
def test_screened_ssml_is_always_literal_text(text: str) -> None:
    ssml = screen_output(text).ssml
    assert "<" not in ssml and ">" not in ssml
    # Every ampersand starts one of the three entities the escaping writes.
    assert all(m in ("&amp;", "&lt;", "&gt;") for m in re.findall(r"&[a-z]*;?", ssml))
    assert len(screen_output(text).text) <= MAX_ANSWER_CHARS


@given(st.text(max_size=200))
def test_ssml_escape_round_trips(text: str) -> None:
    escaped = ssml_escape(text)
    assert escaped.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") == text
