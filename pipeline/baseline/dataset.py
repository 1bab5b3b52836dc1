"""The labelled conversations the baseline learns from (evals/datasets/*.jsonl)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import InputError
from .features import Turn


@dataclass(frozen=True)
class Example:
    """One labelled conversation: `label` 1 = suspicious, `category` a slug or "none"."""

    id: str
    split: str
    label: int
    category: str
    turns: tuple[Turn, ...]
    # Cross-validation folds keep a group together: the template a conversation was
    # written from (near-duplicates), else the conversation itself.
    group: str = ""

    def __post_init__(self) -> None:
        if not self.group:
            object.__setattr__(self, "group", self.id)


def load_examples(path: Path) -> list[Example]:
    """Read a dataset file; every line needs id, split, label and messages[{sender, text}]."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read dataset {path}: {exc}") from None
    examples = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            examples.append(_example(line, f"{path}:{number}"))
    if not examples:
        raise InputError(f"dataset {path} has no examples")
    return examples


def _example(line: str, where: str) -> Example:
    try:
        data = json.loads(line)
        messages = data["messages"]
        turns = tuple((str(m.get("sender") or "unknown"), str(m["text"])) for m in messages)
        label = int(data["label"])
        example = Example(
            id=str(data["id"]),
            split=str(data.get("split", "train")),
            label=label,
            category=str(data.get("category") or "none"),
            turns=turns,
            group=str(data.get("template") or ""),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise InputError(f"{where}: not a dataset example ({type(exc).__name__}: {exc})") from None
    if label not in (0, 1) or not turns:
        raise InputError(f"{where}: label must be 0 or 1 and messages non-empty")
    return example


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes: the dataset's identity in the artifact."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
