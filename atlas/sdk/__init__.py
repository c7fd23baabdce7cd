"""The skill SDK: declare a skill, handle its intents, run it against a broker.

    from atlas.sdk import Skill, Card

    skill = Skill("hello", version="1.0.0", author="me", description="Says hello")
    skill.training("en", "%[greet]\\n  hello\\n  hi there\\n")

    @skill.intent("greet")
    async def greet(req):
        await req.show(req._("Hello!"), cards=[Card(header="Hi")])

    if __name__ == "__main__":
        skill.run()

See ``docs/skills.md``; :mod:`atlas.sdk.testing` drives a skill through a real daemon.
"""

from ..protocol import FALLBACK_INTENT
from .cards import Card
from .loader import SkillLoadError, load_skill
from .request import Request, RequestFinished, Sent
from .running import RunningSkill
from .skill import Skill, SkillError

__all__ = [
    "FALLBACK_INTENT",
    "Card",
    "Request",
    "RequestFinished",
    "RunningSkill",
    "Sent",
    "Skill",
    "SkillError",
    "SkillLoadError",
    "load_skill",
]
