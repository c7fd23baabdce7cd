"""Clock: the time and the date (with the day of the week), in English and French,
and the time in a city ("what time is it in Tokyo")."""

from __future__ import annotations

import logging
import unicodedata
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from atlas.sdk import Card, Request, Skill

log = logging.getLogger("atlas.skills.clock")

skill = Skill("clock", version="1.0.0", author="atlas",
              description={"en": "Tells the time and the date, here or in a city.",
                           "fr": "Donne l'heure et la date, ici ou dans une ville."},
              env={"CLOCK_TIMEZONE": {
                  "type": "string",
                  "description": {
                      "en": "Your time zone, as an IANA name (by default, the host's).",
                      "fr": "Votre fuseau horaire, en nom IANA (par défaut, celui de "
                            "l'hôte)."},
                  "example": "Europe/Paris"}})
skill.training_dir(Path(__file__).parent / "training")

DAYS = {
    "en": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"],
    "fr": ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"],
}
MONTHS = {
    "en": ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"],
    "fr": ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
           "septembre", "octobre", "novembre", "décembre"],
}


def language(lang: str) -> str:
    base = lang.split("-")[0].split("_")[0].lower()
    return base if base in DAYS else "en"


def format_time(moment: datetime, lang: str) -> str:
    """``3:05 PM`` in English, ``15 h 05`` in French."""
    if language(lang) == "fr":
        return f"{moment.hour} h {moment.minute:02d}"
    hour = moment.hour % 12 or 12
    return f"{hour}:{moment.minute:02d} {'AM' if moment.hour < 12 else 'PM'}"


def format_date(moment: datetime, lang: str) -> str:
    """``Sunday, November 22, 2026`` in English, ``dimanche 22 novembre 2026`` in French."""
    lang = language(lang)
    day, month = DAYS[lang][moment.weekday()], MONTHS[lang][moment.month - 1]
    if lang == "fr":
        number = "1er" if moment.day == 1 else str(moment.day)
        return f"{day} {number} {month} {moment.year}"
    return f"{day}, {month} {moment.day}, {moment.year}"


def now(req: Request) -> datetime:
    """The current time in the user's time zone (``CLOCK_TIMEZONE``), else the host's."""
    name = req.env.get("CLOCK_TIMEZONE")
    if name:
        try:
            return datetime.now(ZoneInfo(str(name)))
        except (ZoneInfoNotFoundError, ValueError):
            log.warning("unknown CLOCK_TIMEZONE %r, using the host's time zone", name)
    return datetime.now().astimezone()


@cache
def _zones_by_city() -> dict[str, str]:
    """"tokyo" -> "Asia/Tokyo": the IANA database names a zone after its main
    city, which covers the cities people ask about across the world."""
    zones = {}
    for zone in available_timezones():
        area, _, city = zone.rpartition("/")
        if area and area.split("/")[0] not in ("Etc", "SystemV", "US"):
            zones.setdefault(city.replace("_", " ").lower(), zone)
    return zones


def city_zone(city: str) -> ZoneInfo | None:
    """The time zone of a city, from its name ("New York City", "Tokyo", "Montréal")."""
    decomposed = unicodedata.normalize("NFKD", city)
    name = " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).split()).lower()
    for candidate in (name, name.removesuffix(" city")):
        if zone := _zones_by_city().get(candidate):
            return ZoneInfo(zone)
    return None


skill.translations("fr", {
    "It's {}.": "Il est {}.",
    "It's {} in {}.": "Il est {} à {}.",
    "I don't know the time zone of {}.": "Je ne connais pas le fuseau horaire de {}.",
    "Today is {}.": "Nous sommes le {}.",
    "Time": "Heure",
    "Date": "Date",
})


def city_asked(req: Request) -> tuple[str, str]:
    """The city as the interpreter resolved it, and as the user named it.

    The interpreter resolves other languages' names of large cities ("Londres")
    to their GeoNames name ("London"), which finds the time zone; the answer uses
    the user's own words, so it speaks their language.
    """
    for slot in ("city", "ville"):
        for found in req.rich(slot):
            value, raw = str(found.get("value") or ""), str(found.get("raw") or "")
            if value or raw:
                return value or raw, raw or value
        if value := req.slot(slot):
            return str(value), str(value)
    return "", ""


@skill.intent("get_time")
async def get_time(req: Request) -> None:
    resolved, city = city_asked(req)
    if city:
        if city == city.lower():  # typed in lower case: "buenos aires" -> "Buenos Aires"
            city = city.title()
        zone = city_zone(resolved) or city_zone(city)
        if zone is None:
            await req.show(req._("I don't know the time zone of {}.", city))
            return
        moment = datetime.now(zone)
        text = format_time(moment, req.lang)
        await req.show(req._("It's {} in {}.", text, city),
                       cards=[Card(city, text, subhead=format_date(moment, req.lang))])
        return
    moment = now(req)
    text = format_time(moment, req.lang)
    await req.show(req._("It's {}.", text),
                   cards=[Card(req._("Time"), text, subhead=format_date(moment, req.lang))])


@skill.intent("get_date")
async def get_date(req: Request) -> None:
    text = format_date(now(req), req.lang)
    await req.show(req._("Today is {}.", text), cards=[Card(req._("Date"), text)])


if __name__ == "__main__":
    skill.run()
