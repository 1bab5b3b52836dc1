"""Write evals/datasets/honest-multilingual.jsonl: honest marketplace conversations in
eleven languages and five scripts, for false-positive figures (label 0 throughout).

Deterministic (seeded): `python tools/honest_corpus.py` rewrites the same file. The
phrase banks, with the everyday Unicode people type (flags, keycaps, right-to-left
marks, soft hyphens, a byte order mark, a pasted zero-width space, Russian and Greek
names), are in tools/honest_corpus_text.py.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from honest_corpus_text import BOM, DAYS, LANGUAGES, TIMES, TRACKING, URLS

SEED = 20261206
OUTPUT = Path(__file__).resolve().parent.parent / "evals/datasets/honest-multilingual.jsonl"
PER_LANGUAGE = {"en": 32}  # English carries most of the emoji, flags and names
DEFAULT_PER_LANGUAGE = 16
NOTES = {
    0: "Availability and a viewing or collection appointment.",
    1: "Price negotiation; payment through the platform.",
    2: "Postage, payment through the platform, a tracking number.",
    3: "A rental deposit returned to the tenant.",
    4: "A deposit paid through the platform, the rest at collection.",
}


def conversations() -> list[dict]:
    rng = random.Random(SEED)
    out: list[dict] = []
    for lang, bank in LANGUAGES.items():
        templates = bank["templates"]
        for n in range(PER_LANGUAGE.get(lang, DEFAULT_PER_LANGUAGE)):
            index = n % len(templates)
            item, price = rng.choice(bank["items"])
            values = {
                "item": item,
                "price": price,
                "name": rng.choice(bank["names"]),
                "day": rng.choice(DAYS[lang]),
                "time": rng.choice(TIMES),
                "post": rng.choice(bank["post"]),
                "track": rng.choice(TRACKING),
                "url": rng.choice(URLS),
            }
            messages = []
            for line in templates[index]:
                bom = line.startswith(BOM)
                line = line.removeprefix(BOM)
                sender = "buyer" if line.startswith("B:") else "seller"
                text = line[2:].format(**values)
                messages.append({"sender": sender, "text": (BOM if bom else "") + text})
            out.append(
                {
                    "id": f"hm-{len(out) + 1:04d}",
                    "split": "test",
                    "label": 0,
                    "category": "none",
                    "tags": ["honest-multilingual"],
                    "lang": lang,
                    "messages": messages,
                    "notes": NOTES.get(index, "An ordinary question about the item."),
                }
            )
    return out


def main() -> None:
    rows = conversations()
    OUTPUT.write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    print(f"wrote {OUTPUT.name}: {len(rows)} conversations")


if __name__ == "__main__":
    main()
