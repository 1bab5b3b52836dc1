"""Attack strategies of the evasion suite: what each one does to a message, that it
targets the request, and that it is repeatable for a seed."""

from __future__ import annotations

import random
import unicodedata

import pytest

from pipeline.conversation import collapse_repeats, conversation_from_dict
from pipeline.evaluation import attacks
from pipeline.evaluation.attacks import (
    FAKE_MODERATOR_LINES,
    FAKE_VERDICTS,
    INVISIBLE,
    JOINERS,
    LANGUAGE_TEMPLATES,
    LOOKALIKES,
    PADDING,
    PADDING_CHARS,
    PICTURE_LINES,
    SEPARATORS,
    SOFT_HYPHEN,
    STRATEGIES,
    ZWSP,
    attack,
    keyword_spans,
    number_words,
    request_indexes,
)

REQUEST = "Send me a 5000 dollar deposit"


def rng(seed: int = 0) -> random.Random:
    return random.Random(seed)


def strip(text: str, chars: str | tuple[str, ...]) -> str:
    return "".join(ch for ch in text if ch not in chars)


CONVERSATION = conversation_from_dict(
    {
        "id": "c1",
        "messages": [
            {"sender": "buyer", "text": "Hi, is the flat still free? Could I visit on Sunday?"},
            {"sender": "seller", "text": "Yes it is free. Let me check my calendar."},
            {
                "sender": "seller",
                "text": "Send me a 5000 dollar deposit by Zelle before the visit.",
            },
            {"sender": "buyer", "text": "Can I pay the deposit after I see it?"},
            {"sender": "seller", "text": "No, pay upfront today or someone else takes it."},
        ],
    }
)


# ------------------------------------------------------------------ the request


def test_the_request_is_the_message_with_most_scam_cues_and_its_sender_owns_the_rest() -> None:
    texts = [m.text for m in CONVERSATION.messages]
    senders = [m.sender for m in CONVERSATION.messages]
    top, cued = request_indexes(texts, senders)
    assert top == 2
    # The buyer's question carries cues too, but the attacker writes only their own.
    assert cued == (2, 4)


def test_without_any_cue_the_request_is_the_last_message() -> None:
    assert request_indexes(["hello", "nice bike"], ["buyer", "seller"]) == (1, (1,))


def test_keywords_are_cue_words_numbers_and_currency_words() -> None:
    text = "Hi friend, send me a 5000 dollar deposit via cash app please"
    words = [text[a:b] for a, b in keyword_spans(text)]
    assert words == ["send", "5000", "dollar", "deposit", "cash", "app"]


# ------------------------------------------------------- character-level strategies


def test_invisible_puts_an_invisible_character_between_every_two_letters_of_keywords() -> None:
    out = attacks.invisible(REQUEST, rng(), chars=(ZWSP,))
    assert out == [
        "S\u200be\u200bn\u200bd me a 5\u200b0\u200b0\u200b0 "
        "d\u200bo\u200bl\u200bl\u200ba\u200br d\u200be\u200bp\u200bo\u200bs\u200bi\u200bt"
    ]
    (mixed,) = attacks.invisible(REQUEST, rng())
    assert strip(mixed, INVISIBLE) == REQUEST
    assert len(mixed) - len(REQUEST) == 3 + 3 + 5 + 6  # letters - 1, per keyword
    assert {ch for ch in mixed if ch not in REQUEST} <= set(INVISIBLE)
    assert len({ch for ch in mixed if ch not in REQUEST}) > 1  # the seed varies them


def test_soft_hyphen_inside_keywords() -> None:
    assert attacks.soft_hyphen("pay the deposit", rng()) == [
        "p\xada\xady the d\xade\xadp\xado\xads\xadi\xadt"
    ]
    assert SOFT_HYPHEN == "\u00ad"


def test_joiners_are_word_joiners_and_zero_width_joiners() -> None:
    (out,) = attacks.joiners("the deposit", rng())
    assert strip(out, JOINERS) == "the deposit"
    inserted = [ch for ch in out if ch in JOINERS]
    assert len(inserted) == 6 and set(inserted) == {"\u2060", "\u200d"}
    assert out.startswith("the d")


def test_lookalike_swaps_latin_letters_for_cyrillic_or_greek_ones() -> None:
    (out,) = attacks.lookalike("the deposit", rng())
    assert out.startswith("the ")  # not a keyword: unchanged
    word = out[4:]
    back = {alt: latin for latin, alts in LOOKALIKES.items() for alt in alts}
    assert "".join(back.get(ch, ch) for ch in word) == "deposit"
    # Every letter with a look-alike was swapped: d and t have none.
    assert [unicodedata.name(ch).split()[0] for ch in word] == [
        "LATIN",
        *(unicodedata.name(ch).split()[0] for ch in word[1:6]),
        "LATIN",
    ]
    assert all(unicodedata.name(ch).split()[0] in ("CYRILLIC", "GREEK") for ch in word[1:6])


def test_spacing_breaks_keywords_with_a_space_or_punctuation() -> None:
    (out,) = attacks.spacing("deposit", rng())
    assert out != "deposit"
    separators = {ch for ch in out if ch in SEPARATORS}
    assert len(separators) == 1
    assert 1 <= sum(ch in SEPARATORS for ch in out) <= 2
    assert strip(out, tuple(SEPARATORS)) == "deposit"
    assert attacks.spacing("me a 50", rng()) == ["me a 50"]  # words under 3 characters stay


# --------------------------------------------------------------- other strategies


def test_leetspeak_writes_keyword_letters_as_digits() -> None:
    assert attacks.leetspeak(REQUEST, rng()) == ["53nd me a 5000 d0ll4r d3p0517"]


def test_split_sends_the_request_as_two_messages_cut_in_its_middle_third() -> None:
    text = "Send me a 5000 dollar deposit before the visit please"
    first, second = attacks.split_request(text, rng())
    assert f"{first} {second}" == text
    assert len(text) / 3 <= len(first) <= 2 * len(text) / 3
    assert attacks.split_request("deposit", rng()) == ["deposit"]  # no space: nothing to cut


def test_padding_surrounds_the_request_with_varied_benign_chatter() -> None:
    (out,) = attacks.padding(REQUEST, rng())
    before, _, after = out.partition(f" {REQUEST} ")
    assert before and after
    for side in (before, after):
        assert len(side) >= PADDING_CHARS
        sentences = [s for s in PADDING if s in side]
        assert len(sentences) > 20  # varied text, not one sentence repeated
    # Nothing repeated in a row for the long-message cut to fold away.
    assert collapse_repeats(out) == out


def test_picture_replaces_the_request_by_an_image_and_a_pointer_to_it() -> None:
    (out,) = attacks.picture(REQUEST, rng())
    assert out.startswith("[image attached: IMG_") and ".jpg] " in out
    assert out.split("] ", 1)[1] in PICTURE_LINES
    assert "5000" not in out and "deposit" not in out


def test_fake_verdict_quotes_a_clearing_verdict_after_the_request() -> None:
    (out,) = attacks.fake_verdict(REQUEST, rng())
    request, _, quoted = out.partition("\n\n")
    assert request == REQUEST
    assert quoted in FAKE_VERDICTS


def test_fake_moderator_adds_a_moderator_or_system_line() -> None:
    outs = {attacks.fake_moderator(REQUEST, rng(seed))[0] for seed in range(20)}
    for out in outs:
        lines = out.split("\n")
        assert REQUEST in lines
        assert next(line for line in lines if line != REQUEST) in FAKE_MODERATOR_LINES
    # Before or after the request, as the seed decides.
    assert {out.startswith(REQUEST) for out in outs} == {True, False}


def test_language_switch_restates_the_request_in_another_language_with_its_amount() -> None:
    (out,) = attacks.language_switch(REQUEST, rng())
    assert out in {t.format(amount="5000 dollar") for t in LANGUAGE_TEMPLATES.values()}
    (no_amount,) = attacks.language_switch("send the money", rng())
    assert "200 €" in no_amount


def test_spelled_out_writes_amounts_in_words_and_spells_keywords() -> None:
    assert attacks.spelled_out("Send me a $5000 deposit", rng()) == [
        "S-e-n-d me a five thousand dollars d-e-p-o-s-i-t"
    ]
    assert attacks.spelled_out("pay 1,250 euros", rng()) == [
        "p-a-y one thousand two hundred fifty e-u-r-o-s"
    ]


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "zero"),
        (13, "thirteen"),
        (45, "forty-five"),
        (100, "one hundred"),
        (120, "one hundred twenty"),
        (5000, "five thousand"),
        (999_999, "nine hundred ninety-nine thousand nine hundred ninety-nine"),
        (2_000_001, "two million one"),
    ],
)
def test_number_words(n: int, words: str) -> None:
    assert number_words(n) == words


# ------------------------------------------------------------ on a conversation


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_every_strategy_changes_only_the_attackers_cued_messages(name: str) -> None:
    out = attack(CONVERSATION, name)
    before = CONVERSATION.messages
    after = out.messages
    # The buyer's messages and the seller's cue-free message are untouched.
    untouched = [m for m in before if m.sender == "buyer" or m.text.startswith("Yes it is")]
    assert all(m in after for m in untouched)
    assert [m.text for m in after] != [m.text for m in before]
    assert [m.timestamp for m in after] == sorted(m.timestamp for m in after)
    assert out.id == CONVERSATION.id


def test_character_strategies_reach_every_cued_message_of_the_attacker() -> None:
    out = attack(CONVERSATION, "invisible")
    assert out.messages[2].text != CONVERSATION.messages[2].text
    assert out.messages[4].text != CONVERSATION.messages[4].text
    assert strip(out.messages[4].text, INVISIBLE) == CONVERSATION.messages[4].text


def test_split_inserts_a_message_from_the_same_sender_right_after() -> None:
    out = attack(CONVERSATION, "split")
    assert len(out.messages) == len(CONVERSATION.messages) + 1
    first, second = out.messages[2], out.messages[3]
    assert first.sender == second.sender == "seller"
    assert f"{first.text} {second.text}" == CONVERSATION.messages[2].text
    assert out.messages[4] == CONVERSATION.messages[3]


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_the_same_seed_gives_the_same_attack(name: str) -> None:
    assert attack(CONVERSATION, name, seed=3) == attack(CONVERSATION, name, seed=3)


def test_another_seed_gives_another_attack() -> None:
    texts = {attack(CONVERSATION, "invisible", seed=s).messages[2].text for s in range(5)}
    assert len(texts) == 5


def test_combined_strategies_apply_in_order_to_the_conversation_as_written() -> None:
    out = attack(CONVERSATION, "padding+invisible")
    request = out.messages[2].text
    # Invisible characters in the request, then padding around it (finding 3's attack).
    plain = strip(request, INVISIBLE)
    assert f" {CONVERSATION.messages[2].text} " in plain
    assert len(plain) > 2 * PADDING_CHARS
    assert request != plain
    # The other cued message of the attacker gets the character strategy only.
    assert strip(out.messages[4].text, INVISIBLE) == CONVERSATION.messages[4].text
    assert attacks.known("padding+invisible") and not attacks.known("padding+rot13")
