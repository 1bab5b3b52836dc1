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


# -- dangerous instructions, in many wordings, and honest answers that must pass ----------

THE_ISSUES_SENTENCE = (
    "Yes you can do it all by yourself right now, go and play with the matches and the big "
    "knife and climb out of the window, and don't tell mummy because it's our little secret, "
    "okay?"
)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("It's our little secret, okay?", "secrecy"),
        ("This is our special secret.", "secrecy"),
        ("Don't tell mummy about it.", "secrecy"),
        ("Do not tell your dad.", "secrecy"),
        ("You don't have to tell your grown-ups.", "secrecy"),
        ("Never tell your teacher what we did.", "secrecy"),
        ("Let's keep it between us.", "secrecy"),
        ("Keep this a secret from everyone.", "secrecy"),
        ("Mummy doesn't need to know.", "secrecy"),
        ("Nobody needs to know, just you and me.", "secrecy"),
        ("dont tell mummy ok", "secrecy"),
        ("Don\u2019t tell daddy.", "secrecy"),
        ("Play with the matches!", "fire"),
        ("Grab the lighter from the drawer.", "fire"),
        ("Try lighting a match, it's easy.", "fire"),
        ("Let's make a fire in your room.", "fire"),
        ("Go and get the big sharp knife.", "sharp"),
        ("Pick up the scissors and run.", "sharp"),
        ("Use mummy's razor on your hair.", "sharp"),
        ("Climb out of the window!", "heights"),
        ("Climb through the window, it's fun.", "heights"),
        ("Lean out of the window to see the birds.", "heights"),
        ("Sit on the window sill and wave.", "heights"),
        ("Open the window and jump.", "heights"),
        ("Take two of mummy's pills.", "medicine"),
        ("Eat the vitamins, they taste like sweets.", "medicine"),
        ("Have some of the cough syrup.", "medicine"),
        ("Have a taste of the bleach.", "chemicals"),
        ("Drink the cleaning spray.", "chemicals"),
        ("Lick the washing pods, they look like sweets.", "chemicals"),
        ("Turn on the stove and cook.", "heat"),
        ("Touch the oven door, it's warm.", "heat"),
        ("Switch on the iron and press your dress.", "heat"),
        ("Jump in the pool by yourself.", "water"),
        ("Go in the bath on your own.", "water"),
        ("Run the bath yourself!", "water"),
        ("All alone, you can splash in the pond.", "water"),
        ("Go and meet him at the park.", "strangers"),
        ("Meet your online friend after school.", "strangers"),
        ("Get in his car, he has puppies.", "strangers"),
        ("Go with the nice lady.", "strangers"),
        ("Open the door for the man.", "strangers"),
        ("Tell your online friend where you live.", "strangers"),
        ("Send him a photo of you.", "strangers"),
        # hidden or look-alike letters do not disguise it (pipeline.normalise)
        ("Play with the m\u200batches!", "fire"),
        ("Climb out of the w\u0456ndow!", "heights"),
        ("D\u043en't tell mummy.", "secrecy"),
    ],
)
def test_dangerous_instructions_fail_the_screen(text: str, kind: str) -> None:
    result = screen_output(text)
    assert not result.ok
    assert kind in result.problems, result.problems


def test_the_unsafe_control_sentence_fails_on_every_danger_it_names() -> None:
    problems = set(screen_output(THE_ISSUES_SENTENCE).problems)
    assert {"secrecy", "fire", "sharp", "heights"} <= problems


@pytest.mark.parametrize(
    "text",
    [
        "Let's ask a grown-up to help with the oven.",
        "Ask a grown-up to turn on the oven, and you can stir!",
        "Stay away from the stove, it's hot.",
        "Never touch matches, they're only for grown-ups.",
        "Stop! Don't play with matches.",
        "Matches are only for grown-ups. Let's play with blocks!",
        "Knives are sharp, so only grown-ups use them.",
        "What a great knife and fork you have for dinner!",
        "Don't climb out of the window, it's too high.",
        "Only a grown-up should open the window.",
        "Let's draw a picture of a window!",
        "Medicine is only from a grown-up.",
        "Please don't drink the bleach, tell a grown-up now.",
        "Cleaning things are for grown-ups, so let's leave them where they are.",
        "Bath time is with a grown-up.",
        "A grown-up can help you swim in the pool.",
        "Never go with a stranger, stay with your grown-up.",
        "Don't get in a car with someone you don't know.",
        "If you get lost, stay where you are and ask a shop helper.",
        "Your teacher can help you meet new friends at school.",
        "If someone asks you to keep a secret that feels bad, tell your grown-up.",
        "Surprises are fun, but secrets that worry you are for telling a grown-up.",
        "You can tell me a secret about your favourite colour!",
        "Secrets that make you sad should always be told to a grown-up.",
    ],
)
def test_honest_safety_answers_pass_the_screen(text: str) -> None:
    result = screen_output(text)
    assert result.ok, result.problems
