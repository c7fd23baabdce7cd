"""A lights / timer / clock mini skill set in English and French, trained once."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import pytest

from atlas.nlu import SnipsLikeInterpreter, load_chatl, merge

#: The Snips NLU benchmark's training files: not in this repository, but in the
#: ``shared`` folder beside the checkout, or where ATLAS_NLU_BENCHMARK points.
BENCHMARK = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "nlu-benchmark"


@pytest.fixture(scope="session")
def nlu_benchmark() -> Path:
    """The benchmark folder; tests needing it skip without it, except on CI (CI=true),
    where it must be there: a test silently skipped there is a test nobody runs."""
    path = Path(os.environ.get("ATLAS_NLU_BENCHMARK") or BENCHMARK)
    if not path.is_dir():
        reason = (f"the Snips NLU benchmark data is not at {path} (a ../shared folder beside "
                  "the checkout, or ATLAS_NLU_BENCHMARK=FOLDER)")
        if os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}:
            pytest.fail(f"{reason}; it is required on CI", pytrace=False)
        pytest.skip(reason)
    return path


EN_LIGHTS = """
# lights skill
%[lights_on]
  turn on the lights in the @[room]
  switch on the @[room] light
  ~[please?] turn the @[room] lights on
  lights on in the @[room]
  can you light up the @[room]
  turn on the light
  switch the lights on

%[lights_off]
  turn off the lights in the @[room]
  switch off the @[room] light
  ~[please?] turn the @[room] lights off
  lights off in the @[room]
  kill the lights in the @[room]
  turn off the light
  switch the lights off

~[please]
  please
  could you

@[room](extensible=false)
  kitchen
  ~[living room]
  bedroom
  bathroom
  garage

~[living room]
  lounge
  sitting room
"""

EN_TIMER = """
%[set_timer]
  set a timer for @[duration]
  start a @[duration] timer
  timer for @[duration]
  remind me in @[duration]
  count down @[duration]
  set a @[duration] timer called @[name]
  wake me up in @[duration]

%[get_time]
  what time is it
  what's the time
  tell me the time
  do you have the time
  what is the current time
  the time please

%[set_alarm]
  set an alarm @[when]
  wake me up @[when]
  alarm @[when]
  I need an alarm @[when]

%[ctx/confirm]
  yes
  yes please
  sure
  go ahead
  do it

@[duration](type=snips/duration)
  ten minutes
  1 hour
  30 seconds
  an hour and a half
  five minutes

@[when](type=snips/datetime)
  tomorrow at 8
  at 7pm
  at 6:30 am
  tomorrow morning

@[name]
  pasta
  eggs
  tea
"""

FR_LIGHTS = """
%[lights_on]
  allume la lumière de la @[room]
  allume le @[room]
  ~[stp?] allume les lumières du @[room]
  lumière dans la @[room]
  allume la lumière
  mets la lumière

%[lights_off]
  éteins la lumière de la @[room]
  éteins le @[room]
  ~[stp?] éteins les lumières du @[room]
  coupe la lumière dans la @[room]
  éteins la lumière
  éteins tout

~[stp]
  s'il te plaît
  tu peux

@[room](extensible=false)
  cuisine
  salon
  chambre
  salle de bain
  garage
"""

FR_TIMER = """
%[set_timer]
  mets un minuteur de @[duration]
  lance un minuteur pour @[duration]
  minuteur @[duration]
  rappelle-moi dans @[duration]
  compte à rebours de @[duration]

%[get_time]
  quelle heure est-il
  il est quelle heure
  donne-moi l'heure
  tu as l'heure
  c'est quelle heure

%[set_alarm]
  mets un réveil @[when]
  réveille-moi @[when]
  alarme @[when]

@[duration](type=snips/duration)
  dix minutes
  une heure
  30 secondes
  une heure et demie

@[when](type=snips/datetime)
  demain à 8h
  à 7h30
  demain matin
"""

NOW = datetime(2026, 11, 22, 10, 0)


@pytest.fixture(scope="session")
def en_dataset():  # type: ignore[no-untyped-def]
    return merge([
        load_chatl(EN_LIGHTS, source="lights", lang="en"),
        load_chatl(EN_TIMER, source="timer", lang="en"),
    ])


@pytest.fixture(scope="session")
def fr_dataset():  # type: ignore[no-untyped-def]
    return merge([
        load_chatl(FR_LIGHTS, source="lights", lang="fr"),
        load_chatl(FR_TIMER, source="timer", lang="fr"),
    ])


@pytest.fixture(scope="session")
def en_engine(en_dataset) -> SnipsLikeInterpreter:  # type: ignore[no-untyped-def]
    engine = SnipsLikeInterpreter("en")
    engine.fit(en_dataset)
    return engine


@pytest.fixture(scope="session")
def fr_engine(fr_dataset) -> SnipsLikeInterpreter:  # type: ignore[no-untyped-def]
    engine = SnipsLikeInterpreter("fr")
    engine.fit(fr_dataset)
    return engine
