"""The FastAPI app. `create_app()` builds it; nothing connects until a request comes."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from bot import __version__, broker
from bot.config import Settings, get_settings
from bot.services.status import check_database
from bot.web import hooks


def create_app(settings: Settings | None = None) -> FastAPI:
    app = FastAPI(title="pressbot", version=__version__)
    app.state.settings = settings or get_settings()
    app.include_router(hooks.router)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        # A sync endpoint: FastAPI runs it in a thread, so a slow broker blocks no one.
        settings = app.state.settings
        checks = {"database": check_database(settings), "broker": broker.check(settings)}
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "failing", **checks},
                            status_code=200 if ok else 503)

    return app


def app_factory() -> FastAPI:
    """For `uvicorn --factory bot.web.app:app_factory` (the Procfile's web process)."""
    return create_app()
