"""What the daemon itself says to users, per language (English is the fallback)."""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "not_understood": "Sorry, I didn't understand that.",
        "not_understood_help": "Sorry, I didn't understand that. "
                               "Say \"help\" to hear what I can do.",
        "cancelled": "OK, cancelled.",
        "timeout": "Sorry, the skill took too long to answer.",
        "ask_timeout": "I stopped waiting for your answer.",
        "skill_gone": "Sorry, the skill handling this has stopped.",
        "error": "Sorry, something went wrong.",
    },
    "fr": {
        "not_understood": "Désolé, je n'ai pas compris.",
        "not_understood_help": "Désolé, je n'ai pas compris. Dites « aide » pour savoir ce que "
                               "je sais faire.",
        "cancelled": "D'accord, c'est annulé.",
        "timeout": "Désolé, la compétence a mis trop de temps à répondre.",
        "ask_timeout": "J'ai arrêté d'attendre votre réponse.",
        "skill_gone": "Désolé, la compétence qui s'en occupait s'est arrêtée.",
        "error": "Désolé, une erreur s'est produite.",
    },
}


def say(key: str, lang: str) -> str:
    table = PHRASES.get(lang.split("_")[0].split("-")[0].lower(), PHRASES["en"])
    return table.get(key, PHRASES["en"][key])
