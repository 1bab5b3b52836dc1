"""Requests that must not fall out of the window (issue: floods, replays, padding).

On the marketplace test split's scams that `local:baseline` flags as written (the
conversation as it is), each figure counts misses under one way of hiding the request,
side by side with what a single newest window did before:

- flood: the scam followed by 20 short harmless messages from the request's sender;
  `parley moderate`'s judgement (`assess_windows`: windows covering every message,
  worst verdict) against one newest window (what `moderate` judged before);
- replay: the same flood through the stream job, one message per batch, in order;
  counted: conversations whose events go from flagged to cleared (no reviewer acts);
- split: the scam's last message sent one word per message (in the stream, one batch);
- padded: the request inside about 5,000 characters of friendly padding, with the
  request's words rewritten; counted: rendered prompts (`suspicious-conversation@2`)
  that keep the request's payment cue. Rewrites today's normalisation folds (zero-width
  characters, fullwidth, Cyrillic look-alikes inside a Latin word) and two it does not
  (small capitals, accents on every letter: the folding is pipeline/normalise.py's).

Run: python -m bench windows   (--quick: the first 15 scams)
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pipeline.conversation import Conversation, Message, conversation_from_dict, truncate_text
from pipeline.history import SqliteHistory
from pipeline.models import resolve
from pipeline.moderation import assess
from pipeline.normalise import normalised_text
from pipeline.prompts import open_prompt_store
from pipeline.settings import REPO_ROOT, Settings
from pipeline.sinks import SqliteVerdictSink, VerdictPublisher
from pipeline.windows import assess_windows

if TYPE_CHECKING:
    from collections.abc import Sequence

DATASET = REPO_ROOT / "evals" / "datasets" / "marketplace.jsonl"
FOLLOW_UPS = (
    "ok", "thanks", "great", "sure", "sounds good", "perfect", "cool", "see you",
    "nice", "alright", "yes", "np", "cheers", "got it", "fine", "good", "lovely",
    "right", "yep", "okay",
)  # fmt: skip
PAD = "thanks so much for your interest, it is a lovely item and I hope you enjoy it."
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)

_SMALL_CAPS = dict(zip("abcdefghijklmnoprstuvwyz", "ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", strict=True))
_CYRILLIC = dict(zip("aceopxy", "асеорху", strict=True))


def _word_rewrite(word: str, name: str) -> str:
    if name == "zero-width":
        return "\u200b".join(word)
    if name == "fullwidth":
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in word)
    if name == "cyrillic-in-latin":
        return "".join(_CYRILLIC.get(c, c) if i % 2 else c for i, c in enumerate(word))
    if name == "small-capitals":
        return "".join(_SMALL_CAPS.get(c, c) for c in word.lower())
    if name == "accents":
        return "".join(c + "\u0301" if c.isalpha() else c for c in word)
    raise ValueError(name)


REWRITES = ("zero-width", "fullwidth", "cyrillic-in-latin", "small-capitals", "accents")
_CUE_WORD = re.compile(
    r"\b(deposit|pay|payment|transfer|wire|bank|paypal|gift|card|crypto|bitcoin|link|code|"
    r"whatsapp|telegram|fee|money|account|western|zelle|escrow|courier|refund|click|verify)\b",
    re.IGNORECASE,
)


def scams(limit: int | None = None) -> list[Conversation]:
    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    chosen = [r for r in rows if r["split"] == "test" and r["label"] == 1]
    return [conversation_from_dict(r) for r in chosen[:limit]]


def flooded(conversation: Conversation, n: int = 20) -> Conversation:
    last = conversation.last
    extra = [
        Message(
            conversation_id=conversation.id,
            timestamp=last.timestamp + timedelta(seconds=30 * (i + 1)),
            sender=last.sender,
            text=FOLLOW_UPS[i % len(FOLLOW_UPS)],
        )
        for i in range(n)
    ]
    return conversation.model_copy(update={"messages": (*conversation.messages, *extra)})


def split_last(conversation: Conversation) -> Conversation:
    """The last message sent one word per message."""
    *before, last = conversation.messages
    words = last.text.split()
    pieces = [
        last.model_copy(update={"text": w, "timestamp": last.timestamp + timedelta(seconds=i)})
        for i, w in enumerate(words)
    ]
    return conversation.model_copy(update={"messages": (*before, *pieces)})


MARK = "ZANZIBAR"  # a plain word just before the request: found in the prompt, the request was kept


def padded_request(conversation: Conversation, rewrite: str) -> tuple[Conversation, str] | None:
    """The last message with a cue word, its cue words rewritten, after a mark and inside
    ~5,000 characters of padding on both sides (sentences that differ, so that no
    repeat-collapsing shortens them); None when no message has a listed cue word."""
    messages = list(conversation.messages)
    for index in range(len(messages) - 1, -1, -1):
        match = _CUE_WORD.search(messages[index].text)
        if match:
            text = _CUE_WORD.sub(lambda m: _word_rewrite(m.group(0), rewrite), messages[index].text)
            before = " ".join(f"Day {i}: {PAD}" for i in range(2500 // len(PAD) + 1))
            after = " ".join(f"Night {i}: {PAD}" for i in range(2500 // len(PAD) + 1))
            messages[index] = messages[index].model_copy(
                update={"text": f"{before}{MARK} {text} {after}"}
            )
            return conversation.model_copy(update={"messages": tuple(messages)}), match.group(0)
    return None


def renamed(conversation: Conversation, new_id: str) -> Conversation:
    messages = tuple(
        m.model_copy(update={"conversation_id": new_id}) for m in conversation.messages
    )
    return Conversation(id=new_id, messages=messages)


def _flagged(verdict: Any) -> bool:
    return verdict.status == "scored" and verdict.suspicious is True


def replay_stream(
    conversations: list[Conversation], *, per_message: bool, with_risk: bool = True
) -> dict[str, int]:
    """Each conversation through the stream job (one message a batch, or all in one);
    count conversations whose events go flagged → cleared, and those never flagged."""
    from pipeline.risk import SqliteRiskStore
    from pipeline.stream import build_handler

    from .stream_throughput import stream_record

    history = SqliteHistory(":memory:")
    sink = SqliteVerdictSink(":memory:")
    events: list[dict[str, Any]] = []

    class Events:
        def publish(self, envelopes: Sequence[dict[str, Any]]) -> None:
            events.extend(envelopes)

    handler = build_handler(
        model=resolve("local:baseline"),
        history=history,
        publisher=VerdictPublisher(sink, Events()),
        settings=Settings(max_concurrency=1, min_remaining_ms=0),
        risk=SqliteRiskStore(":memory:") if with_risk else None,
        metrics=None,
    )
    sequence = 0
    for conversation in conversations:
        batches = (
            [[m] for m in conversation.messages] if per_message else [list(conversation.messages)]
        )
        for batch in batches:
            records = []
            for message in batch:
                history.append(message)
                sequence += 1
                records.append(stream_record(message, sequence))
            handler({"Records": records})
    by_conversation: dict[str, list[str]] = {}
    for env in events:
        by_conversation.setdefault(env["data"]["conversation_id"], []).append(env["type"])
    flips = sum(
        1
        for types in by_conversation.values()
        if any(
            t == "parley.conversation.cleared" and "parley.conversation.flagged" in types[:i]
            for i, t in enumerate(types)
        )
    )
    missed = sum(
        1
        for c in conversations
        if "parley.conversation.flagged" not in by_conversation.get(c.id, [])
    )
    return {"flips": flips, "missed": missed}


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    template = open_prompt_store(str(REPO_ROOT / "prompts")).get("suspicious-conversation@2")
    model = resolve("local:baseline")
    caught = [c for c in scams(15 if quick else None) if _flagged(assess(c, template, model))]
    n = len(caught)
    rows: list[tuple[str, float, str]] = []

    floods = [flooded(c) for c in caught]
    old = sum(1 for c in floods if not _flagged(assess(c, template, model)))
    new = sum(1 for c in floods if not _flagged(assess_windows(c, template, model).verdict))
    rows.append(("flood_moderate_missed", new, f"of {n} caught scams; one newest window: {old}"))

    replay = replay_stream(floods, per_message=True)
    before = replay_stream(floods, per_message=True, with_risk=False)
    rows.append(
        (
            "replay_flagged_to_cleared",
            replay["flips"],
            f"of {n} flooded scams, one message a batch; never flagged: {replay['missed']};"
            f" without the risk state: {before['flips']}",
        )
    )

    splits = [split_last(c) for c in caught]
    old = sum(1 for c in splits if not _flagged(assess(c, template, model)))
    new = sum(1 for c in splits if not _flagged(assess_windows(c, template, model).verdict))
    rows.append(("split_moderate_missed", new, f"of {n}; one newest window: {old}"))
    stream = replay_stream([renamed(c, f"{c.id}-split") for c in splits], per_message=False)
    rows.append(("split_stream_missed", stream["missed"], f"of {n}, the split sent in one batch"))

    cut_at = template.meta.history.max_message_chars
    for rewrite in REWRITES:
        cases = [p for c in caught if (p := padded_request(c, rewrite)) is not None]
        kept = folded = 0
        for conversation, _word in cases:
            kept += MARK in template.render_conversation(conversation).user
            long = max(conversation.messages, key=lambda m: len(m.text)).text
            folded += MARK in truncate_text(long, cut_at, match=fold_decorations)
        rows.append(
            (
                f"padded_kept_{rewrite}",
                kept / len(cases) if cases else 0.0,
                f"{kept} of {len(cases)} padded scams keep the request in the rendered prompt;"
                f" the cut with a normaliser that folds small capitals and accents: {folded}",
            )
        )
    return rows


_SMALL_CAPS_BACK = str.maketrans({v: k for k, v in _SMALL_CAPS.items()})


def fold_decorations(text: str) -> str:
    """Today's normalisation, then small capitals and combining marks folded: what
    pipeline/normalise.py is to fold, to show the cut reads whatever it folds."""
    import unicodedata

    text = normalised_text(text).translate(_SMALL_CAPS_BACK)
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))
