"""What the daemon itself says to users, per language (English is the fallback)."""

from __future__ import annotations

from collections.abc import Sequence

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
        "restarted": "Sorry, I restarted while working on that. Please ask again.",
        "queue_full": "Please wait: I'm still on your earlier messages. I'll skip the new ones "
                      "until I catch up.",
        "throttled": "Sorry, the skill handling this sent too much; I stopped it.",
        "not_a_choice": "Sorry, that isn't one of the choices: {choices}.",
        "not_an_answer": "Sorry, I didn't understand that answer.",
        "say_cancel": 'Say "cancel" to stop.',
        "or": "or",
        "question_dropped": "OK, I'll leave that question and do what you just asked.",
        "welcome": "Hello! What can I do for you?",
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
        "restarted": "Désolé, j'ai redémarré pendant que je m'en occupais. Redemandez-moi.",
        "queue_full": "Un instant : je traite encore vos messages précédents. J'ignorerai les "
                      "nouveaux jusqu'à ce que j'aie rattrapé mon retard.",
        "throttled": "Désolé, la compétence qui s'en occupait en envoyait trop ; je l'ai arrêtée.",
        "not_a_choice": "Désolé, ce n'est pas l'un des choix : {choices}.",
        "not_an_answer": "Désolé, je n'ai pas compris cette réponse.",
        "say_cancel": "Dites « annuler » pour arrêter.",
        "or": "ou",
        "question_dropped": "D'accord, je laisse cette question et je fais ce que vous demandez.",
        "welcome": "Bonjour ! Que puis-je faire pour vous ?",
    },
}

#: Choices listed in a re-asked question, at most; more are cut with an ellipsis.
MAX_LISTED = 8


def _table(lang: str) -> dict[str, str]:
    return PHRASES.get(lang.split("_")[0].split("-")[0].lower(), PHRASES["en"])


def say(key: str, lang: str, **values: str) -> str:
    text = _table(lang).get(key, PHRASES["en"][key])
    return text.format(**values) if values else text


def listing(items: Sequence[str], lang: str) -> str:
    """``a, b or c`` in the language; a long list ends with an ellipsis instead."""
    items = list(items)
    if len(items) > MAX_LISTED:
        return ", ".join(items[:MAX_LISTED]) + ", …"
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {say('or', lang)} {items[-1]}"


def reask(question: str, lang: str, choices: Sequence[str] | None) -> str:
    """A question asked again: why, the question, and how to get out of it."""
    why = (say("not_a_choice", lang, choices=listing(choices, lang)) if choices
           else say("not_an_answer", lang))
    return " ".join(part for part in (why, question.strip(), say("say_cancel", lang)) if part)
