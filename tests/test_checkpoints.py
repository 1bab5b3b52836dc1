"""Checkpoints of a conversation flooded past the prompt's window in one batch (pure)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from pipeline.coalesce import merge_window, plan_checkpoints
from pipeline.conversation import Conversation, Message

T0 = datetime(2024, 5, 1, tzinfo=UTC)
NO_HISTORY = Conversation(id="c", messages=())


def msgs(start: int, stop: int, text: str = "m") -> tuple[Message, ...]:
    return tuple(
        Message(conversation_id="c", timestamp=T0 + timedelta(minutes=i), text=f"{text}{i}")
        for i in range(start, stop)
    )


def texts(window: Conversation) -> list[str]:
    return [m.text for m in window.messages]


def test_no_flood_is_one_checkpoint_at_the_newest_on_the_merged_window():
    stored = Conversation(id="c", messages=msgs(0, 30, "old"))
    new = msgs(30, 50)
    plan = plan_checkpoints(stored, new, window=20, max_judgements=5)
    (only,) = plan.windows
    assert only == merge_window(stored, new, 20)  # what a batch was judged on before
    assert plan.unseen == 0


def test_one_message_past_the_window_is_a_second_checkpoint_oldest_first():
    stored = Conversation(id="c", messages=msgs(0, 30, "old"))
    plan = plan_checkpoints(stored, msgs(30, 51), window=20, max_judgements=5)
    older, newest = plan.windows
    assert texts(newest) == [f"m{i}" for i in range(31, 51)]
    # the older checkpoint ends at the one new message the newest window leaves out,
    # with the stored messages before it as context
    assert texts(older) == [f"old{i}" for i in range(11, 30)] + ["m30"]
    assert plan.unseen == 0


def test_windows_tile_the_new_messages_without_gaps_up_to_the_cap():
    new = msgs(0, 1000)
    plan = plan_checkpoints(NO_HISTORY, new, window=20, max_judgements=5)
    assert len(plan.windows) == 5
    assert [w.last.text for w in plan.windows] == ["m919", "m939", "m959", "m979", "m999"]
    shown = [m.text for w in plan.windows for m in w.messages]
    assert shown == [f"m{i}" for i in range(900, 1000)]  # each once, in order
    assert plan.unseen == 900


def test_a_store_ahead_of_the_stream_still_leaves_no_new_message_unshown():
    # The table holds 30 messages newer than the batch (a backlog): the newest checkpoint
    # is at the newest stored message, as before, and the batch's own messages are
    # judged at a checkpoint of their own instead of being passed over.
    stored = Conversation(id="c", messages=msgs(100, 130, "later"))
    plan = plan_checkpoints(stored, msgs(0, 5), window=20, max_judgements=5)
    older, newest = plan.windows
    assert newest.last.text == "later129"
    assert texts(older) == ["m0", "m1", "m2", "m3", "m4"]


def test_tiling_follows_what_the_prompt_keeps_of_a_window():
    # A token budget that keeps 4 messages of each window: checkpoints 4 apart.
    plan = plan_checkpoints(
        NO_HISTORY, msgs(0, 10), window=20, max_judgements=5, fit=lambda c: c.window(4)
    )
    assert [texts(w) for w in plan.windows] == [
        ["m0", "m1"],
        ["m2", "m3", "m4", "m5"],
        ["m6", "m7", "m8", "m9"],
    ]


@given(
    stored=st.integers(0, 40),
    offset=st.integers(-60, 60),
    new=st.integers(1, 200),
    window=st.integers(1, 25),
    cap=st.integers(1, 8),
)
def test_every_new_message_is_shown_or_counted_unseen(stored, offset, new, window, cap):
    # stored history shifted against the batch: older, overlapping, or ahead of it
    history = Conversation(id="c", messages=msgs(offset, offset + stored, "s")[-window:])
    batch = msgs(0, new)
    plan = plan_checkpoints(history, batch, window=window, max_judgements=cap)
    assert 1 <= len(plan.windows) <= cap
    assert all(len(w.messages) <= window for w in plan.windows)
    ends = [w.last.timestamp for w in plan.windows]
    assert ends == sorted(set(ends))  # oldest first, no checkpoint twice
    assert plan.windows[-1] == merge_window(history, batch, window)
    shown = {m.timestamp for w in plan.windows for m in w.messages}
    unshown = [m for m in batch if m.timestamp not in shown]
    assert len(unshown) == plan.unseen
    # what is left unseen is the oldest of the batch, only once the cap is reached
    assert unshown == list(batch[: plan.unseen])
    assert plan.unseen == 0 or len(plan.windows) == cap
