"""Assignment-owned benchmarks, one module per assignment that has one.

``python benchmarks/assignment.py ASSIGNMENT [ARGS ...]`` runs the benchmark of
one assignment: the module here whose ``ASSIGNMENT`` names it. Such a module
defines, like every other:

``ASSIGNMENT``
    the assignment id, e.g. ``"03_car_detection"``;
``main(argv: list[str]) -> int``
    parse ``argv``, print its tables, return 0 when every bar is met, else 1.
    Its module docstring's first line is what ``benchmarks/assignment.py``
    lists.

The benchmarks every assignment shares (grading time, tolerances, hints,
quality) stay in ``benchmarks/`` and read the specs.
"""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def benchmarks() -> list[ModuleType]:
    """The benchmark modules of this package (every module that defines ``main`` and ``ASSIGNMENT``)."""
    modules = [importlib.import_module(f"{__name__}.{info.name}") for info in pkgutil.iter_modules(__path__)]
    return sorted((m for m in modules if hasattr(m, "main") and hasattr(m, "ASSIGNMENT")),
                  key=lambda m: m.ASSIGNMENT)


def benchmark_for(assignment: str) -> ModuleType:
    """The benchmark of ``assignment`` (an id, number or short name); ``KeyError`` when it has none."""
    from course import spec

    wanted = spec.resolve(assignment)
    for module in benchmarks():
        if module.ASSIGNMENT == wanted:
            return module
    raise KeyError(f"{wanted} has no benchmark of its own (course/bench/<name>.py); "
                   f"these do: {', '.join(m.ASSIGNMENT for m in benchmarks()) or 'none'}")
