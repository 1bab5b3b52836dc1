from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from pipeline.conversation import (
    MAX_MESSAGE_BYTES,
    Conversation,
    Message,
    collapse_repeats,
    conversation_from_dict,
    iso,
    last_message_only,
    load_conversations,
    parse_timestamp,
    reversed_order,
    truncate_text,
)
from pipeline.errors import InputError

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def msg(i: int, text: str = "hi", cid: str = "c1") -> Message:
    return Message(
        conversation_id=cid, timestamp=T0 + timedelta(minutes=i), sender="buyer", text=text
    )


def test_messages_are_kept_in_chronological_order():
    conversation = Conversation(id="c1", messages=(msg(3, "c"), msg(1, "a"), msg(2, "b")))
    assert [m.text for m in conversation.messages] == ["a", "b", "c"]
    assert conversation.last.text == "c"


def test_naive_timestamp_is_refused_and_aware_ones_normalised_to_utc():
    with pytest.raises(ValidationError):
        Message(conversation_id="c", timestamp=datetime(2024, 1, 1), text="x")
    paris = timezone(timedelta(hours=2))
    m = Message(conversation_id="c", timestamp=datetime(2024, 1, 1, 12, tzinfo=paris), text="x")
    assert m.timestamp.hour == 10 and m.timestamp.tzinfo == UTC


def test_window_keeps_the_newest_in_order():
    conversation = Conversation(id="c1", messages=tuple(msg(i, str(i)) for i in range(10)))
    assert [m.text for m in conversation.window(3).messages] == ["7", "8", "9"]


def test_iso_is_fixed_width_so_string_order_is_time_order():
    stamps = [iso(T0 + timedelta(microseconds=n)) for n in (0, 1, 999_999, 1_000_000)]
    assert stamps == sorted(stamps)
    assert len({len(s) for s in stamps}) == 1
    assert parse_timestamp(stamps[1]) == T0 + timedelta(microseconds=1)


def test_parse_timestamp_rejects_garbage_and_naive():
    for bad in ["yesterday", "2024-01-01T10:00:00", ""]:
        with pytest.raises(InputError):
            parse_timestamp(bad)


def test_oversized_message_is_refused():
    with pytest.raises(ValidationError):
        msg(0, "x" * (MAX_MESSAGE_BYTES + 1))


def test_sender_is_kept_to_a_plain_alphabet():
    m = Message(conversation_id="c", timestamp=T0, sender='seller" injected="1', text="x")
    assert '"' not in m.sender and "=" not in m.sender


def test_truncate_text_marks_the_cut():
    out = truncate_text("a" * 20 + "b" * 30, 10)
    # the start and the end are kept: padding cannot push a request at the end out
    assert out.startswith("aaaaa [") and out.endswith("] bbbbb")
    assert "40 characters omitted" in out
    assert truncate_text("short", 10) == "short"


def test_collapse_repeats_keeps_one_copy_and_says_how_many():
    assert (
        collapse_repeats("Buy now. Buy now. Buy now. Pay.") == "Buy now. [… repeated 3 times] Pay."
    )
    assert collapse_repeats("go go go go go home") == "go [… repeated 5 times] home"
    assert collapse_repeats("=" * 40 + "x") == "= [… repeated 40 times]x"
    # fewer repeats than the thresholds are left alone
    text = "Buy now. Buy now. go go go go " + "=" * 31
    assert collapse_repeats(text) == text


def test_truncate_text_collapses_filler_before_it_cuts():
    out = truncate_text("ok " * 1000 + "send the deposit now " + "ok " * 1000, 200)
    assert "send the deposit now" in out and "truncated" not in out
    # a short message is never touched, repeats or not
    assert truncate_text("no no no no no", 200) == "no no no no no"


def test_conversation_from_dict_assigns_timestamps_in_given_order():
    c = conversation_from_dict({"id": "x", "messages": [{"text": "1"}, {"text": "2"}]})
    assert [m.text for m in c.messages] == ["1", "2"]
    assert c.messages[0].timestamp < c.messages[1].timestamp


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ([], "JSON object"),
        ({"id": "x"}, "'messages' list"),
        ({"messages": []}, "empty"),
        ({"messages": ["hi"]}, "message 0"),
        ({"messages": [{"sender": "buyer"}]}, "no 'text'"),
        ({"messages": [{"text": "x", "timestamp": "2024-01-01T00:00:00"}]}, "timezone"),
    ],
)
def test_conversation_from_dict_bad_input(data, needle):
    with pytest.raises(InputError, match=needle):
        conversation_from_dict(data)


def test_load_conversations_json_and_jsonl(tmp_path):
    (tmp_path / "a.json").write_text('{"id": "a", "messages": [{"text": "hello"}]}')
    (tmp_path / "b.jsonl").write_text(
        '{"id": "b1", "messages": [{"text": "x"}]}\n\n{"id": "b2", "messages": [{"text": "y"}]}\n'
    )
    assert [c.id for c in load_conversations(tmp_path / "a.json")] == ["a"]
    assert [c.id for c in load_conversations(tmp_path / "b.jsonl")] == ["b1", "b2"]


def test_load_conversations_reports_malformed_json_and_bad_utf8(tmp_path):
    (tmp_path / "bad.json").write_text('{"id": ')
    (tmp_path / "bin.json").write_bytes(b'{"messages": [{"text": "\xff\xfe"}]}')
    with pytest.raises(InputError, match="malformed JSON"):
        load_conversations(tmp_path / "bad.json")
    with pytest.raises(InputError, match="UTF-8"):
        load_conversations(tmp_path / "bin.json")


def test_last_message_only_and_reversed_order():
    c = Conversation(id="c1", messages=(msg(0, "visit?"), msg(1, "deposit")))
    assert [m.text for m in last_message_only(c).messages] == ["deposit"]
    flipped = reversed_order(c)
    assert [m.text for m in flipped.messages] == ["deposit", "visit?"]
    assert [m.timestamp for m in flipped.messages] == [m.timestamp for m in c.messages]
