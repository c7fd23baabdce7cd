"""A typical atlas skill set for timing: 7 intents x 50 examples, English and French.

Lights, timer, weather, music, reminders, shopping list and clock, one or two
slots each, as skills declare them in chatl. Used by nlu_benchmark.py.
"""

from __future__ import annotations

from atlas.nlu import Dataset, load_chatl

EN = """
%[lights_on]
  ~[please?] turn on the lights in the @[room]
  ~[please?] switch on the @[room] light
  ~[please?] light up the @[room]
  ~[please?] I need some light in the @[room]
%[lights_off]
  ~[please?] turn off the lights in the @[room]
  ~[please?] switch off the @[room] light
  ~[please?] kill the lights in the @[room]
  ~[please?] no more light in the @[room]
%[set_timer]
  ~[please?] set a timer for @[duration]
  ~[please?] start a @[duration] timer
  ~[please?] count down @[duration]
  ~[please?] timer for @[duration] called @[label]
%[get_weather]
  ~[please?] what's the weather like in @[city] @[date]
  ~[please?] will it rain in @[city]
  ~[please?] weather forecast for @[city] @[date]
  ~[please?] is it cold in @[city]
%[play_music]
  ~[please?] play some @[genre]
  ~[please?] put on @[genre] music
  ~[please?] I want to listen to @[genre]
  ~[please?] play @[genre] in the @[room]
%[add_to_list]
  ~[please?] add @[item] to my shopping list
  ~[please?] put @[item] on the list
  ~[please?] we need @[item]
  ~[please?] don't forget to buy @[item]
%[get_time]
  ~[please?] what time is it
  ~[please?] tell me the time
  ~[please?] what's the time
  ~[please?] do you know what time it is
~[please]
  please
  could you
  hey atlas
  can you
  would you
  atlas
  ok
  hey
  hi atlas
  I'd like you to
  now
  quickly
@[room](extensible=false)
  kitchen
  living room
  bedroom
  bathroom
  garage
  office
@[duration](type=snips/duration)
  ten minutes
  1 hour
  30 seconds
  an hour and a half
@[label]
  pasta
  eggs
  laundry
@[city]
  paris
  london
  new york
  berlin
@[date](type=snips/datetime)
  tomorrow
  today
  monday
@[genre]
  jazz
  rock
  classical
  hip hop
@[item]
  milk
  eggs
  bread
  apples
"""

FR = """
%[lights_on]
  ~[stp?] allume la lumière de la @[room]
  ~[stp?] allume le @[room]
  ~[stp?] éclaire la @[room]
  ~[stp?] mets de la lumière dans la @[room]
%[lights_off]
  ~[stp?] éteins la lumière de la @[room]
  ~[stp?] éteins le @[room]
  ~[stp?] coupe la lumière dans la @[room]
  ~[stp?] plus de lumière dans la @[room]
%[set_timer]
  ~[stp?] mets un minuteur de @[duration]
  ~[stp?] lance un minuteur pour @[duration]
  ~[stp?] compte à rebours de @[duration]
  ~[stp?] minuteur de @[duration] pour les @[label]
%[get_weather]
  ~[stp?] quel temps fait-il à @[city] @[date]
  ~[stp?] est-ce qu'il va pleuvoir à @[city]
  ~[stp?] météo pour @[city] @[date]
  ~[stp?] il fait froid à @[city]
%[play_music]
  ~[stp?] joue du @[genre]
  ~[stp?] mets de la musique @[genre]
  ~[stp?] je veux écouter du @[genre]
  ~[stp?] lance du @[genre] dans la @[room]
%[add_to_list]
  ~[stp?] ajoute @[item] à ma liste de courses
  ~[stp?] mets @[item] sur la liste
  ~[stp?] il nous faut @[item]
  ~[stp?] n'oublie pas d'acheter @[item]
%[get_time]
  ~[stp?] quelle heure est-il
  ~[stp?] donne-moi l'heure
  ~[stp?] il est quelle heure
  ~[stp?] tu as l'heure
~[stp]
  s'il te plaît
  tu peux
  atlas
  dis atlas
  est-ce que tu peux
  ok atlas
  hé
  dis-moi
  je voudrais que tu
  vite
  maintenant
  atlas tu peux
@[room](extensible=false)
  cuisine
  salon
  chambre
  salle de bain
  garage
  bureau
@[duration](type=snips/duration)
  dix minutes
  une heure
  30 secondes
  une heure et demie
@[label]
  pâtes
  oeufs
  lessive
@[city]
  paris
  londres
  lyon
  berlin
@[date](type=snips/datetime)
  demain
  aujourd'hui
  lundi
@[genre]
  jazz
  rock
  classique
  rap
@[item]
  lait
  oeufs
  pain
  pommes
"""

EXAMPLES_PER_INTENT = 50


def skill_set() -> dict[str, Dataset]:
    result = {}
    for lang, source in (("en", EN), ("fr", FR)):
        ds = load_chatl(source, source="skillset", lang=lang)
        ds.intents = {name: utts[:EXAMPLES_PER_INTENT] for name, utts in ds.intents.items()}
        result[lang] = ds
    return result
