"""Live quality figures: pure functions over decisions and (live, shadow) verdict pairs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pipeline.sinks import stored_verdict, verdict_key
from review.decisions import Decision
from review.quality import agreement_figures, shadow_figures
from tests.review_helpers import T0, verdict


def _d(kind: str, label: str, *, prompt: str = "p@2", day: int = 0, cats: tuple = ()) -> Decision:
    return Decision(
        pk=f"c-{kind}-{label}-{day}-{prompt}",
        sk="s",
        reviewer="r",
        decided_at=T0 + timedelta(days=day),
        label=label,  # type: ignore[arg-type]
        categories=cats,
        verdict_kind=kind,  # type: ignore[arg-type]
        prompt=prompt,
        model_id="m",
    )


def test_agreement_figures_per_prompt_category_and_day() -> None:
    decisions = [
        _d("flagged", "scam", cats=("phishing_link",)),
        _d("flagged", "scam", day=1, cats=("phishing_link",)),
        _d("flagged", "not_scam", day=1),
        _d("undetermined", "scam"),
        _d("undetermined", "not_scam"),
        _d("undetermined", "not_scam", day=1),
        _d("cleared", "not_scam"),
        _d("cleared", "not_scam"),
        _d("cleared", "not_scam"),
        _d("cleared", "scam", cats=("other",)),
        _d("flagged", "cannot_tell"),
        _d("flagged", "scam", prompt="p@1"),
    ]
    figures = agreement_figures(decisions)
    overall = {row["prompt"]: row for row in figures["overall"]}
    p2 = overall["p@2"]
    assert (p2["flags_reviewed"], p2["flags_confirmed"], p2["flags_overturned"]) == (3, 2, 1)
    assert p2["flag_precision"] == round(2 / 3, 4) and p2["overturn_rate"] == round(1 / 3, 4)
    assert (p2["undetermined_scam"], p2["undetermined_not_scam"]) == (1, 2)
    assert (p2["cleared_reviewed"], p2["misses"], p2["miss_rate"]) == (4, 1, 0.25)
    assert p2["agreement"] == round((2 + 3) / (3 + 4), 4)
    assert p2["cannot_tell"] == 1
    assert overall["p@1"]["flag_precision"] == 1.0
    days = {(r["prompt"], r["day"]): r for r in figures["by_day"]}
    assert days[("p@2", "2026-11-02")]["flags_overturned"] == 1
    categories = {(r["prompt"], r["category"]): r for r in figures["by_category"]}
    assert categories[("p@2", "phishing_link")]["flags_confirmed"] == 2
    assert categories[("p@2", "other")]["misses"] == 1


def test_shadow_figures_count_flips_and_how_reviewers_decided_them() -> None:
    def pair(n: int, live: bool | None, shadow: bool | None) -> tuple[Any, Any]:
        at = T0 + timedelta(minutes=n)
        return (
            verdict(f"c{n}", at, suspicious=live, score=None if live is None else float(live)),
            verdict(
                f"c{n}",
                at,
                suspicious=shadow,
                score=None if shadow is None else float(shadow),
                prompt="suspicious-conversation@3",
            ),
        )

    pairs = [pair(0, True, True), pair(1, False, True), pair(2, False, True), pair(3, True, False)]
    pairs.append(pair(4, None, True))
    live_key = verdict_key("c1", T0 + timedelta(minutes=1), "suspicious-conversation@2")
    decided = {
        (live_key.pk, live_key.sk): Decision(
            pk=live_key.pk,
            sk=live_key.sk,
            reviewer="r",
            decided_at=T0,
            label="scam",
            verdict_kind="cleared",
            prompt="suspicious-conversation@2",
            model_id="m",
        )
    }
    (group,) = shadow_figures(pairs, decided)
    assert (group["pairs"], group["agree"], group["agreement"]) == (5, 1, 0.2)
    assert (group["flips_to_flag"], group["flips_to_clear"], group["other_disagreements"]) == (
        2,
        1,
        1,
    )
    assert group["flips_reviewed"]["to_flag"] == {
        "scam": 1,
        "not_scam": 0,
        "cannot_tell": 0,
        "unreviewed": 1,
    }
    assert group["reviewers_sided_with"] == {"live": 0, "shadow": 1}


def test_shadow_flips_find_the_decision_on_a_verdict_keyed_with_its_window_digest() -> None:
    # The stream job stores each verdict under a key ending with its window's digest.
    at = T0 + timedelta(minutes=7)
    live = verdict("c7", at, suspicious=False, score=0.1).model_copy(
        update={"window_digest": "0123456789abcdef"}
    )
    shadow = verdict("c7", at, suspicious=True, score=0.9, prompt="suspicious-conversation@3")
    key = stored_verdict(live).key
    assert key.sk.endswith("#0123456789abcdef")
    decided = {
        (key.pk, key.sk): Decision(
            pk=key.pk,
            sk=key.sk,
            reviewer="r",
            decided_at=T0,
            label="scam",
            verdict_kind="cleared",
            prompt=live.prompt,
            model_id="m",
        )
    }
    (group,) = shadow_figures([(live, shadow)], decided)
    assert group["flips_reviewed"]["to_flag"]["scam"] == 1
    assert group["reviewers_sided_with"] == {"live": 0, "shadow": 1}
