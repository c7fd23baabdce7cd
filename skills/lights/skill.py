"""Lights: on, off and dimmed per room, through zigbee2mqtt-style MQTT topics.

Settings (``__env``, per user, with defaults from the configuration):

- ``LIGHTS_TOPIC``: the topic template, ``{room}`` being replaced by the room's
  name; ``zigbee2mqtt/{room}/set`` by default.
- ``LIGHTS_ROOMS``: the rooms, as a list or a comma-separated string; by default
  ``living room, kitchen, bedroom`` (``salon, cuisine, chambre`` in French).

On: ``{"state": "ON"}``; off: ``{"state": "OFF"}``; dim: ``{"brightness": 0-254}``.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz, process

from atlas.sdk import Request, Skill

SETTINGS: dict[str, dict[str, Any]] = {
    "LIGHTS_TOPIC": {
        "type": "string",
        "description": {
            "en": "The MQTT topic of a room's lights; {room} stands for the room's name.",
            "fr": "Le topic MQTT de la lumière d'une pièce ; {room} y est le nom de la pièce."},
        "default": "zigbee2mqtt/{room}/set",
        "example": "home/{room}/light/set"},
    "LIGHTS_ROOMS": {
        "type": "list",
        "description": {
            "en": "Your rooms, separated by commas (by default: living room, kitchen, "
                  "bedroom).",
            "fr": "Vos pièces, séparées par des virgules (par défaut : salon, cuisine, "
                  "chambre)."},
        "example": "kitchen, bedroom, office"},
}
skill = Skill("lights", version="1.0.0", author="atlas",
              description={"en": "Turns the lights on, off or dims them, room by room.",
                           "fr": "Allume, éteint ou tamise la lumière, pièce par pièce."},
              env=SETTINGS)
skill.training_dir(Path(__file__).parent / "training")

DEFAULT_TOPIC = "zigbee2mqtt/{room}/set"
DEFAULT_ROOMS = {"en": ["living room", "kitchen", "bedroom"],
                 "fr": ["salon", "cuisine", "chambre"]}
#: The room value the training data gives to "everywhere", "toute la maison"…
EVERYWHERE = {"everywhere", "partout"}
#: When "dim the lights" says by how much, use this percentage.
DEFAULT_DIM = 30.0
#: How close a spoken room must be to a configured one (rapidfuzz score, 0-100).
ROOM_MATCH = 85
ARTICLES = ("the ", "la ", "le ", "les ", "l'", "du ", "de la ")


def fold(text: str) -> str:
    """Case, accents and a leading article do not matter when comparing rooms."""
    text = unicodedata.normalize("NFKD", text.casefold())
    text = "".join(c for c in text if not unicodedata.combining(c)).strip()
    for article in ARTICLES:
        if text.startswith(article):
            return text[len(article):].strip()
    return text


def rooms_of(setting: Any, lang: str) -> list[str]:
    if isinstance(setting, str):
        rooms = [room.strip() for room in setting.split(",")]
    elif isinstance(setting, list):
        rooms = [str(room).strip() for room in setting]
    else:
        rooms = DEFAULT_ROOMS.get(lang.split("-")[0], DEFAULT_ROOMS["en"])
    return [room for room in rooms if room]


def match_room(spoken: str, rooms: list[str]) -> str | None:
    folded = {fold(room): room for room in rooms}
    if fold(spoken) in folded:
        return folded[fold(spoken)]
    best = process.extractOne(fold(spoken), list(folded), scorer=fuzz.ratio,
                              score_cutoff=ROOM_MATCH)
    return folded[best[0]] if best else None


def topic_for_room(template: Any, room: str) -> str:
    template = template if isinstance(template, str) and "{room}" in template else DEFAULT_TOPIC
    return template.replace("{room}", room)


def brightness(percent: float) -> int:
    """zigbee2mqtt brightness (0-254) for a percentage."""
    return round(min(100.0, max(0.0, percent)) * 254 / 100)


def percent_of(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip().rstrip("%").strip())
        except ValueError:
            return None
    return None


skill.translations("fr", {
    "Which room?": "Dans quelle pièce ?",
    "I don't know the room {}. Which room?": "Je ne connais pas la pièce {}. Laquelle ?",
    "No room is configured (LIGHTS_ROOMS).": "Aucune pièce n'est configurée (LIGHTS_ROOMS).",
    "Lights on: {}.": "Lumière allumée : {}.",
    "Lights off: {}.": "Lumière éteinte : {}.",
    "Lights at {}%: {}.": "Lumière à {} % : {}.",
    "everywhere": "partout",
})


async def rooms_asked(req: Request) -> list[str] | None:
    """The rooms the request is about; ``None`` once it has asked which one."""
    rooms = rooms_of(req.env.get("LIGHTS_ROOMS"), req.lang)
    if not rooms:
        await req.show(req._("No room is configured (LIGHTS_ROOMS)."))
        return None
    spoken = req.slot("room")
    if isinstance(spoken, str) and fold(spoken) in EVERYWHERE:
        return rooms
    if spoken is None and len(rooms) == 1:
        return rooms
    room = match_room(str(spoken), rooms) if spoken is not None else None
    if room is not None:
        return [room]
    question = (req._("Which room?") if spoken is None
                else req._("I don't know the room {}. Which room?", spoken))
    # "everywhere" is a choice too; "all of them", "toutes"… name it through the
    # room entity's synonyms.
    await req.ask("room", question, [*rooms, req._("everywhere")] if len(rooms) > 1 else rooms)
    return None


async def switch(req: Request, payload: dict[str, Any], message: str) -> None:
    rooms = await rooms_asked(req)
    if rooms is None:
        return
    for room in rooms:
        await req.publish(topic_for_room(req.env.get("LIGHTS_TOPIC"), room), payload)
    everywhere = len(rooms) > 1
    await req.show(req._(message, req._("everywhere") if everywhere else rooms[0]))


@skill.intent("lights_on")
async def lights_on(req: Request) -> None:
    await switch(req, {"state": "ON"}, "Lights on: {}.")


@skill.intent("lights_off")
async def lights_off(req: Request) -> None:
    await switch(req, {"state": "OFF"}, "Lights off: {}.")


@skill.intent("lights_dim")
async def lights_dim(req: Request) -> None:
    percent = percent_of(req.slot("brightness"))
    level = min(100.0, max(0.0, DEFAULT_DIM if percent is None else percent))
    rooms = await rooms_asked(req)
    if rooms is None:
        return
    for room in rooms:
        await req.publish(topic_for_room(req.env.get("LIGHTS_TOPIC"), room),
                          {"brightness": brightness(level)})
    where = req._("everywhere") if len(rooms) > 1 else rooms[0]
    await req.show(req._("Lights at {}%: {}.", f"{level:g}", where))


if __name__ == "__main__":
    skill.run()
