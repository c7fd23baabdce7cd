"""A skill written with the original atlas SDK (atlas-sdk 1.1.8), for atlas's tests.

Run by the atlas-sdk environment's Python: ``python garden_skill.py -H host -p port``.
It brings no training data: the daemon's training_dir gives it some.
"""

import logging

from atlas_sdk import Env, Intent, SkillClient, Slot


def plant(request):
    name = request.slot('plant').first().value
    if not name:
        return request.ask('plant', _('Which plant?'))  # noqa: F821 - gettext installs _
    choice = request.data.get('__choice')
    if not choice:
        return request.ask(None, f'Water the {name} now?', choices=['yes', 'no'])
    watered = 'watered' if choice == 'yes' else 'dry'
    request.show(f'Planted {name} ({watered})',
                 cards={'header': name.title(), 'text': f'In the {watered} bed'},
                 terminate=True)


def hello(request):
    owner = request.env('GARDEN_OWNER') or 'nobody'
    request.show(f'This garden belongs to {owner}')
    request.terminate()


if __name__ == '__main__':
    logging.basicConfig(level=logging.WARNING)
    SkillClient(
        name='garden',
        version='1.0.0',
        author='atlas tests',
        description='An original-atlas skill',
        intents=[
            Intent('plant', plant, slots=[Slot('plant')]),
            Intent('hello_garden', hello),
        ],
        env=[Env('GARDEN_OWNER', 'Who owns the garden')],
    ).run()
