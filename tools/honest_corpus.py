"""Write the honest multilingual conversations (label 0 throughout): the evaluation
corpus evals/datasets/honest-multilingual.jsonl (eleven languages, five scripts, for
false-positive figures) and the training corpus
evals/datasets/honest-multilingual-train.jsonl (for `parley baseline train`).

Deterministic (seeded): `python tools/honest_corpus.py` rewrites the same two files. The
phrase banks, with the everyday Unicode people type (flags, keycaps, right-to-left
marks, soft hyphens, a byte order mark, a pasted zero-width space, Russian and Greek
names), are in tools/honest_corpus_text.py.

The split is by template, never by conversation: conversations of one template are
alike (the same sentences with other items, names, days and prices), so a template is
either held out (its conversations are only ever evaluated) or a training template.
Every row of the evaluation corpus names its template and whether it is held out; the
training corpus is written from the training templates only, with another seed and
only the even-numbered items and names of each language.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from honest_corpus_text import BOM, DAYS, LANGUAGES, TIMES, TRACKING, URLS

SEED = 20261206
TRAIN_SEED = 20261207
DATASETS = Path(__file__).resolve().parent.parent / "evals/datasets"
OUTPUT = DATASETS / "honest-multilingual.jsonl"
TRAIN_OUTPUT = DATASETS / "honest-multilingual-train.jsonl"
PER_LANGUAGE = {"en": 32}  # English carries most of the emoji, flags and names
DEFAULT_PER_LANGUAGE = 16
TRAIN_PER_TEMPLATE = 4
NOTES = {
    0: "Availability and a viewing or collection appointment.",
    1: "Price negotiation; payment through the platform.",
    2: "Postage, payment through the platform, a tracking number.",
    3: "A rental deposit returned to the tenant.",
    4: "A deposit paid through the platform, the rest at collection.",
}


def held_out(lang: str, index: int) -> bool:
    """Whether template `index` of `lang` is held out from training.

    Every other template, the parity alternating from one language to the next, so that
    each kind of conversation (availability, price, postage, deposits, …) is held out in
    about half of the languages and trained on in the others.
    """
    return (index + list(LANGUAGES).index(lang)) % 2 == 1


def template_id(lang: str, index: int) -> str:
    return f"{lang}-{index}"


def _conversation(lang: str, index: int, values: dict[str, str], row_id: str, split: str) -> dict:
    messages = []
    for line in LANGUAGES[lang]["templates"][index]:
        bom = line.startswith(BOM)
        line = line.removeprefix(BOM)
        sender = "buyer" if line.startswith("B:") else "seller"
        text = line[2:].format(**values)
        messages.append({"sender": sender, "text": (BOM if bom else "") + text})
    return {
        "id": row_id,
        "split": split,
        "label": 0,
        "category": "none",
        "tags": ["honest-multilingual"],
        "lang": lang,
        "template": template_id(lang, index),
        "held_out": held_out(lang, index),
        "messages": messages,
        "notes": NOTES.get(index, "An ordinary question about the item."),
    }


def _values(rng: random.Random, lang: str, items: list, names: list) -> dict[str, str]:
    bank = LANGUAGES[lang]
    item, price = rng.choice(items)
    return {
        "item": item,
        "price": price,
        "name": rng.choice(names),
        "day": rng.choice(DAYS[lang]),
        "time": rng.choice(TIMES),
        "post": rng.choice(bank["post"]),
        "track": rng.choice(TRACKING),
        "url": rng.choice(URLS),
    }


def conversations() -> list[dict]:
    """The evaluation corpus: every template, each row marked held out or not."""
    rng = random.Random(SEED)
    out: list[dict] = []
    for lang, bank in LANGUAGES.items():
        templates = bank["templates"]
        for n in range(PER_LANGUAGE.get(lang, DEFAULT_PER_LANGUAGE)):
            index = n % len(templates)
            values = _values(rng, lang, bank["items"], bank["names"])
            out.append(_conversation(lang, index, values, f"hm-{len(out) + 1:04d}", "test"))
    return out


def training_conversations() -> list[dict]:
    """The training corpus: the training templates only (never a held-out one)."""
    rng = random.Random(TRAIN_SEED)
    out: list[dict] = []
    for lang, bank in LANGUAGES.items():
        items, names = bank["items"][::2], bank["names"][::2]
        for index in range(len(bank["templates"])):
            if held_out(lang, index):
                continue
            for _ in range(TRAIN_PER_TEMPLATE):
                values = _values(rng, lang, items, names)
                out.append(_conversation(lang, index, values, f"hmt-{len(out) + 1:04d}", "train"))
    return out


def _write(path: Path, rows: list[dict]) -> None:
    path.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    print(f"wrote {path.name}: {len(rows)} conversations")


def main() -> None:
    _write(OUTPUT, conversations())
    _write(TRAIN_OUTPUT, training_conversations())


if __name__ == "__main__":
    main()
