"""A pytlas skill laid out as many public ones are: a folder of modules, no __init__.py."""

from pytlas import intent, meta, training

from .rooms import ROOMS


@training('en')
def en_data():
    return """
%[start_story]
  tell me a story
  start the story

%[story/quit]
  quit the story
"""


@meta()
def story_meta(_):
    return {'name': 'fiction', 'version': '0.1.0', 'settings': ['fiction.story_dir']}


@intent('start_story')
def on_start(req):
    req.agent.context('story')
    req.agent.answer(ROOMS[0])
    return req.agent.done()


@intent('story/__fallback__')
def on_line(req):
    req.agent.answer('> ' + req.intent.slot('text').first().value)
    return req.agent.done()


@intent('story/quit')
def on_quit(req):
    req.agent.context(None)
    req.agent.answer('The end.')
    return req.agent.done()
