"""The staff web app: ``create_app(settings)`` builds it; ``mediawatch serve`` runs it with uvicorn.

**Adding pages** (the extension point): put a module in ``web/routes/`` that defines ``router`` (a FastAPI
``APIRouter``) and, for the main navigation, ``NAV = [NavItem("nav.trends", "/trends", order=20)]``. Every
module there is included, in name order; nothing else needs editing. HTML routes use
``include_in_schema=False``; JSON routes live under ``/api/`` and appear in ``/openapi.json``. A standard
section (trends, alerts, reports, sources) that no module serves yet shows as a stub page.

Every route gets :func:`web.auth.csrf_guard`. Errors are one clear line: a page for people (``error.html``),
``{"detail": "…"}`` for the API; a stack trace goes to the server log, never to a page.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
from typing import Any
from urllib.parse import quote

import uvicorn
from elastic_transport import TransportError
from elasticsearch import ApiError
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from index.search import NothingIndexed
from mediawatch.config import Settings
from mediawatch.errors import ClusterUnavailable, SchemaOutdated, UserError
from web import routes
from web.auth import ANON_CSRF_COOKIE, LANG_COOKIE, csrf_guard, current_user, is_api, is_secure
from web.context import WebContext
from web.i18n import gettext, normalise
from web.render import STATIC_DIR, NavItem, language_of, render

log = logging.getLogger("mediawatch.web")

STANDARD_SECTIONS: tuple[NavItem, ...] = (
    NavItem("nav.search", "/search", 10),
    NavItem("nav.trends", "/trends", 20),
    NavItem("nav.alerts", "/alerts", 30),
    NavItem("nav.reports", "/reports", 40),
    NavItem("nav.sources", "/admin/sources", 50, admin=True),
    NavItem("nav.users", "/admin/users", 60, admin=True),
    NavItem("nav.audit", "/admin/audit", 70, admin=True),
    NavItem("nav.account", "/account", 90),
)
"""The main sections in navigation order; one no route module serves yet is shown as a stub page."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def route_modules() -> list[Any]:
    """Every module of ``web/routes/``, imported, in name order."""
    names = sorted(info.name for info in pkgutil.iter_modules(routes.__path__) if not info.name.startswith("_"))
    return [importlib.import_module(f"web.routes.{name}") for name in names]


def create_app(settings: Settings) -> FastAPI:
    """The app for ``settings`` (read nothing at import; the Elasticsearch client is built here)."""
    app = FastAPI(
        title="mediawatch",
        version="0.1.0",
        description=(
            "JSON API of the mediawatch staff app. Authenticate with an API token (created on the Account page): "
            "`Authorization: Bearer mw_…`. Instants are ISO 8601 in the configured time zone. Errors are "
            '`{"detail": "one line"}`.'
        ),
        docs_url=None,  # Swagger UI and ReDoc load their assets from a CDN: off (see /api for a local overview)
        redoc_url=None,
        openapi_url="/openapi.json",
        dependencies=[Depends(csrf_guard)],
    )
    app.state.ctx = WebContext.build(settings)
    nav: list[NavItem] = []
    served: set[str] = set()
    for module in route_modules():
        app.include_router(module.router)
        nav.extend(getattr(module, "NAV", ()))
        served |= {module.router.prefix + route.path for route in module.router.routes
                   if "GET" in (getattr(route, "methods", None) or ())}
    for item in STANDARD_SECTIONS:
        if item.path not in served:
            app.include_router(_stub_router(item))
            nav.append(item)
        elif not any(n.path == item.path for n in nav):
            nav.append(item)
    app.state.nav = nav
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_error_handlers(app)
    app.add_middleware(SecurityHeaders)
    return app


def _stub_router(item: NavItem) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get(item.path)
    def stub(request: Request, user=Depends(current_user)):  # noqa: ANN001
        if item.admin and not user.is_admin:
            raise StarletteHTTPException(403, "administrators only")
        return render(request, "stub.html", {"section": item.key})

    return router


def server_config(app: FastAPI, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's settings for the app. uvicorn's own proxy-header handling is off: ``web.auth`` reads
    ``X-Forwarded-*`` itself, and only with ``web.trusted_proxy``."""
    return uvicorn.Config(app, host=host, port=port, proxy_headers=False, server_header=False,
                          log_level=options.pop("log_level", "info"), **options)


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response, ``Cache-Control: no-store`` on pages and API
    answers (staff data must not linger in shared caches), and the cookies the request asked for (the anonymous
    CSRF cookie, the ``?lang=`` choice)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                extra = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                    b"x-frame-options": b"DENY",
                    b"content-security-policy": CONTENT_SECURITY_POLICY.encode(),
                }
                if not scope["path"].startswith("/static/"):
                    extra[b"cache-control"] = b"no-store"
                present = {name.lower() for name, _ in headers}
                headers.extend((k, v) for k, v in extra.items() if k not in present)
                state = scope.get("state") or {}
                secure = "; Secure" if is_secure(request) else ""
                if state.get("new_anon_csrf"):
                    headers.append((b"set-cookie", (f"{ANON_CSRF_COOKIE}={state['new_anon_csrf']}; Path=/; HttpOnly; "
                                                    f"SameSite=Lax{secure}").encode()))
                asked = normalise(request.query_params.get("lang"))
                if asked and asked != request.cookies.get(LANG_COOKIE):
                    headers.append((b"set-cookie", (f"{LANG_COOKIE}={asked}; Path=/; Max-Age=31536000; "
                                                    f"SameSite=Lax{secure}").encode()))
            await send(message)

        await self.app(scope, receive, send_with_headers)


_DETAIL_KEYS = {
    "administrators only": "error.admin_only",
    "not found": "error.not_found",
    "CSRF token missing or wrong: reload the page and try again": "error.csrf",
}


def _error_page(request: Request, status: int, message: str):
    lang = language_of(request)
    return render(request, "error.html", {"status": status, "message": message,
                                          "heading": gettext(f"error.{status}", lang)}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = str(exc.detail)
        if is_api(request):
            return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=exc.headers)
        if exc.status_code == 401 and request.method in ("GET", "HEAD"):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
        key = _DETAIL_KEYS.get(detail)
        message = gettext(key, language_of(request)) if key else detail
        if exc.status_code == 404 and not key:
            message = gettext("error.not_found", language_of(request))
        return _error_page(request, exc.status_code, message)

    @app.exception_handler(RequestValidationError)
    async def invalid_input(request: Request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'input'}: {err.get('msg', 'invalid')}"
            for err in exc.errors()[:3]
        )
        if is_api(request):
            return JSONResponse({"detail": problems}, status_code=422)
        return _error_page(request, 400, problems)

    @app.exception_handler(UserError)
    async def user_error(request: Request, exc: UserError):
        status = 503 if isinstance(exc, ClusterUnavailable | SchemaOutdated) else 404 if isinstance(
            exc, NothingIndexed) else 400
        if is_api(request):
            return JSONResponse({"detail": str(exc)}, status_code=status)
        message = gettext("error.cluster", language_of(request)) if isinstance(exc, ClusterUnavailable) else str(exc)
        return _error_page(request, status, message)

    @app.exception_handler(TransportError)
    async def cluster_down(request: Request, exc: TransportError):
        log.warning("Elasticsearch unreachable: %s", exc)
        if is_api(request):
            return JSONResponse({"detail": "Elasticsearch cannot be reached"}, status_code=503)
        return _error_page(request, 503, gettext("error.cluster", language_of(request)))

    @app.exception_handler(ApiError)
    async def cluster_error(request: Request, exc: ApiError):
        log.error("Elasticsearch refused a request: %s", exc)
        if is_api(request):
            return JSONResponse({"detail": "the data store refused the request"}, status_code=503)
        return _error_page(request, 503, gettext("error.cluster", language_of(request)))

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        if is_api(request):
            return JSONResponse({"detail": "internal error; it has been logged"}, status_code=500)
        return _error_page(request, 500, gettext("error.internal", language_of(request)))
