"""The team's pages: queues and their ages, second and senior review, the audit trail,
waves of near-duplicates with bulk decisions. Routes only; the work is in service.py,
double.py, queues.py, waves.py and policy.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .decisions import LABELS, ReviewConflict
from .double import overturns
from .policy import check_reason, reasons
from .queue import QueueFilter
from .waves import group

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from .service import ReviewService

WAVE_WINDOW = 200  # queue items looked at for near-duplicates
BULK_MAX = 100


@dataclass(frozen=True)
class TeamKit:
    """What the team's routes borrow from the app: pages, sign-in and CSRF checks."""

    service: ReviewService
    page: Callable[..., Response]
    guarded: Callable[[Any], Any]
    form: Callable[..., Any]
    base_context: Callable[[str, QueueFilter], dict[str, Any]]
    parse_key: Callable[[str, str], Any]
    json_answer: Callable[..., Response]


def team_routes(kit: TeamKit) -> list[Route]:
    service = kit.service

    async def queues_page(request: Request, identity: str) -> Response:
        context = kit.base_context(identity, QueueFilter())
        context.update(queues=service.queue_ages(), bound=service.team.max_age_minutes)
        return kit.page(request, "queues.html", context)

    async def queues_json(request: Request, identity: str) -> Response:
        return kit.json_answer(
            {"bound_minutes": service.team.max_age_minutes, "queues": service.queue_ages()}
        )

    async def second_page(request: Request, identity: str) -> Response:
        context = kit.base_context(identity, QueueFilter())
        context.update(role="second", tasks=service.second_tasks(identity))
        return kit.page(request, "tasks.html", context)

    async def senior_page(request: Request, identity: str) -> Response:
        context = kit.base_context(identity, QueueFilter())
        context.update(role="senior", tasks=service.senior_tasks(identity))
        return kit.page(request, "tasks.html", context)

    async def audit_page(request: Request, identity: str) -> Response:
        who = (request.query_params.get("reviewer") or "").strip()[:128]
        every = service.decisions.all_decisions()
        shown = [d for d in every if not who or d.reviewer == who][::-1][:500]
        overturned = {s.decision_id: f for f, s in overturns(every)}
        context = kit.base_context(identity, QueueFilter())
        context.update(decisions=shown, overturned=overturned, who=who, total=len(every))
        return kit.page(request, "audit.html", context)

    def waves_of(identity: str) -> list[list[Any]]:
        items = service.page(QueueFilter(), identity, limit=WAVE_WINDOW).items
        texts = []
        for item in items:
            window = service.history.latest(item.key.pk, 1, until=item.last_message_at)
            texts.append((item, window.messages[-1].text if window.messages else ""))
        return group(texts)

    async def waves_page(request: Request, identity: str) -> Response:
        context = kit.base_context(identity, QueueFilter())
        context.update(waves=waves_of(identity), reasons=reasons(), window=WAVE_WINDOW)
        return kit.page(request, "waves.html", context)

    async def bulk(request: Request, identity: str) -> Response:
        data = await kit.form(request, identity)
        label = (data.get("label") or [""])[0]
        if label not in LABELS:
            raise ValueError("label must be scam, not_scam or cannot_tell")
        reason = check_reason((data.get("reason") or [""])[0][:64], label)
        keys = [kit.parse_key(*raw.split("\n", 1)) for raw in data.get("item", [])[:BULK_MAX]]
        decided = skipped = 0
        for key in keys:
            try:
                service.decide(key, identity, label, [], "bulk decision", reason=reason)  # type: ignore[arg-type]
                decided += 1
            except ReviewConflict:
                skipped += 1  # decided or held by someone meanwhile: theirs stands
        return RedirectResponse(f"/waves?decided={decided}&skipped={skipped}", status_code=303)

    return [
        Route("/queues", kit.guarded(queues_page)),
        Route("/api/queues", kit.guarded(queues_json)),
        Route("/second", kit.guarded(second_page)),
        Route("/senior", kit.guarded(senior_page)),
        Route("/audit", kit.guarded(audit_page)),
        Route("/waves", kit.guarded(waves_page)),
        Route("/bulk", kit.guarded(bulk), methods=["POST"]),
    ]
