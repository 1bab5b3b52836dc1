"""How a review team works, as settings: double review, seniors, gold, wellbeing, the
queue-age bound. Built from ReviewSettings (wiring.py); the defaults suit one reviewer."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TeamConfig:
    secret: bytes = b"parley-review-double"  # keys the double-review sample
    double_rate: float = 0.1  # share of decided items reviewed a second time
    seniors: frozenset[str] = frozenset()  # who decides disagreements
    gold: dict[str, str] = field(default_factory=dict)  # conversation id -> known label
    blur_categories: frozenset[str] = frozenset({"other"})  # texts hidden until revealed
    break_minutes: float = 50  # a break reminder after this long reviewing
    max_age_minutes: int = 240  # the oldest item of a queue should wait no longer

    @property
    def gold_ids(self) -> frozenset[str]:
        return frozenset(self.gold)
