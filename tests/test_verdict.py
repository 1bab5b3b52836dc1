import pytest

from pipeline.verdict import (
    Category,
    parse_answer,
    parse_legacy,
    parse_structured,
    verdict_tool_schema,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [(" 0", False), ("1", True), ("1.", True), ("\n0\n", False), ("0.", False)],
)
def test_legacy_whole_reply_forms_are_parsed(text, expected):
    parsed = parse_legacy(text)
    assert parsed.status == "scored"
    assert parsed.suspicious is expected


@pytest.mark.parametrize(
    "text",
    [
        "Answer: 1",
        "answer:0\n",
        "I think the answer is 1 because of the deposit.",
        "**0**",
        "Réponse : 1",
    ],
)
def test_a_digit_inside_prose_is_no_longer_a_verdict(text):
    # The text answer contract: v1 shows no answer code, so only a whole "0"/"1" counts.
    parsed = parse_legacy(text)
    assert (parsed.status, parsed.suspicious) == ("undetermined", None)
    assert parsed.reason


@pytest.mark.parametrize(
    "text", ["", "maybe", "0 or 1", "1.5", "10", "score 0.7", "I cannot answer that", None, 1]
)
def test_unparseable_legacy_is_undetermined_never_zero(text):
    parsed = parse_legacy(text)
    assert parsed.status == "undetermined"
    assert parsed.suspicious is None


def test_structured_dict_and_json_text():
    data = {
        "suspicious": True,
        "score": 0.93,
        "categories": ["advance_fee_deposit"],
        "rationale": "r",
    }
    a = parse_structured(data)
    assert a.status == "scored" and a.suspicious and a.categories == (Category.ADVANCE_FEE_DEPOSIT,)
    b = parse_answer(text='{"suspicious": false, "score": 0.1, "categories": [], "rationale": ""}')
    assert b.status == "scored" and b.suspicious is False
    # JSON inside prose is not an answer (finding 1 of issue 12)
    c = parse_answer(
        text='Here you go: {"suspicious": false, "score": 0.1, "categories": [], "rationale": ""}'
    )
    assert c.status == "undetermined"


def test_unknown_category_maps_to_other_and_a_cleared_verdict_with_categories_is_undetermined():
    a = parse_structured(
        {"suspicious": True, "score": 0.8, "categories": ["crypto"], "rationale": ""}
    )
    assert a.categories == (Category.OTHER,)
    b = parse_structured(
        {"suspicious": False, "score": 0.1, "categories": ["phishing_link"], "rationale": ""}
    )
    assert (b.status, b.suspicious, b.categories) == (
        "undetermined",
        None,
        (Category.PHISHING_LINK,),
    )


@pytest.mark.parametrize(
    "data",
    [
        {"suspicious": "perhaps", "score": 0.5},
        {"suspicious": True, "score": 7},
        {"score": 0.2},
        "not json {",
        "{}",
        ["suspicious"],
    ],
)
def test_bad_structured_output_is_undetermined(data):
    assert parse_structured(data).status == "undetermined"


def test_parse_answer_falls_back_from_structured_to_text():
    a = parse_answer(structured={"bad": 1}, text="1")
    assert a.status == "scored" and a.suspicious is True
    assert parse_answer().status == "undetermined"


def test_tool_schema_lists_every_category():
    enum = verdict_tool_schema()["properties"]["categories"]["items"]["enum"]
    assert set(enum) == {c.value for c in Category}
