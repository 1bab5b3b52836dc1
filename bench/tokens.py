"""How closely the emulator's token counts (pipeline/tokens.py) follow real tokenisers.

Two real tokenisers ship inside `mistral-common` (not a parley dependency; install it
to run this: `pip install 'mistral-common[sentencepiece]'`): Mistral's v1
SentencePiece (32k, the `sp32k` class: Mistral 7B, Mixtral) and its Tekken BPE
(131k, the `bpe100k` class that parley also uses for Titan, Nova and Claude, whose
tokenisers are not public). The texts are what a model receives: every labelled
conversation rendered with the v1 and v2 prompts, and each message alone.

Figures per class and kind: estimated / real tokens in total, and the median and
90th-percentile relative error per text.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pipeline.settings import REPO_ROOT
from pipeline.tokens import count_tokens

if TYPE_CHECKING:
    from pipeline.tokens import Family

DATASETS = ("evals/datasets/marketplace.jsonl", "evals/datasets/injection.jsonl")
PROMPTS = ("suspicious-conversation@1", "suspicious-conversation@2")


def corpus() -> list[tuple[str, str]]:
    """(kind, text) pairs: rendered prompts and single messages of the datasets."""
    from pipeline.conversation import Conversation, Message
    from pipeline.prompts import DirectoryPromptStore

    store = DirectoryPromptStore(REPO_ROOT / "prompts")
    templates = {ref: store.get(ref) for ref in PROMPTS}
    start = datetime(2024, 6, 1, 8, tzinfo=UTC)
    texts: list[tuple[str, str]] = []
    for name in DATASETS:
        for line in Path(REPO_ROOT / name).read_text(encoding="utf-8").splitlines():
            case = json.loads(line)
            messages = [
                Message(
                    conversation_id=case["id"],
                    timestamp=start + timedelta(minutes=i),
                    sender=m["sender"],
                    text=m["text"],
                )
                for i, m in enumerate(case["messages"])
            ]
            conversation = Conversation(id=case["id"], messages=messages)
            for ref, template in templates.items():
                texts.append((ref, template.render_conversation(conversation).as_text()))
            texts.extend(("message", m.text) for m in messages)
    return texts


def real_tokenisers() -> dict[str, Any]:
    import mistral_common
    from mistral_common.tokens.tokenizers.sentencepiece import SentencePieceTokenizer
    from mistral_common.tokens.tokenizers.tekken import Tekkenizer

    data = Path(mistral_common.__file__).parent / "data"
    return {
        "sp32k": SentencePieceTokenizer(str(data / "tokenizer.model.v1")),
        "bpe100k": Tekkenizer.from_file(str(data / "tekken_240911.json")),
    }


def run(quick: bool = False) -> list[tuple[str, float, str]]:
    try:
        tokenisers = real_tokenisers()
    except ImportError:
        return [
            (
                "skipped",
                float("nan"),
                "needs mistral-common: pip install 'mistral-common[sentencepiece]'",
            )
        ]
    texts = corpus()
    if quick:
        texts = texts[::5]
    rows = []
    for family, tokeniser in tokenisers.items():
        for kind in (*PROMPTS, "message"):
            pairs = [
                (
                    count_tokens(text, cast("Family", family)),
                    len(tokeniser.encode(text, bos=False, eos=False)),
                )
                for k, text in texts
                if k == kind
            ]
            errors = sorted(abs(est - real) / real for est, real in pairs if real)
            estimated, real = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
            rows.append(
                (
                    f"{family}.{kind}.estimated_over_real",
                    estimated / real,
                    f"{len(pairs)} texts; median error {errors[len(errors) // 2]:.1%}, "
                    f"p90 {errors[int(len(errors) * 0.9)]:.1%}",
                )
            )
    return rows
