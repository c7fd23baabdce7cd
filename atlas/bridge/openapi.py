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
                       "(pytlas-server's protocol).",
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
    },
}
