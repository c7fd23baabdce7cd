"""``python -m atlas``: how ``atlas up`` starts each of its children."""

from atlas.cli import main

# The guard matters: process pools (parallel CRF training) re-import __main__.
if __name__ == "__main__":
    main(prog_name="atlas")
