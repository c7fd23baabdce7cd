"""``python -m atlas``: how ``atlas up`` starts each of its children."""

from atlas.cli import main

main(prog_name="atlas")
