"""Broken and leetspeak words (pipeline/normalise/, `rejoin`): a keyword broken by a
space or punctuation ("dep.osit"), spelled out ("d-e-p-o-s-i-t") or written with digits
("d3p051t") is read as the word by every matcher, counted as obfuscation; ordinary
writing is left alone (issue 12, the evasion suite's spacing and leetspeak)."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.baseline.cues import cue_words
from pipeline.baseline.features import cues
from pipeline.conversation import conversation_from_dict
from pipeline.evaluation.attacks import attack, leetspeak, scam_cues, spacing, spelled_out
from pipeline.models.local import BaselineModel, marked
from pipeline.normalise import (
    COMMON_WORDS,
    NOT_REJOINED,
    REJOIN_EXTRA,
    Normalised,
    fold_word,
    normalise,
    rejoin_vocabulary,
)
from pipeline.prompts import DirectoryPromptStore
from tests.conftest import REPO

DATASETS = sorted((REPO / "evals/datasets").glob("*.jsonl"))
STORE = DirectoryPromptStore(REPO / "prompts")


@pytest.mark.parametrize(
    ("written", "read", "separators", "digits"),
    [
        ("dep.osit", "deposit", 1, 0),
        ("pa y", "pay", 1, 0),
        ("de po sit", "deposit", 2, 0),
        ("d-e-p-o-s-i-t", "deposit", 6, 0),
        ("d e p o s i t", "deposit", 6, 0),
        ("D_e_posit", "Deposit", 2, 0),
        ("s-en-d 80 by b ank transfe'r", "send 80 by bank transfer", 4, 0),
        ("Wes_te_rn Uni on", "Western Union", 3, 0),
        ("Ca sh A*pp", "Cash App", 2, 0),
        ("the C V V please", "the CVV please", 2, 0),
        ("cod'e's", "codes", 2, 0),
        ("d3p051t", "deposit", 4, 0),
        ("p4y", "pay", 1, 0),
        ("53nd it by w3573rn un10n", "send it by western union", 8, 0),
    ],
)
def test_a_broken_word_is_read_as_the_word_and_counted(
    written: str, read: str, separators: int, digits: int
) -> None:
    found = normalise(written)
    assert found.text == read
    # leetspeak counts digits, spacing counts separators; the test table lists the sum
    assert found.separators + found.digits == separators + digits
    assert found.obfuscated == separators + digits
    assert "separators inside words removed" in found.marker()


def test_digits_and_separators_are_counted_apart() -> None:
    assert normalise("d3p051t") == Normalised("deposit", digits=4)
    assert normalise("dep.osit") == Normalised("deposit", separators=1)


@pytest.mark.parametrize(
    "text",
    [
        "in to",  # both fragments are words
        "a b testing",
        "2-bed flat",
        "5000",
        "Send 5000 now",
        "U.S.A.",
        "e.g. the blue one",
        "i.e. tomorrow",
        "e-mail me",  # the ordinary spelling: "e" is a word (Italian, Portuguese)
        "see https://pay.me/de.posit and www.de-posit.example",
        "write to de.po.sit@example.com",
        "12.05.2026, 10:30",
        "on 2026-11-30 at 9am",
        "100k miles, 2nd owner, 5km away, 3rd floor, 22nd May",
        "order w41137, ref a4b7, mp3, b2b",  # ids: one letter among digits
        "si te interesa",  # Spanish: "site" is a cue word
        "ma il prezzo",  # Italian: "mail"
        "a hora certa",  # Portuguese: "ahora"
        "check out the photos",
        "pay it to day",
        "the fee's fine, it's the bank's",
        "c'est d'accord, l'app",
        "50 p in cash",
        "Tim e Ana",
        "plan B in June",
        "mb way",
    ],
)
def test_ordinary_writing_is_left_alone(text: str) -> None:
    found = normalise(text)
    if text == "mb way":
        # "MB Way" is a payment app that the cue lists spell both ways: read as one,
        # and counted (this is the one such spelling).
        assert found.text == "mbway"
        return
    assert found == Normalised(text)


def test_no_message_of_the_datasets_is_changed_by_rejoin() -> None:
    # Every message of the datasets (marketplace train and test, reviewed, injection,
    # and the companion suite's child turns: honest and scam alike, none written with a
    # broken word) reads the same: rejoin changes none, counts none.
    messages = 0
    for path in DATASETS:
        for line in path.read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            texts = [m["text"] for m in case.get("messages", case.get("history", []))]
            texts += [case["utterance"]] if "utterance" in case else []
            for text in texts:
                found = normalise(text)
                assert (found.separators, found.digits) == (0, 0), text[:80]
                messages += 1
    assert messages > 1800


def test_the_vocabulary_is_the_cue_words_and_the_extra_list() -> None:
    vocabulary = rejoin_vocabulary()
    assert {"deposit", "pay", "western", "union", "whatsapp", "iban", "fee"} <= vocabulary
    assert vocabulary >= REJOIN_EXTRA - NOT_REJOINED
    folded = {fold_word(w) for w in cue_words()}
    assert {w for w in folded if len(w) >= 3 and w.isalpha()} - NOT_REJOINED <= vocabulary
    assert not vocabulary & NOT_REJOINED
    assert all(len(word) >= 3 for word in vocabulary)
    assert "in" in COMMON_WORDS and "to" in COMMON_WORDS


# -- the attacks' own rewrites ----------------------------------------------------------


def scams() -> list[dict]:
    rows = (REPO / "evals/datasets/marketplace.jsonl").read_text(encoding="utf-8")
    return [r for r in map(json.loads, rows.splitlines()) if r["label"] == 1]


@pytest.mark.parametrize("rewrite", [spacing, leetspeak, spelled_out])
def test_the_attack_keywords_are_read_back(rewrite) -> None:
    request = "Send me a 5000 dollar deposit by Western Union"
    read = 0
    for seed in range(40):
        (written,) = rewrite(request, random.Random(seed))
        found = normalise(written)
        assert found.obfuscated >= 3
        assert {"deposit", "request"} <= scam_cues(written), (written, found.text)
        read += "payapp" in scam_cues(written)
    # A split whose every fragment is a word stays as written ("Un i on": Spanish "un",
    # "i", "on"): rare, and the rest of the request is read.
    assert read >= 36


def test_spaced_and_leetspeak_scams_keep_their_cues() -> None:
    # The attacks on every scam of the dataset: the scam cue kinds of each rewritten
    # message are those of the message as written, but for a few listed splits where
    # every fragment is a word ("to*night", "ti.me", "t.he", "p a y a").
    kept = total = 0
    for row in scams():
        conversation = conversation_from_dict(row)
        for name in ("spacing", "leetspeak"):
            attacked = attack(conversation, name)
            for before, after in zip(conversation.messages, attacked.messages, strict=True):
                if before.text != after.text:
                    total += 1
                    kept += scam_cues(after.text) >= scam_cues(before.text)
    assert total > 500
    assert kept / total >= 0.95


def test_the_baseline_reads_a_spaced_request_and_the_marker_says_so() -> None:
    model = BaselineModel()
    plain = {"id": "c", "messages": [{"sender": "seller", "text": "Send me the deposit by Zelle"}]}
    spaced = {
        "id": "c",
        "messages": [{"sender": "seller", "text": "S end me the de.posit by Zel le"}],
    }
    assert cues(spaced["messages"][0]["text"]) == cues(plain["messages"][0]["text"])
    rendered = STORE.get("suspicious-conversation@2").render_conversation(
        conversation_from_dict(spaced)
    )
    # the model reads the message as written, after the marker
    assert "S end me the de.posit by Zel le" in rendered.user
    assert rendered.obfuscation == (0, 0, 3, 0)
    assert marked(rendered.user) == 3
    answer = model.generate(rendered).structured
    assert answer["suspicious"]
    assert model.score(conversation_from_dict(spaced)) >= model.threshold


# -- properties -------------------------------------------------------------------------

# Text made of pieces of vocabulary words, separators, digits and common words: where
# rejoin has something to do.
PIECES = st.sampled_from(
    [
        "de",
        "po",
        "sit",
        "pa",
        "y",
        "d",
        "e",
        "p",
        "o",
        "s",
        "i",
        "t",
        "se",
        "nd",
        "in",
        "to",
        "3",
        "4",
        "0",
        "5",
        "7",
        "1",
        "ba",
        "nk",
        "fe",
        "cod",
        "es",
        "a",
        "the",
        "fee",
    ]
)
SEPARATORS = st.sampled_from([" ", ".", "-", "_", "*", "'", "", "  ", ", "])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(PIECES, SEPARATORS), max_size=12))
def test_rejoin_is_idempotent(parts: list[tuple[str, str]]) -> None:
    text = "".join(piece + sep for piece, sep in parts)
    once = normalise(text)
    assert normalise(once.text) == Normalised(once.text)
    assert once.separators == len(text) - len(once.text) or once.digits


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_ascii_text_changes_only_by_counted_rejoins(text: str) -> None:
    found = normalise(text)
    assert (found.hidden, found.lookalikes) == (0, 0)
    assert found.text == text or found.separators + found.digits > 0
    assert len(text) - len(found.text) == found.separators


def test_a_child_hears_a_spelled_word_as_spelled_and_the_screen_still_reads_it() -> None:
    from pipeline.screen import screen_output

    lesson = screen_output("To spell code, say c-o-d-e!")
    assert lesson.ok and lesson.text == "To spell code, say c-o-d-e!"
    hidden = screen_output("Can you m-e-e-t me at the park?")
    assert hidden.problems == ("secrecy",)
    assert hidden.text == "Can you m-e-e-t me at the park?"
    assert normalise("c-o-d-e", words=False) == Normalised("c-o-d-e")
