"""A pytlas skill written for atlas's tests: every pytlas feature atlas maps.

Plain pytlas 5.1.3 code, run by the pytlas host as any public pytlas skill is.
"""

import threading

from pytlas import Card, intent, meta, training, translations
from pytlas.handling.hooks import on_agent_created, on_agent_destroyed

#: Agents the hooks saw, by id: the "cooks" intent reports them.
AGENTS = {"created": 0, "destroyed": 0}
#: The stock simmers (one channel) until someone stirs the pot (another channel).
STIRRED = threading.Event()


@training('en')
def en_data():
    return """
%[greet]
  hello kitchen
  hi kitchen
  good morning kitchen
  hey kitchen

%[order_soup]
  i want @[bowls] bowls of @[soup] soup
  i want a @[soup] soup
  order a @[soup] soup
  i would like some soup
  order some soup
  @[bowls] bowls of soup please

%[open_pantry]
  open the pantry
  let me in the pantry
  go into the pantry

%[pantry/take]
  take the @[item]
  grab the @[item]
  pick up the @[item]

%[pantry/leave]
  leave the pantry
  close the pantry door
  get out of here

%[burn]
  burn the toast
  set the kitchen on fire

%[cooks]
  how many cooks are there
  count the cooks

%[simmer]
  simmer the stock
  let the stock simmer

%[stir]
  stir the pot
  give the pot a stir

@[soup]
  tomato
  onion
  pumpkin

@[item]
  flour
  sugar
  salt

@[bowls](type=snips/number)
  two
  three
"""


@training('fr')
def fr_data():
    return """
%[greet]
  bonjour la cuisine
  salut la cuisine
  coucou la cuisine

%[order_soup]
  je veux @[bowls] bols de soupe à la @[soup]
  je veux une soupe à la @[soup]
  commande une soupe à la @[soup]
  je voudrais de la soupe
  commande de la soupe

%[open_pantry]
  ouvre le garde-manger
  entre dans le garde-manger
  va dans le garde-manger

%[pantry/take]
  prends la @[item]
  prends le @[item]
  attrape la @[item]

%[pantry/leave]
  sors du garde-manger
  ferme le garde-manger
  quitte le garde-manger

%[burn]
  brûle le pain
  mets le feu à la cuisine

%[cooks]
  combien de cuisiniers
  compte les cuisiniers

@[soup]
  tomate
  citrouille
  oignon

@[item]
  farine
  sucre
  sel

@[bowls](type=snips/number)
  deux
  trois
"""


@translations('fr')
def fr_translations():
    return {
        'Hello {}!': 'Bonjour {} !',
        'Menu': 'Carte',
        'Today': "Aujourd'hui",
        'Which soup?': 'Quelle soupe ?',
        'How many bowls?': 'Combien de bols ?',
        'Any topping?': 'Une garniture ?',
        '{} bowls of {} soup with {}, coming.': '{} bols de soupe ({}) avec {}, ça arrive.',
        'You are in the pantry.': 'Vous êtes dans le garde-manger.',
        'You take the {}.': 'Vous prenez : {}.',
        'Back in the kitchen.': 'Retour en cuisine.',
        'Nothing happens when you say "{}".': 'Il ne se passe rien quand vous dites « {} ».',
        'The kitchen does not understand "{}".': 'La cuisine ne comprend pas « {} ».',
        'Soups and a pantry': 'Des soupes et un garde-manger',
    }


@meta()
def kitchen_meta(_):
    return {
        'name': 'kitchen',
        'description': _('Soups and a pantry'),
        'version': '2.1.0',
        'author': 'atlas tests',
        'settings': ['kitchen.chef', 'kitchen.oven'],
    }


@on_agent_created()
def agent_created(agent):
    AGENTS['created'] += 1


@on_agent_destroyed()
def agent_destroyed(agent):
    AGENTS['destroyed'] += 1


@intent('greet')
def on_greet(req):
    chef = req.agent.settings.get('chef', section='kitchen', default='stranger')
    oven = req.agent.settings.get('oven', section='kitchen', default='cold')
    req.agent.answer(req._('Hello {}!').format(chef),
                     cards=[Card(req._('Menu'), 'tomato, onion, pumpkin', subhead=req._('Today'),
                                 header_link='https://example.org/menu')],
                     mood='cheerful', oven=oven)
    return req.agent.done()


@intent('order_soup')
def on_order_soup(req):
    soup = req.intent.slot('soup').first().value
    if not soup:
        return req.agent.ask('soup', req._('Which soup?'), ['tomato', 'onion', 'pumpkin'])
    bowls = req.intent.slot('bowls').first().value
    if not bowls:
        return req.agent.ask('bowls', req._('How many bowls?'))
    # A slot no training data describes: the answer comes back as typed.
    topping = req.intent.slot('topping').first().value
    if not topping:
        return req.agent.ask('topping', req._('Any topping?'))
    req.agent.answer(req._('{} bowls of {} soup with {}, coming.').format(int(bowls), soup,
                                                                          topping))
    return req.agent.done()


@intent('open_pantry')
def on_open_pantry(req):
    req.agent.context('pantry')
    req.agent.answer(req._('You are in the pantry.'))
    return req.agent.done()


@intent('pantry/take')
def on_take(req):
    items = [str(v) for v in req.intent.slot('item')]
    req.agent.answer(req._('You take the {}.').format(' & '.join(items)))
    return req.agent.done()


@intent('pantry/leave')
def on_leave(req):
    req.agent.context(None)
    req.agent.answer(req._('Back in the kitchen.'))
    return req.agent.done()


@intent('pantry/__fallback__')
def on_pantry_fallback(req):
    text = req.intent.slot('text').first().value
    req.agent.answer(req._('Nothing happens when you say "{}".').format(text))
    return req.agent.done()


@intent('__fallback__')
def on_fallback(req):
    text = req.intent.slot('text').first().value
    req.agent.answer(req._('The kitchen does not understand "{}".').format(text))
    return req.agent.done()


@intent('burn')
def on_burn(req):
    raise RuntimeError('the toast is on fire')


@intent('simmer')
def on_simmer(req):
    stirred = STIRRED.wait(20)
    STIRRED.clear()
    req.agent.answer('The stock is ready.' if stirred else 'The stock burnt.')
    return req.agent.done()


@intent('stir')
def on_stir(req):
    STIRRED.set()
    req.agent.answer('Stirred.')
    return req.agent.done()


@intent('cooks')
def on_cooks(req):
    req.agent.answer('created={created} destroyed={destroyed}'.format(**AGENTS))
    return req.agent.done()
