"""The FastAPI app. `create_app()` builds it; nothing connects until a request comes.

Routes: /healthz; the public pages (bot.web.public); the dashboard under /admin
(bot.web.auth, bot.web.admin); the JSON API under /api (bot.web.api, bot.web.hooks)."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from bot import __version__
from bot.config import Settings, get_settings
from bot.services.editors import SESSION_LIFETIME
from bot.services.engagement import Buffer
from bot.services.status import health
from bot.web import admin, api, auth, bounce_hooks, hooks, public
from bot.web.limits import BodyLimit, limit_for
from bot.web.security import LoginRequired, security_headers
from bot.web.templating import render
from bot.web.tracking import Tracking

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).resolve().parent / "static"
SESSION_COOKIE = "pressbot_session"
# The cookie lives as long as the session row it names (bot.services.editors).
SESSION_MAX_AGE = int(SESSION_LIFETIME.total_seconds())


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(title="pressbot", version=__version__, docs_url="/api/docs",
                  redoc_url=None, openapi_url="/api/openapi.json",
                  swagger_ui_oauth2_redirect_url=None,  # bearer tokens only: no OAuth2 flow
                  description="pressbot's JSON API: articles, editions, share posts, "
                              "subscribers and lists. Authenticate with "
                              "`Authorization: Bearer <token>` (`pressbot tokens create`).")
    app.state.settings = settings

    # Added first, so it sits innermost: its 413s still get the security headers below.
    app.add_middleware(BodyLimit, limit=limit_for(settings))

    @app.middleware("http")
    async def add_security_headers(request: Request, call_next):
        response = await call_next(request)
        security_headers(request.url.path, response.headers)
        return response

    # Added last, so it runs first: the session is there for every route and middleware.
    app.add_middleware(SessionMiddleware, secret_key=settings.effective_secret_key(),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_MAX_AGE, same_site="lax",
                       https_only=settings.base_url.startswith("https://"))

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired):
        return RedirectResponse(f"/admin/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    async def database_down(request: Request, exc: Exception):
        # The database is down or unreachable: a page saying so (503, try again), not a
        # traceback and a bare 500. Nobody is looked up: that would ask the database again.
        log.error("database unavailable for %s: %s", request.url.path, str(exc).splitlines()[0][:300])
        request.state.editor = None
        detail = "The site cannot reach its database right now. Please try again in a few minutes."
        headers = {"Retry-After": "60"}
        if request.url.path.startswith("/api") or "text/html" not in request.headers.get("accept", ""):
            return JSONResponse({"detail": detail}, status_code=503, headers=headers)
        return render(request, "error.html", {"status": 503, "detail": detail}, status_code=503,
                      headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        # The API and scripts get JSON; a person in a browser gets a page saying what happened.
        wants_html = "text/html" in request.headers.get("accept", "")
        if request.url.path.startswith("/api") or not wants_html:
            return await http_exception_handler(request, exc)
        return render(request, "error.html", {"status": exc.status_code, "detail": exc.detail},
                      status_code=exc.status_code, headers=getattr(exc, "headers", None))

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(hooks.router)
    app.include_router(bounce_hooks.router)   # providers' bounce webhooks
    app.include_router(api.router)
    app.include_router(auth.router)
    app.include_router(admin.router)
    app.include_router(public.router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        # The site's own pages are elsewhere; here readers find the sign-up and the archive.
        return RedirectResponse("/subscribe", status_code=307)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        # A sync endpoint: FastAPI runs it in a thread, so a slow broker blocks no one.
        # 503 only when this instance cannot work (database, broker); a failing SMTP server,
        # social account or source is 200 "degraded", naming them (bot.services.status.health).
        code, body = health(settings)
        return JSONResponse(body, status_code=code)

    # Added last, so it is outermost: /r/ and /o/ are answered before the session and the
    # router (bot.web.tracking); counts go to this buffer, drained off the request path.
    app.state.engagement = Buffer()
    app.add_middleware(Tracking, settings=settings, buffer=app.state.engagement)
    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory bot.web.app:app_factory` (the Procfile's web process)."""
    return create_app()
