"""The review web app (Starlette, Jinja2 templates, one small script, no build step).

Every page needs the app's session (sessions.py, opened by a sign-in of auth.py or
oidc.py); every POST needs a CSRF token. Pages that show conversation text are
`no-store` and nothing here logs that text. With the page's script, a decision is one
POST whose answer is the next item's HTML, swapped in place; without it, the same forms
work with a redirect. Opening an item takes no lease: the page takes one when the
reviewer starts deciding, renews it while open and releases it on leaving. A refused
decision answers with the same item and the reviewer's input kept.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from pipeline.errors import ParleyError
from pipeline.verdict import Category

from .auth import CSRF_FIELD, CSRF_HEADER, CsrfTokens, SignIn
from .decisions import LABELS, AlreadyDecided, ReviewConflict
from .items import parse_key
from .policy import reasons
from .queue import PAGE_SIZE, QueueFilter
from .sessions import Sessions
from .team_routes import TeamKit, team_routes

if TYPE_CHECKING:
    from starlette.requests import Request

    from .decisions import Decision
    from .service import ReviewService

HERE = Path(__file__).resolve().parent
MAX_FORM_BYTES = 16 * 1024
MAX_FILTER_CHARS = 200
STATUSES = ("flagged", "undetermined", "cleared")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self';"
    " img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


class BadRequest(ParleyError):
    pass


class Refused(Exception):
    """A refused write whose answer is a page of its own (the item with the input kept)."""

    def __init__(self, response: Response) -> None:
        self.response = response


def role_of(values: Any) -> str:
    """The review role a request acts in: first (the queue), second or senior."""
    value = values.get("role")
    if isinstance(value, list):
        value = value[0] if value else None
    return value if value in ("second", "senior") else "first"


def create_app(
    service: ReviewService,
    sign_in: SignIn,
    *,
    secret: str | bytes | None = None,
    sessions: Sessions | None = None,
    extra_routes: list[Any] | None = None,
) -> Starlette:
    """The ASGI app. `secret` signs CSRF tokens and sessions (random per process when not
    given); `sessions` defaults to cookies that are not marked Secure (plain loopback)."""
    key = secret or secrets.token_bytes(32)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    csrf = CsrfTokens(key)
    sessions = sessions or Sessions(key, secure=False)
    categories = [c.value for c in Category]

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response

    def who(request: Request) -> str:
        identity = sessions.identity(request)
        if identity is None:
            raise PermissionError
        return identity

    def filters_of(values: Any) -> QueueFilter:
        def one(name: str) -> str | None:
            value = values.get(name)
            if isinstance(value, list):
                value = value[0] if value else None
            value = (value or "").strip()[:MAX_FILTER_CHARS]
            return value or None

        status = one("status")
        return QueueFilter(
            status=status if status in STATUSES else None,  # type: ignore[arg-type]
            category=one("category"),
            prompt=one("prompt"),
            model=one("model"),
        )

    def filter_qs(filters: QueueFilter) -> str:
        pairs = {k: v for k, v in vars(filters).items() if v}
        return urlencode(pairs)

    def integer(value: Any, default: int = 0) -> int:
        if isinstance(value, list):
            value = value[0] if value else None
        try:
            return max(0, min(int(value), 10_000_000))
        except (TypeError, ValueError):
            return default

    def base_context(identity: str, filters: QueueFilter) -> dict[str, Any]:
        return {
            "reviewer": identity,
            "csrf": csrf.issue(identity),
            "filters": filters,
            "filter_qs": filter_qs(filters),
            "filter_fields": [(k, v) for k, v in vars(filters).items() if v],
            "statuses": STATUSES,
            "categories": categories,
            "labels": LABELS,
            "team": service.team,
            "is_senior": identity in service.team.seniors,
        }

    def item_response(
        request: Request,
        identity: str,
        filters: QueueFilter,
        position: int,
        *,
        key: Any = None,
        last: Decision | None = None,
        message: str = "",
        draft: dict[str, Any] | None = None,
        status: int = 200,
        role: str = "first",
    ) -> Response:
        """The item at a key (or at a queue position). `draft`: the reviewer's input of a
        refused decision, shown again so that nothing typed is lost."""
        context = base_context(identity, filters)
        view = None
        if key is not None:
            view = service.open(key, identity)
        else:
            entry = service.at(filters, identity, position)
            view = service.open(entry.key, identity) if entry is not None else None
        query = {"pos": position, **{k: v for k, v in vars(filters).items() if v}}
        if view is not None:
            query = {"pk": view.stored.key.pk, "sk": view.stored.key.sk, **query}
        if role != "first":
            query["role"] = role
        context.update(
            view=view,
            pos=position,
            last=last,
            message=message,
            draft=draft,
            self_url=f"/item?{urlencode(query)}",
            lease_seconds=service.decisions.lease_seconds,
            now=service.clock(),
            role=role,
            blind=role == "second",  # a second review sees nobody's decision
            reasons=reasons(),
            blurred=bool(
                view
                and set(service.team.blur_categories) & {c.value for c in view.verdict.categories}
            ),
        )
        fragment = request.headers.get("x-fragment") == "1"
        return page(request, "_item.html" if fragment else "item.html", context, status)

    async def form(request: Request, identity: str) -> dict[str, list[str]]:
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            raise BadRequest("forms are sent url-encoded")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise BadRequest("form too large")
        data = parse_qs(body.decode("utf-8", "replace"), max_num_fields=64)
        fields = data.get(CSRF_FIELD) or []
        token = request.headers.get(CSRF_HEADER) or (fields[0] if fields else None)
        if not csrf.valid(token, identity):
            raise PermissionError("csrf")
        return data

    def guarded(handler: Any) -> Any:
        async def endpoint(request: Request) -> Response:
            try:
                identity = who(request)
                return await handler(request, identity)
            except PermissionError as exc:
                if str(exc) == "csrf":
                    return error(request, 403, "The form expired or was not sent by this app.")
                return error(request, 401, "Sign in to review.")
            except ReviewConflict as exc:
                return error(request, 409, str(exc))
            except Refused as refused:
                return refused.response
            except (BadRequest, ParleyError, ValueError) as exc:
                return error(request, 400, str(exc) or "bad request")

        return endpoint

    def error(request: Request, status: int, text: str) -> Response:
        fragment = request.headers.get("x-fragment") == "1"
        name = "_error.html" if fragment else "error.html"
        context = {"status": status, "text": text, "reviewer": None, "sign_in": sign_in}
        return page(request, name, context, status)

    async def queue_page(request: Request, identity: str) -> Response:
        filters = filters_of(request.query_params)
        offset = integer(request.query_params.get("offset"))  # numbering; the page itself
        after = request.query_params.get("after") or None  # comes from the cursor if any
        result = service.page(filters, identity, offset=offset, limit=PAGE_SIZE, after=after)
        context = base_context(identity, filters)
        context.update(page=result, offset=offset, page_size=PAGE_SIZE)
        return page(request, "queue.html", context)

    async def item_page(request: Request, identity: str) -> Response:
        filters = filters_of(request.query_params)
        position = integer(request.query_params.get("pos"))
        pk, sk = request.query_params.get("pk"), request.query_params.get("sk")
        key = parse_key(pk or "", sk or "") if pk or sk else None
        return item_response(
            request, identity, filters, position, key=key, role=role_of(request.query_params)
        )

    async def decide(request: Request, identity: str) -> Response:
        data = await form(request, identity)
        filters = filters_of(data)
        position = integer(data.get("pos"))
        key = parse_key((data.get("pk") or [""])[0], (data.get("sk") or [""])[0])
        label = (data.get("label") or [""])[0]
        if label not in LABELS:
            raise BadRequest("label must be scam, not_scam or cannot_tell")
        note = (data.get("note") or [""])[0]
        chosen = data.get("categories", [])
        reason = (data.get("reason") or [""])[0][:64]
        role = role_of(data)
        try:
            decision = service.decide(
                key,
                identity,
                label,  # type: ignore[arg-type]
                chosen,
                note,
                reason=reason,
                role=role,  # type: ignore[arg-type]
            )
        except ReviewConflict as exc:
            # The same item again, with what the reviewer typed and why it was refused.
            draft = {"note": note, "categories": chosen, "label": label, "reason": reason}
            already = isinstance(exc, AlreadyDecided)
            raise Refused(
                item_response(
                    request,
                    identity,
                    filters,
                    position,
                    key=key,
                    message=("Not saved: " if not already else "Not saved: this item is ")
                    + str(exc)
                    + ".",
                    draft=draft,
                    status=409,
                    role=role,
                )
            ) from None
        said = {"scam": "scam", "not_scam": "not a scam", "cannot_tell": "cannot tell"}[label]
        if role != "first":  # the next task of the same kind, or the task list
            tasks = (
                service.second_tasks(identity)
                if role == "second"
                else service.senior_tasks(identity)
            )
            if not tasks:
                return RedirectResponse(f"/{role}", status_code=303)
            return item_response(
                request,
                identity,
                filters,
                0,
                key=tasks[0].key,
                last=decision,
                message=f"Decided: {said}.",
                role=role,
            )
        if request.headers.get("x-fragment") != "1":
            target = f"/item?{urlencode({'pos': position})}&{filter_qs(filters)}"
            return RedirectResponse(target, status_code=303)
        return item_response(
            request, identity, filters, position, last=decision, message=f"Decided: {said}."
        )

    async def undo(request: Request, identity: str) -> Response:
        data = await form(request, identity)
        filters = filters_of(data)
        key = parse_key((data.get("pk") or [""])[0], (data.get("sk") or [""])[0])
        decision_id = (data.get("decision_id") or [""])[0][:64]
        undone = service.undo(key, decision_id, identity)
        position = integer(data.get("pos"))
        return item_response(
            request,
            identity,
            filters,
            position,
            key=undone.verdict_key,
            message="Decision undone.",
            role=undone.role,
        )

    async def lease(request: Request, identity: str) -> Response:
        data = await form(request, identity)
        key = parse_key((data.get("pk") or [""])[0], (data.get("sk") or [""])[0])
        try:
            expires = service.lease(key, identity)
        except ReviewConflict as exc:
            return json_answer({"held": False, "reason": str(exc)}, 409)
        left = (expires - service.clock()).total_seconds()
        return json_answer({"held": True, "expires_at": expires.isoformat(), "seconds": left})

    async def release(request: Request, identity: str) -> Response:
        data = await form(request, identity)
        key = parse_key((data.get("pk") or [""])[0], (data.get("sk") or [""])[0])
        service.release(key, identity)
        return Response(status_code=204, headers=SECURITY_HEADERS)

    def json_answer(body: Any, status: int = 200) -> Response:
        response = JSONResponse(body, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response

    async def mine(request: Request, identity: str) -> Response:
        context = base_context(identity, QueueFilter())
        context.update(decisions=service.decisions_of(identity))
        return page(request, "mine.html", context)

    async def sign_out(request: Request, identity: str) -> Response:
        await form(request, identity)
        response = RedirectResponse(sign_in.after_sign_out(request), status_code=303)
        sessions.sign_out(request, response)
        return response

    async def signed_out(request: Request) -> Response:
        context = {"reviewer": None, "sign_in": sign_in}
        return page(request, "signed_out.html", context)

    async def figures_page(request: Request, identity: str) -> Response:
        context = base_context(identity, QueueFilter())
        context.update(figures=service.figures())
        return page(request, "figures.html", context)

    async def figures_json(request: Request, identity: str) -> Response:
        response = JSONResponse(service.figures())
        response.headers.update(SECURITY_HEADERS)
        return response

    async def not_a_page(request: Request) -> Response:
        # A reload after a form post without the script: the queue, not "Method Not Allowed".
        return RedirectResponse("/", status_code=303)

    async def health(request: Request) -> Response:
        return HTMLResponse("ok")

    routes = [
        Route("/", guarded(queue_page)),
        Route("/item", guarded(item_page)),
        Route("/decide", guarded(decide), methods=["POST"]),
        Route("/undo", guarded(undo), methods=["POST"]),
        Route("/decide", not_a_page),
        Route("/undo", not_a_page),
        Route("/lease", guarded(lease), methods=["POST"]),
        Route("/release", guarded(release), methods=["POST"]),
        Route("/mine", guarded(mine)),
        Route("/figures", guarded(figures_page)),
        Route("/api/figures", guarded(figures_json)),
        Route("/logout", guarded(sign_out), methods=["POST"]),
        Route("/signed-out", signed_out),
        *sign_in.routes(sessions, error),
        *team_routes(TeamKit(service, page, guarded, form, base_context, parse_key, json_answer)),
        *(extra_routes or []),
        Route("/healthz", health),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes, middleware=sign_in.middleware())
