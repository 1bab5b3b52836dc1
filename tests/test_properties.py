"""Property-based tests: parsing and rendering never raise on arbitrary input and keep
user text inside its delimiters."""

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.conversation import Conversation, Message, conversation_from_dict
from pipeline.errors import InputError
from pipeline.prompts import DirectoryPromptStore, neutralise
from pipeline.verdict import parse_answer, parse_legacy, parse_structured
from tests.conftest import REPO

STORE = DirectoryPromptStore(REPO / "prompts")
T0 = datetime(2024, 1, 1, tzinfo=UTC)
json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=12,
)
# every code point, lone surrogates included
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=300)


@given(json_values, st.one_of(st.none(), any_text))
def test_parse_answer_is_total(structured, text):
    answer = parse_answer(structured=structured, text=text)
    assert answer.status in {"scored", "undetermined"}
    assert (answer.suspicious is None) == (answer.status == "undetermined")


@given(json_values)
def test_parse_structured_and_legacy_never_raise(value):
    assert parse_structured(value).status in {"scored", "undetermined"}
    assert parse_legacy(value).status in {"scored", "undetermined"}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(any_text, min_size=1, max_size=4), st.text(max_size=20))
def test_rendered_user_text_stays_inside_its_delimiters(texts, sender):
    conversation = Conversation(
        id="c",
        messages=tuple(
            Message(
                conversation_id="c",
                timestamp=T0 + timedelta(seconds=i),
                sender=sender or "x",
                text=t,
            )
            for i, t in enumerate(texts)
        ),
    )
    for ref in ("suspicious-conversation@1", "suspicious-conversation@2"):
        body = STORE.get(ref).render_conversation(conversation).user
        for text in texts:
            safe = neutralise(text)
            assert "<" not in safe and ">" not in safe
        if ref.endswith("@2"):
            assert body.count("<message ") == len(texts)
            assert body.count("</message>") == len(texts)
            assert body.count("</conversation>") == 1
        assert "\x00" not in body and "\u202e" not in body


@given(json_values)
def test_conversation_from_dict_is_total(data):
    try:
        conversation = conversation_from_dict(data)
    except InputError:
        return
    assert conversation.messages
