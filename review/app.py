"""The review web app (Starlette, Jinja2 templates, one small script, no build step).

Every page needs an identity (see auth.py); every POST needs a CSRF token. Pages that
show conversation text are `no-store` and nothing here logs that text. With the page's
script, a decision is one POST whose answer is the next item's HTML, swapped in place;
without it, the same forms work with a redirect.
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

from .auth import COOKIE, CSRF_FIELD, CSRF_HEADER, Authenticator, CsrfTokens, LocalTokenAuth
from .decisions import LABELS, ReviewConflict
from .items import parse_key
from .queue import PAGE_SIZE, QueueFilter

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


def create_app(service: ReviewService, auth: Authenticator, *, secret: str | bytes | None = None):
    """The ASGI app. `secret` signs CSRF tokens (random per process when not given)."""
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    csrf = CsrfTokens(secret or secrets.token_bytes(32))
    categories = [c.value for c in Category]

    def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers.update(SECURITY_HEADERS)
        return response

    def who(request: Request) -> str:
        identity = auth.identify(request)
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
    ) -> Response:
        """The item at a key (or the first openable one from a queue position)."""
        context = base_context(identity, filters)
        view = None
        if key is not None:
            view = service.open(key, identity)
        else:
            for offset in range(position, position + 5):  # skip items others just took
                entry = service.at(filters, identity, offset)
                if entry is None:
                    break
                try:
                    view = service.open(entry.key, identity)
                    position = offset
                    break
                except ReviewConflict:
                    continue
        context.update(view=view, pos=position, last=last, message=message)
        fragment = request.headers.get("x-fragment") == "1"
        return page(request, "_item.html" if fragment else "item.html", context)

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
            except (BadRequest, ParleyError, ValueError) as exc:
                return error(request, 400, str(exc) or "bad request")

        return endpoint

    def error(request: Request, status: int, text: str) -> Response:
        fragment = request.headers.get("x-fragment") == "1"
        name = "_error.html" if fragment else "error.html"
        return page(request, name, {"status": status, "text": text, "reviewer": None}, status)

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
        return item_response(request, identity, filters, position, key=key)

    async def decide(request: Request, identity: str) -> Response:
        data = await form(request, identity)
        filters = filters_of(data)
        position = integer(data.get("pos"))
        key = parse_key((data.get("pk") or [""])[0], (data.get("sk") or [""])[0])
        label = (data.get("label") or [""])[0]
        if label not in LABELS:
            raise BadRequest("label must be scam, not_scam or cannot_tell")
        note = (data.get("note") or [""])[0]
        decision = service.decide(key, identity, label, data.get("categories", []), note)  # type: ignore[arg-type]
        if request.headers.get("x-fragment") != "1":
            target = f"/item?{urlencode({'pos': position})}&{filter_qs(filters)}"
            return RedirectResponse(target, status_code=303)
        said = {"scam": "scam", "not_scam": "not a scam", "cannot_tell": "cannot tell"}[label]
        return item_response(
            request, identity, filters, position, last=decision, message=f"Decided: {said}."
        )

    async def undo(request: Request, identity: str) -> Response:
        data = await form(request, identity)
        filters = filters_of(data)
        key = parse_key((data.get("pk") or [""])[0], (data.get("sk") or [""])[0])
        decision_id = (data.get("decision_id") or [""])[0][:64]
        service.undo(key, decision_id, identity)
        position = integer(data.get("pos"))
        return item_response(
            request, identity, filters, position, key=key, message="Decision undone."
        )

    async def figures_page(request: Request, identity: str) -> Response:
        context = base_context(identity, QueueFilter())
        context.update(figures=service.figures())
        return page(request, "figures.html", context)

    async def figures_json(request: Request, identity: str) -> Response:
        response = JSONResponse(service.figures())
        response.headers.update(SECURITY_HEADERS)
        return response

    async def login(request: Request) -> Response:
        token = request.query_params.get("token")
        if not isinstance(auth, LocalTokenAuth) or not auth.valid(token):
            return error(request, 401, "Use the sign-in link printed by `parley review serve`.")
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token or "", httponly=True, samesite="strict", path="/")
        return response

    async def health(request: Request) -> Response:
        return HTMLResponse("ok")

    routes = [
        Route("/", guarded(queue_page)),
        Route("/item", guarded(item_page)),
        Route("/decide", guarded(decide), methods=["POST"]),
        Route("/undo", guarded(undo), methods=["POST"]),
        Route("/figures", guarded(figures_page)),
        Route("/api/figures", guarded(figures_json)),
        Route("/login", login),
        Route("/healthz", health),
        Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    return Starlette(routes=routes)
