"""Images sent by bots' guests (AIDA's two-step upload), kept with their session.

``POST /content/image/<bot id>/<session>`` with a multipart ``file`` field answers
``{"id"}``; ``GET /content/image/<id>`` returns the bytes. Only real PNG, JPEG, GIF
and WebP images are taken, told by their first bytes, never by a name or a declared
type; deleting the session deletes its images (the store cascades).
"""

from __future__ import annotations

import logging

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .bots import Guests

log = logging.getLogger(__name__)

#: What a multipart body adds around the file, at most, beyond the image itself.
ENVELOPE = 16 * 1024


def image_type(data: bytes) -> str | None:
    """The content type of an image by its signature, or ``None`` if it is none of ours."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status)


async def upload(request: Request) -> Response:
    guests: Guests = request.app.state.guests
    limit = guests.bounds.max_image
    bot = guests.bot(request.path_params["bot_id"])
    session = guests.store.guest_session(bot.name, request.path_params["session"]) \
        if bot is not None else None
    if bot is None or session is None:
        return _error(404, "unknown bot or session")
    declared = request.headers.get("content-length", "")
    if not declared.isdigit():
        return _error(411, "a Content-Length is required")
    if int(declared) > limit + ENVELOPE:
        return _error(413, f"images are limited to {limit} bytes")
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return _error(415, "send the image as multipart/form-data in a 'file' field")
    try:
        async with request.form(max_files=1, max_fields=8) as form:
            file = form.get("file")
            if not isinstance(file, UploadFile):
                return _error(400, "the form has no 'file' field")
            data = await file.read(limit + 1)
    except Exception as error:  # a malformed body is the client's fault, said plainly
        return _error(400, f"not a readable multipart form: {error}")
    if len(data) > limit:
        return _error(413, f"images are limited to {limit} bytes")
    kind = image_type(data)
    if kind is None:
        return _error(415, "not an image: PNG, JPEG, GIF or WebP only")
    image_id = guests.store.add_guest_image(session.id, kind, data)
    log.info("bot %s: image %s (%s, %d bytes) for session %s", bot.name, image_id, kind,
             len(data), session.id)
    return JSONResponse({"id": image_id})


async def download(request: Request) -> Response:
    guests: Guests = request.app.state.guests
    found = guests.store.guest_image(request.path_params["image_id"][:64])
    if found is None:
        return _error(404, "unknown image")
    _, kind, data = found
    return Response(data, media_type=kind, headers={
        "X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=3600",
        "Content-Security-Policy": "default-src 'none'"})
