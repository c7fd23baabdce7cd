"""The OpenAPI description of the bridge's REST API, served at ``/api/openapi.json``."""

from __future__ import annotations

from typing import Any

import atlas


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERROR = {"$ref": "#/components/schemas/Error"}
_UNAUTHORIZED = _json(_ERROR, "Missing, invalid, expired or revoked token")
_BAD = _json(_ERROR, "Invalid body")


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _obj(required: list[str], **properties: Any) -> dict[str, Any]:
    return {"type": "object", "required": required, "properties": properties}


_STR = {"type": "string"}
_TEXTS = {"type": "object", "description": "a text per language code",
          "additionalProperties": _STR}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "atlas bridge",
        "version": atlas.__version__,
        "description": "Tokens and per-user settings of the atlas WebSocket bridge. The "
                       "conversation itself runs on the WebSocket at /ws/assistant/ "
                       "(pytlas-server's protocol). Bots' guests use the AIDA dialect "
                       "(Phoenix channels at /socket/websocket, images below) and the MCC "
                       "dialect (WebSocket at /mcc/{bot_id}, REST twin below).",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "schemas": {
            "Error": _obj(["error"], error=_STR),
            "Me": _obj(["username", "language"], username=_STR, language=_STR,
                       languages={"type": "array", "items": _STR}),
            "Skill": _obj(["name", "version", "intents", "env"], name=_STR, version=_STR,
                          author=_STR, description=_STR,
                          intents={"type": "object",
                                   "additionalProperties": {"type": "array", "items": _STR}},
                          descriptions=_TEXTS,
                          env={"type": "object", "additionalProperties": {"oneOf": [
                              _STR, _obj(["type"], type=_STR, description=_TEXTS,
                                         default={}, example={})]}},
                          languages={"type": "array", "items": _STR}),
            "EnvEntry": _obj(["key", "type", "secret", "set", "value"], key=_STR, type=_STR,
                             secret={"type": "boolean"}, set={"type": "boolean"},
                             has_default={"type": "boolean"},
                             value={"description": "the value; masked when secret"},
                             description=_TEXTS,
                             default={"description": "the skill's default, if it says"},
                             example={"description": "an example value, if the skill gives"}),
            "Turn": _obj(["utterance", "payload"], utterance=_STR, payload={
                "type": "object", "description": "require_input, choices, slot, cards…"}),
            "Event": _obj(["type"], type={"enum": ["utterance", "data"]}, utterance=_STR,
                          payload={"type": "object"}),
            "Env": _obj(["skills"], skills={"type": "array", "items": _obj(
                ["name", "env"], name=_STR,
                env={"type": "array", "items": {"$ref": "#/components/schemas/EnvEntry"}})}),
        },
    },
    "paths": {
        "/api/token": {"post": {
            "summary": "Sign in: exchange a username and password for tokens",
            "requestBody": _body(_obj(["username", "password"], username=_STR, password=_STR)),
            "responses": {"200": _json(_obj(["access", "refresh"], access=_STR, refresh=_STR)),
                          "400": _BAD, "401": _json(_ERROR, "Wrong username or password"),
                          "429": _json(_ERROR, "Too many failed sign-ins")}}},
        "/api/token/refresh": {"post": {
            "summary": "A new access token from a refresh token",
            "requestBody": _body(_obj(["refresh"], refresh=_STR)),
            "responses": {"200": _json(_obj(["access"], access=_STR)), "400": _BAD,
                          "401": _UNAUTHORIZED}}},
        "/api/token/revoke": {"post": {
            "summary": "Sign out: revoke a refresh token and the access tokens made from it",
            "requestBody": _body(_obj(["refresh"], refresh=_STR)),
            "responses": {"204": {"description": "Revoked"}, "400": _BAD,
                          "401": _UNAUTHORIZED}}},
        "/api/me": {
            "get": {"summary": "The signed-in user", "security": [{"bearer": []}],
                    "responses": {"200": _json({"$ref": "#/components/schemas/Me"}),
                                  "401": _UNAUTHORIZED}},
            "put": {"summary": "Change the language (the user's channels are re-created)",
                    "security": [{"bearer": []}],
                    "requestBody": _body(_obj(["language"], language=_STR)),
                    "responses": {"200": _json({"$ref": "#/components/schemas/Me"}),
                                  "400": _BAD, "401": _UNAUTHORIZED}}},
        "/api/skills": {"get": {
            "summary": "Live skills, from the daemon's retained discovery message",
            "security": [{"bearer": []}],
            "responses": {"200": _json(_obj(["skills"], version={"type": ["string", "null"]},
                                            started_at={"type": ["string", "null"]},
                                            skills={"type": "array", "items": {
                                                "$ref": "#/components/schemas/Skill"}},
                                            conflicts={"type": "object"})),
                          "401": _UNAUTHORIZED}}},
        "/api/me/env": {
            "get": {"summary": "The user's values for the env parameters of live skills",
                    "security": [{"bearer": []}],
                    "responses": {"200": _json({"$ref": "#/components/schemas/Env"}),
                                  "401": _UNAUTHORIZED}},
            "put": {"summary": "Set values (null removes one; a masked value is left as is)",
                    "security": [{"bearer": []}],
                    "requestBody": _body({"type": "object", "additionalProperties": {
                        "type": ["string", "number", "boolean", "null"]}}),
                    "responses": {"200": _json({"$ref": "#/components/schemas/Env"}),
                                  "400": _BAD, "401": _UNAUTHORIZED}}},
        "/content/image/{bot_id}/{session}": {"post": {
            "summary": "Upload an image for a live guest session (multipart field 'file'; "
                       "PNG, JPEG, GIF or WebP by content)",
            "requestBody": {"required": True, "content": {"multipart/form-data": {
                "schema": _obj(["file"], file={"type": "string", "format": "binary"})}}},
            "responses": {"200": _json(_obj(["id"], id=_STR)),
                          "400": _BAD, "404": _json(_ERROR, "Unknown bot or session"),
                          "411": _json(_ERROR, "No Content-Length"),
                          "413": _json(_ERROR, "Too large"),
                          "415": _json(_ERROR, "Not an image, or not multipart")}}},
        "/content/image/{image_id}": {"get": {
            "summary": "An uploaded image's bytes",
            "responses": {"200": {"description": "The image, with its content type"},
                          "404": _json(_ERROR, "Unknown image")}}},
        "/mcc/{bot_id}/init": {"post": {
            "summary": "Start an MCC interaction for a uid (JSON or form); the cookie "
                       "mcc_interaction holds it. A bot not --open needs its token as "
                       "Bearer or access_token.",
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": _obj(["uid"], uid=_STR)},
                "application/x-www-form-urlencoded": {"schema": _obj(["uid"], uid=_STR)}}},
            "responses": {"200": _json({"allOf": [
                {"$ref": "#/components/schemas/Turn"},
                _obj(["interaction"], interaction=_STR, response=_STR)]}, "The welcome"),
                "400": _BAD, "401": _UNAUTHORIZED,
                "429": _json(_ERROR, "The bot has all the sessions it may have")}}},
        "/mcc/{bot_id}/event": {"post": {
            "summary": "An utterance or data of the cookie's interaction; answers the turn",
            "requestBody": _body({"$ref": "#/components/schemas/Event"}),
            "responses": {"200": _json({"$ref": "#/components/schemas/Turn"}),
                          "400": _BAD, "401": _UNAUTHORIZED,
                          "429": _json(_ERROR, "Too many messages"),
                          "504": _json(_ERROR, "No turn ended in time")}}},
    },
}
