# A skill's own tests sit beside it; atlas must not import them.
import pytlas.testing  # noqa: F401

raise RuntimeError("a skill's tests were imported")
