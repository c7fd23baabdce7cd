"""How the REST API shows and takes a user's settings."""

from __future__ import annotations

import pytest

from atlas.bridge.settings import (
    MASK,
    SettingsError,
    env_update,
    env_view,
    is_secret,
    valid_language,
)
from atlas.protocol import EnvSetting, SkillSummary

WEATHER = SkillSummary("weather", "1.0", "me", "", {"get_forecast": ["city"]},
                       {"WEATHER_API_KEY": "string", "WEATHER_UNITS": "string"}, ["en"])
LIGHTS = SkillSummary("lights", "2.0", "me", "", {"lights_on": ["room"]},
                      {"LIGHTS_ROOMS": "list"}, ["en", "fr"])


@pytest.mark.parametrize(("key", "secret"), [
    ("WEATHER_API_KEY", True), ("HA_TOKEN", True), ("CLIENT_SECRET", True),
    ("SMTP_PASSWORD", True), ("WEATHER_UNITS", False), ("LIGHTS_ROOMS", False),
])
def test_is_secret(key: str, secret: bool) -> None:
    assert is_secret(key) is secret


def test_view_masks_secrets_and_says_what_is_set() -> None:
    view = env_view([WEATHER, LIGHTS], {"WEATHER_API_KEY": "hunter2", "WEATHER_UNITS": "metric"},
                    {"LIGHTS_ROOMS": ["kitchen"]})
    assert [s["name"] for s in view["skills"]] == ["lights", "weather"]
    weather = {e["key"]: e for e in view["skills"][1]["env"]}
    assert weather["WEATHER_API_KEY"] == {"key": "WEATHER_API_KEY", "type": "string",
                                          "secret": True, "set": True, "has_default": False,
                                          "value": MASK, "description": {}, "default": None,
                                          "example": None}
    assert weather["WEATHER_UNITS"]["value"] == "metric"
    lights = view["skills"][0]["env"][0]
    assert lights["set"] is False and lights["has_default"] is True and lights["value"] is None
    assert "hunter2" not in repr(view)


def test_view_carries_what_the_skill_says_of_its_settings() -> None:
    described = SkillSummary("lights", "2.0", "me", "", {}, {"LIGHTS_ROOMS": "list"}, ["en"],
                             env_details={"LIGHTS_ROOMS": EnvSetting(
                                 "list", {"en": "Your rooms", "fr": "Vos pièces"},
                                 "kitchen", "kitchen, hall")})
    [entry] = env_view([described], {}, {})["skills"][0]["env"]
    assert entry["type"] == "list"
    assert entry["description"] == {"en": "Your rooms", "fr": "Vos pièces"}
    assert (entry["default"], entry["example"]) == ("kitchen", "kitchen, hall")


def test_update_takes_declared_keys_and_skips_the_mask() -> None:
    changes = env_update([WEATHER, LIGHTS], {"WEATHER_API_KEY": MASK, "WEATHER_UNITS": None,
                                             "LIGHTS_ROOMS": "kitchen,bedroom"})
    assert changes == {"WEATHER_UNITS": None, "LIGHTS_ROOMS": "kitchen,bedroom"}


@pytest.mark.parametrize(("body", "reason"), [
    ([], "JSON object"),
    ({"NOT_DECLARED": "x"}, "no live skill declares NOT_DECLARED"),
    ({"WEATHER_UNITS": {"a": 1}}, "a value must be"),
    ({"WEATHER_UNITS": "x" * 5000}, "longer than"),
])
def test_update_refuses(body: object, reason: str) -> None:
    with pytest.raises(SettingsError, match=reason):
        env_update([WEATHER], body)


@pytest.mark.parametrize(("value", "valid"), [
    ("en", True), ("fr", True), ("fr_FR", True), ("pt-BR", True),
    ("", False), ("english", False), ("en/../x", False), (3, False), (None, False),
])
def test_valid_language(value: object, valid: bool) -> None:
    assert valid_language(value) is valid
