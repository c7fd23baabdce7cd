"""The ASGI application: routes, the page and its security headers."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from atlas.config import Config
from atlas.store import Store

from . import api, images, mcc, phoenix
from .bots import Guests
from .guard import RateLimiter
from .link import Link
from .openapi import SPEC
from .tokens import Tokens, load_secret
from .ws import assistant

STATIC = Path(__file__).parent / "static"

# The page loads nothing from elsewhere but card images; no inline script or style.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' https: http: data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
                               "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


async def _page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers=_PAGE_HEADERS)


async def _openapi(request: Request) -> Response:
    return JSONResponse(SPEC)


def create_app(config: Config, store: Store, mqtt_link: Link,
               tokens: Tokens | None = None) -> Starlette:
    """The bridge as an ASGI app; ``mqtt_link`` must be running (``Link.run``)."""
    if tokens is None:
        tokens = Tokens(load_secret(config.data_dir), store.path,
                        access_ttl=config.bridge.access_ttl, refresh_ttl=config.bridge.refresh_ttl)
    routes = [
        Route("/", _page),
        Route("/api/openapi.json", _openapi),
        # pytlas-server clients may add a trailing slash (Django's habit): accept both.
        *(Route(path + end, handler, methods=["POST"]) for path, handler in (
            ("/api/token", api.issue_token), ("/api/token/refresh", api.refresh_token),
            ("/api/token/revoke", api.revoke_token)) for end in ("", "/")),
        Route("/api/me", api.get_me, methods=["GET"]),
        Route("/api/me", api.put_me, methods=["PUT"]),
        Route("/api/me/env", api.get_env, methods=["GET"]),
        Route("/api/me/env", api.put_env, methods=["PUT"]),
        Route("/api/skills", api.get_skills, methods=["GET"]),
        WebSocketRoute("/ws/assistant/", assistant),
        WebSocketRoute("/ws/assistant", assistant),
        # Bots' guests: the AIDA dialect (Phoenix channels, image uploads) and MCC's.
        WebSocketRoute("/socket/websocket", phoenix.socket),
        Route("/content/image/{bot_id}/{session}", images.upload, methods=["POST"]),
        Route("/content/image/{image_id}", images.download, methods=["GET"]),
        WebSocketRoute("/mcc/{bot_id}", mcc.socket),
        WebSocketRoute("/mcc/{bot_id}/use/{uid}", mcc.socket),
        Route("/mcc/{bot_id}/init", mcc.init, methods=["POST"]),
        Route("/mcc/{bot_id}/event", mcc.event, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = []
    if config.bridge.origins:
        # Pages served from the allowed origins call the REST API across origins.
        middleware.append(Middleware(CORSMiddleware, allow_origins=list(config.bridge.origins),
                                     allow_methods=["GET", "PUT", "POST"],
                                     allow_headers=["Authorization", "Content-Type"]))
    app = Starlette(routes=routes, middleware=middleware,
                    exception_handlers={api.ApiError: api.error_response})
    rate = config.bridge.rate
    app.state.deps = api.Deps(config, store, mqtt_link, tokens,
                              user_rate=RateLimiter.per_second(rate) if rate > 0 else None)
    app.state.guests = Guests(store, mqtt_link, config.bots, turn_timeout=config.skill_timeout)
    return app
