"""Rewrites one step beyond the evasion suite's, and the everyday Unicode of honest
people (issue 18, findings 1 and 4): every rewrite family is undone for matching and a
scam rewritten so is still flagged by `local:baseline`; every honest case counts no
obfuscation and is left unflagged."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.rewrite_families import (
    FAMILIES,
    WHOLE,
    caught_scams,
    rewrite_request,
    rewrite_text,
    rewrite_whole,
)
from pipeline.conversation import conversation_from_dict
from pipeline.models.local import BaselineModel, obfuscation
from pipeline.normalise import Normalised, normalise
from pipeline.prompts import DirectoryPromptStore
from tests.conftest import REPO

MODEL = BaselineModel()
STORE = DirectoryPromptStore(REPO / "prompts")
REQUEST = "Send me the deposit by bank transfer today"
HONEST_CORPUS = REPO / "evals/datasets/honest-multilingual.jsonl"


@pytest.fixture(scope="module")
def scams() -> list:
    # A spread of the test split's caught scams: every fourth one (15 of 58).
    return caught_scams(MODEL)[::4]


# -- finding 1: each rewrite family ----------------------------------------------------


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_each_rewrite_is_read_back_as_the_words(family: str) -> None:
    rewritten = rewrite_text(REQUEST, family, random.Random(0))
    # the control: the rewrite does hide the words from a plain matcher
    assert "deposit" not in rewritten.lower()
    found = normalise(rewritten)
    assert "deposit" in found.text.lower() and "transfer" in found.text.lower()
    assert found.obfuscated >= 3, found


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_a_scam_rewritten_by_each_family_is_still_flagged(family: str, scams: list) -> None:
    missed = [c.id for c in scams if MODEL.score(rewrite_request(c, family)) < MODEL.threshold]
    assert not missed, f"{family}: {missed}"


@pytest.mark.parametrize("family", WHOLE)
def test_a_whole_conversation_in_fancy_text_is_still_flagged(family: str, scams: list) -> None:
    for conversation in scams:
        rewritten = rewrite_whole(conversation, family)
        turns = [(m.sender, m.text) for m in rewritten.messages]
        # the features alone, without the obfuscation rule, read it like the plain one
        assert MODEL.artifact.probability(turns) >= MODEL.threshold, conversation.id


def test_the_model_sees_the_text_as_written_with_the_marker() -> None:
    text = rewrite_text(REQUEST, "small_caps", random.Random(0))
    rendered = STORE.get("suspicious-conversation@2").render_conversation(
        conversation_from_dict({"id": "c", "messages": [{"sender": "seller", "text": text}]})
    )
    assert text in rendered.user  # not folded for the model
    assert "[parley: 0 invisible and" in rendered.user
    assert sum(rendered.obfuscation) >= 3


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("&#100;eposit &amp; fees", "deposit & fees"),
        ("&amp;#100;eposit", "deposit"),  # decoded until nothing is left: idempotent
        ("AT&T, R&D &copy", "AT&T, R&D &copy"),  # only references ended by ";"
        ("send \u202etisoped\u202c now", "send deposit now"),
        ("the dep\nosit and pay  ment", "the deposit and payment"),
        ("d.e-p.o-s.i-t", "deposit"),
        ("$end ca$h by p@y", "send cash by pay"),
        ("c()de and |ink", "code and link"),
        ("write to john@example.com or @maria", "write to john@example.com or @maria"),
        ("the \u0501\u0435\u0440\u043e\u0455\u0456\u0442 now", "the deposit now"),  # т: ᴛ
    ],
)
def test_each_rewrite_is_undone(written: str, read: str) -> None:
    assert normalise(written).text == read


# -- finding 4: honest Unicode counts nothing -----------------------------------------

SCOTLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
ENGLAND = "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f"
HONEST = {
    "scotland flag": f"Posting from Edinburgh {SCOTLAND}, happy to meet halfway",
    "england flag": f"Go {ENGLAND}! Collection Saturday is fine",
    "keycaps": "Three questions: 1\ufe0f\u20e3 box? 2\ufe0f\u20e3 scratches? 3\ufe0f\u20e3 collection?",
    "double exclamation": "Collection is fine \u203c\ufe0f",
    "emoji sequences": "Thanks \U0001f468\u200d\U0001f469\u200d\U0001f467 \U0001f44d\U0001f3fd \u2764\ufe0f",
    "hebrew rlm": "\u05de\u05e2\u05d5\u05dc\u05d4, \u05d1-14:30\u200f \u05de\u05ea\u05d0\u05d9\u05dd?",
    "arabic rlm": "\u062a\u0643\u0644\u0641\u0629 \u0627\u0644\u0634\u062d\u0646 25\u200f \u062f\u0631\u0647\u0645",
    "german soft hyphens": "Wie hoch sind die Ver\u00adsand\u00adkos\u00adten f\u00fcr das Fahr\u00adrad?",
    "byte order mark": "\ufeffHi, is the bike still available?",
    "pasted zero-width space": "Tracking number AB123456785GB\u200b, posted today\u200b",
    "zero-width space in a word": "The bi\u200bke is still here",
    "russian name": "Hi \u0421\u0430\u0440\u0430, is the pram still available?",
    "greek name": "My friend \u0393\u03b9\u03ce\u03c1\u03b3\u03bf\u03c2 can show it",
    "persian zwnj": "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645 \u0628\u062e\u0631\u0645",
    "accented words": "El depósito de la fianza, le chèque, die Überweisung, très bien",
    "vietnamese": "Xe đạp còn không? Tôi muốn mua ngay",
    "fancy text no keyword": "\U0001d406\U0001d42b\U0001d41e\U0001d41a\U0001d42d condition!",
    "fullwidth in japanese": "ｉＰｈｏｎｅ　１３、まだありますか？",
}


@pytest.mark.parametrize("case", sorted(HONEST))
def test_everyday_unicode_counts_no_obfuscation(case: str) -> None:
    assert normalise(HONEST[case]).obfuscated == 0


@pytest.mark.parametrize("case", sorted(HONEST))
def test_an_honest_conversation_with_everyday_unicode_is_not_flagged(case: str) -> None:
    conversation = conversation_from_dict(
        {
            "id": "c-honest",
            "messages": [
                {"sender": "buyer", "text": "Hi, is the bike still available?"},
                {"sender": "seller", "text": HONEST[case]},
                {"sender": "buyer", "text": "Great, see you on Saturday then."},
            ],
        }
    )
    turns = [(m.sender, m.text) for m in conversation.messages]
    assert obfuscation(turns) == 0
    # the obfuscation rule does not raise it: the score is the calibrated probability
    assert MODEL.score(conversation) == MODEL.artifact.probability(turns)


def test_a_russian_name_stays_russian_and_a_russian_keyword_does_not() -> None:
    found = normalise("Hi \u0421\u0430\u0440\u0430, send the \u0440\u0430\u0443ment")
    assert "\u0421\u0430\u0440\u0430" in found.text and "Capa" not in found.text
    # the control: a whole look-alike word that reads as a vocabulary word is mapped
    assert normalise("please \u0440\u0430\u0443 now") == normalise("please \u0440\u0430\u0443 now")
    assert normalise("please \u0440\u0430\u0443 now").text == "please pay now"
    assert normalise("please \u0440\u0430\u0443 now").lookalikes == 3


def test_the_same_characters_count_where_they_disguise_a_word() -> None:
    # Controls for the honest cases: the characters are not ignored as such.
    assert normalise("de\u00adpo\u00adsit").hidden == 0  # syllables: ordinary
    assert normalise("d\u00ade\u00adp\u00ado\u00ads\u00adi\u00adt").hidden == 6
    assert normalise("de\u200bpo\u200bsit").hidden == 2
    assert normalise("d\u00e9p\u00f3s\u00edt").lookalikes == 7 - 4  # three accents
    tags = "".join(chr(0xE0000 + ord(c)) for c in "ok")
    assert normalise(f"fine{tags}").hidden == 2  # tag characters outside a flag


def test_no_honest_corpus_conversation_counts_obfuscation_or_is_raised() -> None:
    rows = [json.loads(line) for line in HONEST_CORPUS.read_text().splitlines()]
    assert len(rows) >= 150 and len({r["lang"] for r in rows}) >= 8
    assert {r["label"] for r in rows} == {0}
    for row in rows:
        turns = [(m["sender"], m["text"]) for m in row["messages"]]
        assert obfuscation(turns) == 0, row["id"]
        score = MODEL.score(conversation_from_dict(row))
        assert score == MODEL.artifact.probability(turns), row["id"]


def test_the_honest_corpus_has_the_unicode_it_is_for() -> None:
    text = HONEST_CORPUS.read_text()
    for needed in (
        SCOTLAND,
        ENGLAND,
        "\u20e3",
        "\u203c\ufe0f",
        "\u200f",
        "\u00ad",
        "\ufeff",
        "\u200b",
        "\u0421\u0430\u0440\u0430",
        "€",
        "£",
    ):
        assert needed in text, repr(needed)


# Text rich in what normalisation undoes: fancy letters, look-alikes, marks, bidi
# overrides, entities, separators and symbols.
DISGUISE_ALPHABET = st.characters(codec="utf-8") | st.sampled_from(
    list("$@|!()&#;.-_ \n\u00a0\u2009\u202e\u202c\u200b\u00ad\u0301ᴅᴇ🅳⒟⠙аертºᶛǄ")
)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=DISGUISE_ALPHABET, max_size=60))
def test_normalising_disguised_text_twice_equals_once(text: str) -> None:
    once = normalise(text)
    assert normalise(once.text) == Normalised(once.text)
