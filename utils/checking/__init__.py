"""The checking API of the notebooks: ``grade(cell, fn)`` and the comparison kinds.

Layers, top-down (no module imports one above it): :mod:`~utils.checking.grader`
(runs a test cell's probes) -> :mod:`~utils.checking.store` (the compiled
references) -> :mod:`~utils.checking.models` and each assignment's helper
module (probe runners) -> :mod:`~utils.checking.compare` (comparison kinds)
-> :mod:`~utils.checking.messages` (the message a student reads).
"""

from utils.checking.messages import CheckError  # noqa: F401
