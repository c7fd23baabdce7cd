"""Example values of the built-in entities, per language.

A skill may declare `@[delay](type=snips/duration)` without listing values: its
sentences then need example text for the slot, which comes from here. Every
example resolves with our own resolvers (a test checks it), and the lists vary
the wording so that the slot filler learns the context, not one phrase.
"""

from __future__ import annotations

_EXAMPLES: dict[str, dict[str, tuple[str, ...]]] = {
    "en": {
        "snips/number": ("three", "12", "twenty five", "one hundred", "2.5", "seven", "forty",
                         "1", "one thousand", "eighteen"),
        "snips/ordinal": ("first", "second", "3rd", "fourth", "tenth", "21st", "fifth",
                          "last"),
        "snips/percentage": ("50%", "ten percent", "75 %", "twenty percent", "100%",
                             "thirty five percent"),
        "snips/duration": ("ten minutes", "1 hour", "30 seconds", "an hour and a half",
                           "two hours", "5 minutes", "half an hour", "45 seconds",
                           "three days", "1h30"),
        "snips/datetime": ("tomorrow", "today at 8pm", "tomorrow morning", "monday",
                           "at 7:30", "next friday", "tonight", "in 10 minutes",
                           "this evening", "at noon", "june 16th", "december 24 at 6pm"),
        "snips/city": ("Paris", "New York", "London", "Tokyo", "San Francisco", "Berlin",
                       "Sydney", "Chicago", "Madrid", "Rio de Janeiro"),
        "snips/country": ("France", "Germany", "Japan", "Canada", "Brazil", "Italy",
                          "the United States", "Spain", "India", "Australia"),
        "snips/region": ("California", "Texas", "Ontario", "Quebec", "Florida", "Oregon",
                         "Alberta", "Queensland", "Scotland", "New South Wales"),
    },
    "fr": {
        "snips/number": ("trois", "12", "vingt-cinq", "cent", "2,5", "sept", "quarante",
                         "1", "mille", "dix-huit"),
        "snips/ordinal": ("premier", "deuxième", "3e", "quatrième", "dixième", "cinquième",
                          "première", "dernier"),
        "snips/percentage": ("50%", "dix pour cent", "75 %", "vingt pour cent", "100%",
                             "trente-cinq pour cent"),
        "snips/duration": ("dix minutes", "une heure", "30 secondes", "une heure et demie",
                           "deux heures", "5 minutes", "une demi-heure", "45 secondes",
                           "trois jours", "1h30"),
        "snips/datetime": ("demain", "aujourd'hui à 20h", "demain matin", "lundi",
                           "à 7h30", "vendredi prochain", "ce soir", "dans 10 minutes",
                           "samedi soir", "à midi", "le 16 juin", "le 24 décembre à 18h"),
        "snips/city": ("Paris", "Lyon", "Londres", "Marseille", "New York", "Bruxelles",
                       "Montréal", "Genève", "Toulouse", "Rome"),
        "snips/country": ("France", "Allemagne", "Japon", "Canada", "Brésil", "Italie",
                          "États-Unis", "Espagne", "Belgique", "Suisse"),
        "snips/region": ("Bretagne", "Normandie", "Californie", "Québec", "Bavière",
                         "Occitanie", "Texas", "Corse", "Floride", "Île-de-France"),
    },
}


def builtin_examples(entity: str, lang: str) -> tuple[str, ...]:
    """Examples for a built-in entity ("snips/duration"); () for those without
    (e.g. snips/musicArtist, whose values only the skill can know). Unknown
    languages get the English list."""
    return _EXAMPLES.get(lang, _EXAMPLES["en"]).get(entity, ())
