"""Help: what the live skills can do, from the daemon's retained discovery message."""

from __future__ import annotations

from pathlib import Path

from atlas.protocol import FALLBACK_INTENT, Skills, SkillSummary
from atlas.sdk import Card, Request, Skill

skill = Skill("help", version="1.0.0", author="atlas",
              description={"en": "Lists what the assistant can do.",
                           "fr": "Présente ce que l'assistant sait faire."})
skill.training_dir(Path(__file__).parent / "training")


class Catalog:
    """The last ``atlas/discovery/skills`` message: who is live, and what they do."""

    def __init__(self) -> None:
        self.skills: tuple[SkillSummary, ...] = ()
        self.known = False

    def update(self, message: Skills) -> None:
        self.skills = message.skills
        self.known = True

    def others(self) -> list[SkillSummary]:
        return sorted((s for s in self.skills if s.name != skill.name), key=lambda s: s.name)


CATALOG = Catalog()


def abilities(summary: SkillSummary) -> list[str]:
    """Readable intent names: ``set_timer`` → ``set timer``; contexts and fallback hidden."""
    return [intent.replace("_", " ") for intent in sorted(summary.intents)
            if intent != FALLBACK_INTENT and "/" not in intent]


skill.translations("fr", {
    "I don't know any skill yet.": "Je ne connais encore aucune compétence.",
    "Here is what I can do, with {} skills: {}.":
        "Voici ce que je sais faire, avec {} compétences : {}.",
    "Here is what I can do, with one skill: {}.":
        "Voici ce que je sais faire, avec une compétence : {}.",
    "Intents: {}": "Intentions : {}",
    "version {}": "version {}",
})


@skill.listen(Skills)
async def on_skills(message: Skills) -> None:
    CATALOG.update(message)


@skill.intent("help")
async def help_(req: Request) -> None:
    others = CATALOG.others()
    if not others:
        await req.show(req._("I don't know any skill yet."))
        return
    names = ", ".join(s.name for s in others)
    text = (req._("Here is what I can do, with one skill: {}.", names) if len(others) == 1
            else req._("Here is what I can do, with {} skills: {}.", len(others), names))
    cards = [Card(s.name, what_it_does(s, req), subhead=req._("version {}", s.version))
             for s in others]
    await req.show(text, cards=cards)


def what_it_does(summary: SkillSummary, req: Request) -> str:
    """The skill's description in the user's language, never another language's.

    Intent names read as English ("set timer"), so they stand in for a missing
    description in English only.
    """
    described = summary.description_in(req.lang)
    if described or language(req.lang) != "en":
        return described
    return req._("Intents: {}", ", ".join(abilities(summary)))


def language(lang: str) -> str:
    return lang.replace("-", "_").split("_")[0].lower()


if __name__ == "__main__":
    skill.run()
