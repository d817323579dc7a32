"""Shared helpers for the CNN course notebooks.

Importing :mod:`utils` is cheap and has no side effects: it does not import
TensorFlow, touch the network or write files. Modules that need TensorFlow
(``utils.notebook``, ``utils.checks``' model helpers, the per-assignment helper
modules) import it themselves, when they are used.
"""

__version__ = "0.1.0"

from utils.data import convert_to_one_hot  # noqa: F401  (numpy only)
