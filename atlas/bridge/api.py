"""The REST API: tokens, and the signed-in user's language and skill settings."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from atlas.config import Config
from atlas.store import Store, UnknownUser

from . import settings
from .guard import FailureLimiter, RateLimiter
from .link import Link, LinkUnavailable
from .messages import INVALID_TOKEN, ClientError, load_frame, ready
from .tokens import TokenError, Tokens

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024


@dataclass
class Deps:
    """What the handlers share: set once by ``create_app``, read by every request."""

    config: Config
    store: Store
    link: Link
    tokens: Tokens
    by_user: FailureLimiter = field(default_factory=lambda: FailureLimiter(limit=5))
    by_address: FailureLimiter = field(default_factory=lambda: FailureLimiter(limit=30))
    #: How fast each signed-in user's sockets may talk (``bridge.rate``); None: freely.
    user_rate: RateLimiter | None = None
    clock: Callable[[], float] = time.monotonic


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def error_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"error": str(exc)}, exc.status, headers=exc.headers)


def deps_of(request: Request) -> Deps:
    deps: Deps = request.app.state.deps
    return deps


async def _body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length", "0")
    if not declared.isdigit() or int(declared) > MAX_BODY:
        raise ApiError(413, f"body larger than {MAX_BODY} bytes")
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ApiError(413, f"body larger than {MAX_BODY} bytes")
    try:
        data = load_frame(raw.decode())
    except (UnicodeDecodeError, ClientError):
        raise ApiError(400, "the body must be JSON") from None
    if not isinstance(data, dict):
        raise ApiError(400, "the body must be a JSON object")
    return data


def _string(data: dict[str, Any], key: str, longest: int) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value or len(value) > longest:
        raise ApiError(400, f"{key!r} must be a string of 1 to {longest} characters")
    return value


Handler = Callable[[Request, str], Awaitable[Response]]


def signed_in(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Run ``handler(request, uid)`` for a valid ``Authorization: Bearer`` access token."""
    async def endpoint(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="atlas"'}
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "a Bearer access token is required", challenge)
        deps = deps_of(request)
        try:
            claims = deps.tokens.verify(token.strip())
        except TokenError as error:
            raise ApiError(401, str(error), challenge) from None
        if deps.store.user(claims.sub) is None:
            raise ApiError(401, "unknown user", challenge)
        return await handler(request, claims.sub)

    endpoint.__name__ = handler.__name__
    return endpoint


# -- tokens -----------------------------------------------------------------------------


async def issue_token(request: Request) -> Response:
    deps = deps_of(request)
    data = await _body(request)
    username = _string(data, "username", 128)
    password = _string(data, "password", 1024)
    address = request.client.host if request.client else "unknown"
    keys = (f"user:{username}", f"address:{address}")
    now = deps.clock()
    wait = max(deps.by_user.retry_after(keys[0], now), deps.by_address.retry_after(keys[1], now))
    if wait > 0:
        raise ApiError(429, "too many failed sign-ins; try again later",
                       {"Retry-After": str(int(wait) + 1)})
    # argon2 is deliberately slow: keep it off the event loop.
    if not await run_in_threadpool(deps.store.verify_password, username, password):
        deps.by_user.fail(keys[0], now)
        deps.by_address.fail(keys[1], now)
        log.info("failed sign-in for user %r from %s", username, address)
        raise ApiError(401, "invalid username or password")
    deps.by_user.succeed(keys[0])
    access, refresh = deps.tokens.issue(username)
    log.info("user %r signed in from %s", username, address)
    return JSONResponse({"access": access, "refresh": refresh})


async def refresh_token(request: Request) -> Response:
    deps = deps_of(request)
    token = _string(await _body(request), "refresh", 4096)
    try:
        access = deps.tokens.refresh(token)
        uid = deps.tokens.verify(access).sub
    except TokenError as error:
        raise ApiError(401, str(error)) from None
    if deps.store.user(uid) is None:
        raise ApiError(401, "unknown user")
    return JSONResponse({"access": access})


async def revoke_token(request: Request) -> Response:
    deps = deps_of(request)
    token = _string(await _body(request), "refresh", 4096)
    try:
        family = deps.tokens.revoke(token)
    except TokenError as error:
        raise ApiError(401, str(error)) from None
    # Sockets signed in with this sign-in's tokens end now, not when they next reconnect.
    deps.link.hub.end_family(family, INVALID_TOKEN.because("token revoked"))
    return Response(status_code=204)


# -- the signed-in user -------------------------------------------------------------------


def _me(deps: Deps, uid: str) -> dict[str, Any]:
    user = deps.store.user(uid)
    skills = deps.link.skills.skills if deps.link.skills else ()
    languages = sorted({deps.config.default_lang, *(lang for s in skills for lang in s.languages)})
    return {"username": uid, "language": user.lang if user else deps.config.default_lang,
            "languages": languages}


@signed_in
async def get_me(request: Request, uid: str) -> Response:
    return JSONResponse(_me(deps_of(request), uid))


@signed_in
async def put_me(request: Request, uid: str) -> Response:
    deps = deps_of(request)
    language = (await _body(request)).get("language")
    if not isinstance(language, str) or not settings.valid_language(language):
        raise ApiError(400, "'language' must be a language code such as 'en' or 'fr_FR'")
    try:
        deps.store.set_lang(uid, language)
    except UnknownUser:
        raise ApiError(401, "unknown user") from None
    # The daemon reads the language when a channel is created: re-create the user's.
    for sid in deps.link.hub.sids_of(uid):
        try:
            lang = await deps.link.open(sid, uid)
        except LinkUnavailable as error:
            log.warning("language of %r changed but channel %s not re-created: %s",
                        uid, sid, error)
            continue
        deps.link.hub.broadcast(sid, ready(lang))
    return JSONResponse(_me(deps, uid))


@signed_in
async def get_skills(request: Request, uid: str) -> Response:
    known = deps_of(request).link.skills
    if known is None:
        return JSONResponse({"version": None, "started_at": None, "skills": [], "conflicts": {}})
    return JSONResponse({**known.to_dict(), "conflicts": known.conflicts})


def _env(deps: Deps, uid: str) -> dict[str, Any]:
    user = deps.store.user(uid)
    skills = deps.link.skills.skills if deps.link.skills else ()
    return settings.env_view(skills, user.env if user else {}, deps.config.env)


@signed_in
async def get_env(request: Request, uid: str) -> Response:
    return JSONResponse(_env(deps_of(request), uid))


@signed_in
async def put_env(request: Request, uid: str) -> Response:
    deps = deps_of(request)
    skills = deps.link.skills.skills if deps.link.skills else ()
    try:
        changes = settings.env_update(skills, await _body(request))
    except settings.SettingsError as error:
        raise ApiError(400, str(error)) from None
    try:
        deps.store.set_env(uid, changes)
    except UnknownUser:
        raise ApiError(401, "unknown user") from None
    log.info("user %r changed env %s", uid, ", ".join(sorted(changes)) or "(nothing)")
    return JSONResponse(_env(deps, uid))
