"""Pairwise comparison of two cells on the same cases (two prompts, two models, two
variants): wins, losses, the cases that flipped, and McNemar's test, so a "better"
prompt is shown to be better beyond noise."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import InputError
from .metrics import mcnemar_chi2, mcnemar_exact
from .results import CaseResult

ALPHA = 0.05


@dataclass(frozen=True)
class Flip:
    """A case that one cell got right and the other wrong (for a generative case,
    "right" is: every assertion passed)."""

    case_id: str
    label: int | None
    category: str
    a_flagged: bool
    b_flagged: bool
    b_correct: bool

    @property
    def b_wins(self) -> bool:
        return self.b_correct


@dataclass(frozen=True)
class Comparison:
    """B measured against A. `wins`: cases B gets right and A wrong; `losses`: the reverse."""

    a: str
    b: str
    n: int
    a_correct: int
    b_correct: int
    wins: int
    losses: int
    p_exact: float
    p_chi2: float
    flipped: tuple[Flip, ...]

    @property
    def conclusion(self) -> str:
        if self.p_exact >= ALPHA or self.wins == self.losses:
            return "no significant difference"
        return "B is better" if self.wins > self.losses else "A is better"

    def as_dict(self) -> dict:
        data = asdict(self)
        data["flipped"] = [asdict(f) for f in self.flipped]
        data["conclusion"] = self.conclusion
        return data


def compare(a: list[CaseResult], b: list[CaseResult]) -> Comparison:
    """Compare two cells on the cases both judged (matched by case id).

    Undetermined verdicts and failed calls count as "not flagged", as in the metrics;
    for generative cells a failed call is a failed case.
    """
    if not a or not b:
        raise InputError("compare needs two non-empty cells")
    b_by_id = {r.case_id: r for r in b}
    pairs = [(x, b_by_id[x.case_id]) for x in a if x.case_id in b_by_id]
    if not pairs:
        raise InputError(f"cells {a[0].cell!r} and {b[0].cell!r} share no case")
    flips = tuple(
        Flip(x.case_id, x.label, x.category, x.flagged, y.flagged, y.correct)
        for x, y in sorted(pairs, key=lambda p: p[0].case_id)
        if x.correct != y.correct
    )
    wins = sum(f.b_wins for f in flips)
    losses = len(flips) - wins
    return Comparison(
        a=a[0].cell,
        b=b[0].cell,
        n=len(pairs),
        a_correct=sum(x.correct for x, _ in pairs),
        b_correct=sum(y.correct for _, y in pairs),
        wins=wins,
        losses=losses,
        p_exact=mcnemar_exact(losses, wins),
        p_chi2=mcnemar_chi2(losses, wins),
        flipped=flips,
    )


def pick_cell(groups: dict[str, list[CaseResult]], wanted: str | None, side: str) -> str:
    """The cell to compare on one side ("a" or "b"): the one asked for, or the only one."""
    if wanted is not None:
        if wanted not in groups:
            raise InputError(f"no cell {wanted!r} in {side.upper()}; cells: {', '.join(groups)}")
        return wanted
    if len(groups) != 1:
        raise InputError(f"{side.upper()} has {len(groups)} cells; choose one with --{side} CELL")
    return next(iter(groups))
